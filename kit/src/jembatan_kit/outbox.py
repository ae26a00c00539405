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
import uuid
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from faststream.nats import NatsBroker
from nats.js import JetStreamContext
from opentelemetry import trace
from opentelemetry.trace import Link, SpanKind
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jembatan_contracts import Event, serialise_within_limit

from .messaging_tables import outbox_table
from .telemetry import (
    context_from_traceparent,
    creation_attributes,
    staging_traceparent,
    tracer,
    tracing_enabled,
)

log = logging.getLogger(__name__)


LINKS_PER_SPAN = 100
"""Messages published under one relay span: below OpenTelemetry's default limit of 128 links a
span, so every message's link is kept."""


def stream_of(event: Event) -> str:
    """The stream an event lands in: named after the owning service (second subject token)."""
    return event.subject_suffix.split(".")[0].upper()


async def add_to_outbox(session: AsyncSession, *events: Event) -> None:
    """Stage events in the caller's transaction. Nothing is published until it commits.

    Each row keeps the traceparent of its journey's trace (`telemetry.staging_traceparent`), so
    the relay and every consumer downstream continue that one trace.
    """
    await insert_outbox_rows(session, outbox_rows(*events))


_batch_messages: ContextVar[dict[uuid.UUID, trace.Span] | None] = ContextVar(
    "jembatan_batch_messages", default=None
)


@contextlib.contextmanager
def staging_for_messages(spans: dict[uuid.UUID, trace.Span]) -> Iterator[None]:
    """While a consumer hands a whole batch to one call, events staged for a journey continue
    the trace of that journey's message in the batch (its process span), as they would if each
    message were handled alone. `spans` maps journey id to the message's span."""
    token = _batch_messages.set(spans)
    try:
        yield
    finally:
        _batch_messages.reset(token)


def outbox_rows(*events: Event) -> list[dict[str, Any]]:
    """The outbox rows of `events`, each with its journey's traceparent as of now. For a caller
    that stages events from several spans and inserts them together (`insert_outbox_rows`).

    The events of one journey are staged together, in the order given, under one context: the
    journey's message in a batch (`staging_for_messages`), the current span if it is in the
    journey's trace already, else one "stage" span in the journey's trace linked to where we are
    (`telemetry.staging_traceparent`), however many of the journey's events this call stages."""
    now = datetime.now(UTC)
    rows = []
    messages = _batch_messages.get() or {}
    for journey_id, journeys_events in _by_journey(events).items():
        types = ", ".join(dict.fromkeys(event.event_type for event in journeys_events))
        traceparent = staging_traceparent(
            journey_id, f"stage {types}", creation_attributes(types), messages.get(journey_id)
        )
        for event in journeys_events:
            rows.append(
                {
                    "event_id": event.event_id,
                    "event_type": event.event_type,
                    "subject": event.subject,
                    "stream": stream_of(event),
                    "journey_id": event.journey_id,
                    "payload": serialise_within_limit(event),
                    "traceparent": traceparent,
                    "created_at": now,
                }
            )
    return rows


def _by_journey(events: Sequence[Event]) -> dict[uuid.UUID, list[Event]]:
    grouped: dict[uuid.UUID, list[Event]] = {}
    for event in events:
        grouped.setdefault(event.journey_id, []).append(event)
    return grouped


