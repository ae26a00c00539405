"""Transactional outbox: the event row is written in the same transaction as the state change;
a relay publishes it with `Nats-Msg-Id = event_id` and the stored `traceparent`, then marks it sent.

If the relay dies between publish and mark, the row is published again after restart with the same
`Nats-Msg-Id`: JetStream drops it inside the stream's duplicate window, and consumers' inboxes drop
it after that. Either way there is one effect downstream.

Replicas of a service share one database and so one outbox: one relay at a time publishes it,
the one holding the outbox's lease (`RelayLease`); the others stand by and take over within a few
seconds of the holder's death. `resend_sent` publishes rows already sent again, for events the
bus lost after acknowledging them (`jembatan outbox resend`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from typing import Any

from faststream.nats import NatsBroker
from nats.js import JetStreamContext
from opentelemetry import trace
from opentelemetry.trace import Link, SpanKind
from sqlalchemy import ColumnElement, Select, func, insert, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jembatan_contracts import Event, serialise_within_limit

from .db import dialect_insert
from .faults import RepeatedFailureLog
from .messaging_tables import outbox_relay_lease_table, outbox_table
from .telemetry import (
    context_from_traceparent,
    creation_attributes,
    staging_traceparent,
    tracer,
    tracing_enabled,
)
from .timestamps import UtcDateTime

log = logging.getLogger(__name__)


LINKS_PER_SPAN = 100
"""Messages published under one relay span: below OpenTelemetry's default limit of 128 links a
span, so every message's link is kept."""


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
                    "stream": event.stream_name(),
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


LEASE_NAME = "outbox"
"""The lease row of a database's outbox (each service's database has one outbox)."""
LEASE_TTL_S = 4.0
"""How long a lease lasts unless renewed: a standby relay takes over at most about this long
(plus a fifth of it between its attempts) after the holder died."""


_replica_names: Counter[str] = Counter()


def replica_name(service: str, port: int) -> str:
    """A relay's name for the lease that stays the same when its process restarts (host and HTTP
    port), so a replica restarted after a crash takes its own lease back at once instead of
    waiting for it to expire. No two live processes share one, as they cannot bind the same
    port; several replicas in one process (tests) are told apart by a suffix."""
    name = f"{socket.gethostname()}:{service}:{port}"
    _replica_names[name] += 1
    return name if _replica_names[name] == 1 else f"{name}#{_replica_names[name]}"


class RelayLease:
    """The right to relay one outbox, held by one relay at a time, for `ttl_s` at a time.

    A row of `outbox_relay_lease` names the holder and when its lease expires, in the database's
    own time (so replicas' clocks need not agree). A relay takes it, or renews it, with one
    conditional UPDATE: `holder = me OR expires_at < now`; the database serialises the updates,
    so at most one relay's update matches. The holder renews it every third of its life while it
    relays; the others try every fifth, and the first try after it expired wins. A relay stopped
    cleanly releases it at once.

    Why a lease and not `SELECT ... FOR UPDATE SKIP LOCKED`: skipping locked rows would let a
    second relay publish a journey's next event while the first still holds the journey's earlier
    one, breaking the journey's order, and SQLite has no row locks. One holder reads the outbox
    in order, as a single relay always did; standbys cost one small UPDATE a second.

    Exclusivity saves doubled work, not correctness: a holder that stalls past its lease (a
    long pause) may still finish the wave it was publishing while the next holder starts. Each
    relay publishes a journey's next row only once the previous one is stored, so order holds,
    and the copies carry the same `Nats-Msg-Id`, dropped by the duplicate window or the inboxes.
    The holder checks its lease before each wave, on its own monotonic clock with a margin, so
    such an overlap lasts at most one wave.
    """

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        *,
        holder: str | None = None,
        ttl_s: float = LEASE_TTL_S,
        name: str = LEASE_NAME,
    ) -> None:
        self._sessions = session_factory
        # Without a name (`replica_name`), one no other process has: a restarted relay waits
        # for its predecessor's lease to expire.
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.name = name
        self._ttl_s = ttl_s
        self._valid_until = 0.0  # monotonic: when this process stops counting on the lease
        self._renewed_at = -float("inf")
        self._tried_at = -float("inf")
        self._row_exists = False

    @property
    def held(self) -> bool:
        return time.monotonic() < self._valid_until

    async def ensure(self) -> bool:
        """True while this relay holds the lease: renews it when a third of it has passed, or
        tries to take it (at most every fifth of its life) when it does not hold it."""
        now = time.monotonic()
        if self.held:
            if now - self._renewed_at < self._ttl_s / 3:
                return True
        elif now - self._tried_at < self._ttl_s / 5:
            return False
        return await self.acquire()

    async def acquire(self) -> bool:
        """Take or renew the lease if it is free, expired or ours. True if this relay holds it."""
        started = time.monotonic()
        self._tried_at = started
        was_held = self.held
        async with self._sessions() as session, session.begin():
            if not self._row_exists:
                await session.execute(
                    dialect_insert(session, outbox_relay_lease_table)
                    .values(name=self.name)
                    .on_conflict_do_nothing()
                )
                self._row_exists = True
            lease = outbox_relay_lease_table.c
            taken = await session.execute(
                update(outbox_relay_lease_table)
                .where(
                    lease.name == self.name,
                    or_(
                        lease.holder == self.holder,
                        lease.expires_at.is_(None),
                        lease.expires_at < _database_time(session),
                    ),
                )
                .values(holder=self.holder, expires_at=_database_time(session, self._ttl_s))
            )
        if taken.rowcount == 1:  # type: ignore[attr-defined]
            # Counted from before the UPDATE, less a margin for clocks running at other rates.
            self._valid_until = started + self._ttl_s * 0.9
            self._renewed_at = started
            if not was_held:
                log.info("outbox relay %s holds the lease and publishes", self.holder)
            return True
        if was_held:
            log.warning("outbox relay %s lost the lease; standing by", self.holder)
        self._valid_until = 0.0
        return False

    async def release(self) -> None:
        """Give the lease up, so a standby takes over at its next try instead of after expiry."""
        if not self.held:
            return
        self._valid_until = 0.0
        lease = outbox_relay_lease_table.c
        async with self._sessions() as session, session.begin():
            await session.execute(
                update(outbox_relay_lease_table)
                .where(lease.name == self.name, lease.holder == self.holder)
                .values(holder=None, expires_at=None)
            )


