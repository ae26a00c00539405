"""Transactional outbox: the event row is written in the same transaction as the state change;
a relay publishes it with `Nats-Msg-Id = event_id` and the stored `traceparent`, then marks it sent.

If the relay dies between publish and mark, the row is published again after restart with the same
`Nats-Msg-Id`: JetStream drops it inside the stream's duplicate window, and consumers' inboxes drop
it after that. Either way there is one effect downstream.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from faststream.nats import NatsBroker
from opentelemetry import trace
from opentelemetry.trace import SpanKind
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jembatan_contracts import Event

from .messaging_tables import outbox_table
from .telemetry import context_from_traceparent, current_traceparent, in_journey, tracer

log = logging.getLogger(__name__)


def stream_of(event: Event) -> str:
    """The stream an event lands in: named after the owning service (second subject token)."""
    return event.subject_suffix.split(".")[0].upper()


async def add_to_outbox(session: AsyncSession, *events: Event) -> None:
    """Stage events in the caller's transaction. Nothing is published until it commits.

    Each row keeps the traceparent of its journey's trace (see `telemetry.in_journey`), so the
    relay and every consumer downstream continue that one trace.
    """
    if not events:
        return
    now = datetime.now(UTC)
    rows = []
    for event in events:
        with in_journey(event.journey_id, f"stage {event.event_type}"):
            trace.get_current_span().add_event("outbox.staged", {"event": event.event_type})
            rows.append(
                {
                    "event_id": event.event_id,
                    "event_type": event.event_type,
                    "subject": event.subject,
                    "stream": stream_of(event),
                    "journey_id": event.journey_id,
                    "payload": event.model_dump_json(),
                    "traceparent": current_traceparent(),
                    "created_at": now,
                }
            )
    await session.execute(insert(outbox_table), rows)


class OutboxRelay:
    """Publishes unsent outbox rows in order. Several relays may run: duplicates are harmless."""

    def __init__(
        self,
        broker: NatsBroker,
        session_factory: async_sessionmaker[AsyncSession],
        *,
        poll_interval_s: float = 0.5,
        batch_size: int = 500,
    ) -> None:
        self._broker = broker
        self._sessions = session_factory
        self._poll_interval_s = poll_interval_s
        self._batch_size = batch_size
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.published = 0

    def wake(self) -> None:
        """Call after a commit that staged events, so they go out without waiting for the poll."""
        self._wake.set()

    async def start(self) -> None:
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self) -> None:
        if self._task is None:
            return
        # The flag ends the loop even if a cancellation is swallowed by a library below.
        self._stopping = True
        self._wake.set()
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def _run(self) -> None:
        while not self._stopping:
            try:
                while await self.relay_once() and not self._stopping:
                    pass
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox relay failed; retrying after the poll interval")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._poll_interval_s):
                    await self._wake.wait()
            self._wake.clear()

    async def relay_once(self) -> int:
        """Publish one batch of unsent rows and mark them sent. Returns how many were sent."""
        async with self._sessions() as session:
            rows = (
                await session.execute(
                    select(outbox_table)
                    .where(outbox_table.c.sent_at.is_(None))
                    .order_by(outbox_table.c.id)
                    .limit(self._batch_size)
                )
            ).all()
        if not rows:
            return 0
        # One after another: consumers see a transaction's events in the order they were staged.
        for row in rows:
            await self._publish(row)
        await self._mark_sent([row.id for row in rows])
        self.published += len(rows)
        return len(rows)

    async def _publish(self, row: Any) -> None:
        parent = context_from_traceparent(row.traceparent)
        with tracer().start_as_current_span(
            f"outbox relay {row.event_type}",
            context=parent,
            kind=SpanKind.INTERNAL,
            attributes={
                "jembatan.event_type": row.event_type,
                "jembatan.journey_id": str(row.journey_id),
                "messaging.message.id": str(row.event_id),
            },
        ):
            await self._broker.publish(
                row.payload.encode(),
                subject=row.subject,
                headers={"Nats-Msg-Id": str(row.event_id), "content-type": "application/json"},
                correlation_id=str(row.journey_id),
                stream=row.stream,
                timeout=10,
            )

    async def _mark_sent(self, ids: Sequence[int]) -> None:
        async with self._sessions() as session, session.begin():
            await session.execute(
                update(outbox_table)
                .where(outbox_table.c.id.in_(ids))
                .values(sent_at=datetime.now(UTC))
            )
