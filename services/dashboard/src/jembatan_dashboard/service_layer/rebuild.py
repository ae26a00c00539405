"""Rebuild: empty the read model and replay every stored event from the streams.

The replay reads each stream from its first message with a short-lived consumer of its own, so
the durable consumers keep their place and the live read model stays in use until the rebuilt
one commits (one transaction). It projects the events as the consumers do (`project`), up to
`FETCH` stored events at a time. Projections are idempotent and order-free, so events the durable
consumers apply during or after the rebuild change nothing twice. An event the live consumers
dead-letter (invalid, or whose sender does not check out: `consumer.sender_problem`) is skipped.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import nats.errors
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jembatan_contracts import Event
from jembatan_contracts.streams import FINANCING, PLACEMENT, REGISTRATION, TRAINING, StreamSpec
from jembatan_kit.consumer import sender_problem

from ..adapters.orm import READ_MODEL
from .projections import PROJECTIONS, project

log = logging.getLogger(__name__)

STREAMS: tuple[StreamSpec, ...] = (REGISTRATION, TRAINING, PLACEMENT, FINANCING)
FETCH = 500


async def rebuild(
    js: JetStreamContext,
    sessions: async_sessionmaker[AsyncSession],
    known_agencies: frozenset[str],
) -> dict[str, Any]:
    """Drop the read model and replay the streams into it; returns what was replayed. Only
    events of `known_agencies` whose subject is their agency's are replayed, as live."""
    followed = {event_type.subject_suffix: event_type for event_type in PROJECTIONS}
    replayed: Counter[str] = Counter()
    skipped = 0
    async with sessions() as session, session.begin():
        for table in reversed(READ_MODEL):
            await session.execute(delete(table))
        for stream in STREAMS:
            pending: list[Event] = []
            async for subject, data in _stored_messages(js, stream):
                suffix = subject.split(".", 2)[2] if subject.count(".") >= 2 else ""
                if suffix not in followed:
                    continue  # an event the dashboard does not follow
                event_type = followed[suffix]
                try:
                    event = event_type.model_validate_json(data)
                except ValueError:
                    skipped += 1  # the live consumer dead-letters it; the rebuild skips it too
                    continue
                if sender_problem(subject, event, known_agencies):
                    skipped += 1  # likewise
                    continue
                pending.append(event)
                replayed[event_type.name] += 1
                if len(pending) == FETCH:
                    await project(session, pending)
                    pending = []
            await project(session, pending)
    log.info("dashboard rebuilt from %d events (%d skipped)", sum(replayed.values()), skipped)
    return {"replayed": dict(sorted(replayed.items())), "skipped": skipped}


async def _stored_messages(
    js: JetStreamContext, stream: StreamSpec
) -> AsyncIterator[tuple[str, bytes]]:
    """Every message stored in `stream` now, oldest first: (subject, data)."""
    try:
        info = await js.stream_info(stream.name)
    except NotFoundError:
        return
    if info.state.messages == 0:
        return
    last = info.state.last_seq
    subscription = await js.pull_subscribe(
        stream.subjects[0],
        stream=stream.name,
        config=ConsumerConfig(
            deliver_policy=DeliverPolicy.ALL,
            ack_policy=AckPolicy.NONE,
            inactive_threshold=60,
        ),
    )
    try:
        while True:
            try:
                batch = await subscription.fetch(FETCH, timeout=5)
            except (TimeoutError, nats.errors.TimeoutError):
                return  # the last stored message was deleted while we read
            for message in batch:
                yield message.subject, message.data
                if message.metadata.sequence.stream >= last:
                    return
    finally:
        await subscription.unsubscribe()