def _database_time(session: AsyncSession, offset_s: float = 0.0) -> ColumnElement[Any]:
    """The database's clock, plus `offset_s`, as the lease's `expires_at` stores it."""
    if session.get_bind().dialect.name == "sqlite":
        # SQLAlchemy keeps a SQLite DateTime as 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC here), which
        # compares as text in time order; SQLite's %f is 'SS.SSS'.
        return func.strftime("%Y-%m-%d %H:%M:%f000", "now", f"{offset_s:+.3f} seconds")
    return func.clock_timestamp(type_=UtcDateTime()) + timedelta(seconds=offset_s)


class OutboxRelay:
    """Publishes unsent outbox rows in order, while it holds the outbox's lease (`RelayLease`):
    any number of replicas may each run one, one publishes."""

    def __init__(
        self,
        broker: NatsBroker,
        session_factory: async_sessionmaker[AsyncSession],
        *,
        poll_interval_s: float = 0.5,
        batch_size: int = 500,
        publish_timeout_s: float = 10.0,
        lease: RelayLease | None = None,
    ) -> None:
        self._broker = broker
        self._sessions = session_factory
        self.lease = lease or RelayLease(session_factory)
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

    def problem(self) -> None:
        """A relay in the service's own process runs as long as the service: it has nothing to
        add to what `/health` says of the database and NATS."""
        return None

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
        try:
            await self.lease.release()
        except Exception:
            log.warning("outbox relay could not release its lease; it expires by itself")

    async def _run(self) -> None:
        failures = RepeatedFailureLog(log, "outbox relay")
        while not self._stopping:
            try:
                while await self.relay_once() and not self._stopping:
                    pass
                failures.succeeded()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures.failed(exc)
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

        Publishes nothing unless this relay holds the outbox's lease, checked before each wave.
        """
        if not await self.lease.ensure():
            return 0
        async with self._sessions() as session:
            await read_along_pending_index(session)
            rows = (await session.execute(unsent_rows(self._batch_size))).all()
        if not rows:
            return 0
        sent: list[int] = []
        try:
            for wave in _waves(rows):
                if not await self.lease.ensure():
                    break
                await publish_wave(self._jetstream(), wave, sent, self._publish_timeout_s)
        finally:
            if sent:
                await self._mark_sent(sent)
                self.published += len(sent)
        return len(sent)

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


def unsent_rows(limit: int) -> Select[Any]:
    """The first `limit` unsent rows, in staging order: what the relay publishes next. Read
    from an index of the unsent rows in order (`ix_outbox_pending` on PostgreSQL, where
    `read_along_pending_index` keeps it so; SQLite takes either that or `ix_outbox_unsent`),
    so it costs the same however many rows were sent before."""
    return (
        select(*_RELAYED)
        .where(outbox_table.c.sent_at.is_(None))
        .order_by(outbox_table.c.id)
        .limit(limit)
    )


async def read_along_pending_index(session: AsyncSession) -> None:
    """Make PostgreSQL read `unsent_rows` in this transaction by walking `ix_outbox_pending` in
    order. A row marked sent leaves its old entry in the index until vacuum; a scan along the
    index marks such entries dead the first time it meets them and passes over them after, but
    a bitmap scan, which the planner prefers while it believes few rows unsent, never does and
    visits each one's row on every poll: thousands of pages a poll, growing with every row sent
    since the last vacuum. SQLite keeps no such entries."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SET LOCAL enable_bitmapscan = off"))