async def insert_outbox_rows(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows made by `outbox_rows` in the caller's transaction, in one statement."""
    if rows:
        await session.execute(insert(outbox_table), list(rows))


_RELAYED = (
    outbox_table.c.id,
    outbox_table.c.event_id,
    outbox_table.c.event_type,
    outbox_table.c.subject,
    outbox_table.c.stream,
    outbox_table.c.journey_id,
    outbox_table.c.payload,
    outbox_table.c.traceparent,
)
"""What the relay reads of an unsent row: what it publishes, not when it was staged."""


class OutboxRelay:
    """Publishes unsent outbox rows in order. Several relays may run: duplicates are harmless."""

    def __init__(
        self,
        broker: NatsBroker,
        session_factory: async_sessionmaker[AsyncSession],
        *,
        poll_interval_s: float = 0.5,
        batch_size: int = 500,
        publish_timeout_s: float = 10.0,
    ) -> None:
        self._broker = broker
        self._sessions = session_factory
        self._poll_interval_s = poll_interval_s
        self._batch_size = batch_size
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._publish_timeout_s = publish_timeout_s
        self._js: JetStreamContext | None = None
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
        """Publish one batch of unsent rows and mark them sent. Returns how many were sent.

        The batch goes out in waves: wave k holds each journey's k-th row, so the rows of one
        wave belong to different journeys and are published together (acks awaited at the end of
        the wave), while a journey's next event is published only after its previous one was
        acknowledged. Consumers so see each journey's events in the order they were staged, and
        a failed publish leaves that journey's later rows unsent.
        """
        async with self._sessions() as session:
            rows = (
                await session.execute(
                    select(*_RELAYED)
                    .where(outbox_table.c.sent_at.is_(None))
                    .order_by(outbox_table.c.id)
                    .limit(self._batch_size)
                )
            ).all()
        if not rows:
            return 0
        sent: list[int] = []
        try:
            for wave in _waves(rows):
                await self._publish_wave(wave, sent)
        finally:
            if sent:
                await self._mark_sent(sent)
                self.published += len(sent)
        return len(sent)

    async def _publish_wave(self, rows: Sequence[Any], sent: list[int]) -> None:
        """Publish one wave in one producer span. Each message carries the traceparent stored
        with its row (the context it was staged in, inside its journey's trace), so whoever
        consumes it continues the journey; the wave's span links to each of those contexts, as
        the OpenTelemetry messaging conventions do for a batch publish."""
        js = self._jetstream()
        pending: list[tuple[int, asyncio.Future[Any]]] = []
        for start in range(0, len(rows), LINKS_PER_SPAN):
            part = rows[start : start + LINKS_PER_SPAN]
            with tracer().start_as_current_span(
                "outbox relay",
                kind=SpanKind.PRODUCER,
                links=[_link_to_staging(row) for row in part if row.traceparent]
                if tracing_enabled()
                else (),
                attributes={
                    "messaging.system": "nats",
                    "messaging.operation.type": "publish",
                    "messaging.batch.message_count": len(part),
                },
            ):
                for row in part:
                    headers = {"Nats-Msg-Id": str(row.event_id), "content-type": "application/json"}
                    if row.traceparent:
                        headers["traceparent"] = row.traceparent
                    future = await js.publish_async(
                        row.subject, row.payload.encode(), stream=row.stream, headers=headers
                    )
                    pending.append((row.id, future))
        # Rows acknowledged in time count as sent even if others of the wave are not, so a slow
        # wave is not published again whole.
        _done, late = await asyncio.wait(
            [future for _id, future in pending], timeout=self._publish_timeout_s
        )
        failures: list[BaseException] = []
        for row_id, future in pending:
            if future in late:
                future.cancel()
                failures.append(TimeoutError(f"no publish ack in {self._publish_timeout_s} s"))
            elif (error := future.exception()) is not None:
                failures.append(error)
            else:
                sent.append(row_id)
        if failures:
            raise failures[0]

    def _jetstream(self) -> JetStreamContext:
        if self._js is None:
            self._js = self._broker.connection.jetstream(publish_async_max_pending=4000)
        return self._js

    async def _mark_sent(self, ids: Sequence[int]) -> None:
        async with self._sessions() as session, session.begin():
            await session.execute(
                update(outbox_table)
                .where(outbox_table.c.id.in_(ids))
                .values(sent_at=datetime.now(UTC))
            )


def _link_to_staging(row: Any) -> Link:
    staged = trace.get_current_span(context_from_traceparent(row.traceparent))
    return Link(
        staged.get_span_context(),
        {
            "messaging.message.id": str(row.event_id),
            "jembatan.event_type": row.event_type,
            # Subjects are jembatan.<agency>.<service>...: the agency the event is for.
            "jembatan.agency": row.subject.split(".")[1],
        },
    )


def _waves(rows: Sequence[Any]) -> list[list[Any]]:
    """Split rows (in staging order) so that wave k holds each journey's k-th row."""
    waves: list[list[Any]] = []
    position: dict[Any, int] = {}
    for row in rows:
        k = position.get(row.journey_id, 0)
        position[row.journey_id] = k + 1
        if k == len(waves):
            waves.append([])
        waves[k].append(row)
    return waves