async def publish_wave(
    js: JetStreamContext,
    rows: Sequence[Any],
    sent: list[int],
    timeout_s: float,
    message_id: Callable[[Any], str] = lambda row: str(row.event_id),
    span_name: str = "outbox relay",
) -> None:
    """Publish one wave (at most one row of each journey) and append the ids of the rows the
    stream acknowledged to `sent`; raise the first failure after the wave.

    The wave goes out in producer spans of `LINKS_PER_SPAN` messages. Each message carries the
    traceparent stored with its row (the context it was staged in, inside its journey's trace),
    so whoever consumes it continues the journey; the span links to each of those contexts, as
    the OpenTelemetry messaging conventions do for a batch publish."""
    pending: list[tuple[int, asyncio.Future[Any]]] = []
    for start in range(0, len(rows), LINKS_PER_SPAN):
        part = rows[start : start + LINKS_PER_SPAN]
        with tracer().start_as_current_span(
            span_name,
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
                headers = {"Nats-Msg-Id": message_id(row), "content-type": "application/json"}
                if row.traceparent:
                    headers["traceparent"] = row.traceparent
                future = await js.publish_async(
                    row.subject, row.payload.encode(), stream=row.stream, headers=headers
                )
                pending.append((row.id, future))
    # Rows acknowledged in time count as sent even if others of the wave are not, so a slow
    # wave is not published again whole.
    _done, late = await asyncio.wait([future for _id, future in pending], timeout=timeout_s)
    failures: list[BaseException] = []
    for row_id, future in pending:
        if future in late:
            future.cancel()
            failures.append(TimeoutError(f"no publish ack in {timeout_s} s"))
        elif (error := future.exception()) is not None:
            failures.append(error)
        else:
            sent.append(row_id)
    if failures:
        raise failures[0]


async def resend_sent(
    session_factory: async_sessionmaker[AsyncSession],
    js: JetStreamContext,
    since: datetime,
    until: datetime | None = None,
    *,
    batch_size: int = 1000,
    timeout_s: float = 30.0,
) -> int:
    """Publish again every sent row staged in [since, until), for events the bus lost after
    acknowledging them (a hub node lost its disk). Returns how many were published.

    Rows go in staging order, each journey's in its order (waves, as the relay sends them), with
    their stored traceparent, under a fresh `Nats-Msg-Id` (`<event_id>:resend:<unix ms>`): the
    original id would be dropped by the stream's duplicate window. Consumers' inboxes drop the
    events that were not lost. Unsent rows are left to the relay.
    """
    run = f"resend:{int(time.time() * 1000)}"
    outbox = outbox_table.c
    window = [outbox.sent_at.is_not(None), outbox.created_at >= since]
    if until is not None:
        window.append(outbox.created_at < until)
    resent, after_id = 0, -1
    while True:
        async with session_factory() as session:
            rows = (
                await session.execute(
                    select(*_RELAYED)
                    .where(*window, outbox.id > after_id)
                    .order_by(outbox.id)
                    .limit(batch_size)
                )
            ).all()
        if not rows:
            return resent
        # A batch is acknowledged whole before the next is read, so a journey whose rows span
        # two batches keeps its order.
        for wave in _waves(rows):
            sent: list[int] = []
            await publish_wave(
                js,
                wave,
                sent,
                timeout_s,
                message_id=lambda row: f"{row.event_id}:{run}",
                span_name="outbox resend",
            )
            resent += len(sent)
        after_id = rows[-1].id


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
