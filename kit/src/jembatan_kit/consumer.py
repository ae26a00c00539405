"""Idempotent, batched event consumers on durable JetStream pull subscriptions.

One fetched batch is handled in one database transaction. First all together: one inbox query,
the handlers in order (or the handler's `handle_batch` once, for all of them), one insert of the
inbox rows, one commit. If any message fails, that
transaction is rolled back and the batch is handled again with each message in its own savepoint,
so one bad message never spoils the others. A batch handler that judges each event on its own
says which it refuses (`Refusals`): the batch is then handled together again without them,
and they are settled with their refusals, none handled alone. Acknowledgement is manual and
deliberate:

- processed (or already processed, per the inbox): ack after the commit;
- a replay meant for another durable (`REPLAY_FOR_HEADER`): acked unhandled;
- `RetryLater` or an unexpected error: nak with a growing delay, up to `max_deliver` attempts
  (a `RetryLater`, usually only a moment behind the event it waits for, is offered again sooner
  the first times, `WAIT_FIRST_S`);
- `Unprocessable`, an invalid schema, a body larger than `MAX_EVENT_BYTES` (not even parsed), an
  event whose sender does not check out (`sender_problem`: its subject's agency is not the one
  it claims, or no agency this deployment knows), or attempts exhausted: published to the
  dead-letter stream with the reason, then acked, so it is kept and never blocks the messages
  behind it. A dead letter is small whatever it carries: a body larger than an event is kept in
  the `DEAD_LETTER_BODIES` object store, by reference.

A resource failure (`faults.is_infrastructure_failure`: the database down, full or locked, NATS
not answering a dead letter) is not the messages' fault: the consumer keeps the batch, counts no
attempt, reports itself degraded (`BatchConsumer.degraded_reason`) and handles the same batch again
after a growing pause, until the resource is back. Meanwhile, and whenever a batch takes longer
than a third of the ack wait, the server is told the batch is in progress, so a short ack wait
(a crashed consumer's messages come back within seconds) never redelivers work still under way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any, Generic, TypeVar

import nats.errors
from faststream import AckPolicy, StreamMessage
from faststream.nats import JStream, NatsBroker, PullSub
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, DeliverPolicy, ObjectStoreConfig, StorageType
from nats.js.errors import BadRequestError, BucketNotFoundError, ServerError
from nats.js.object_store import ObjectStore
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jembatan_contracts import (
    DEAD_LETTER,
    DEAD_LETTER_BODIES,
    MAX_EVENT_BYTES,
    REPLAY_FOR_HEADER,
    DeadLetterHeader,
    Event,
    dead_letter_subject,
)
from jembatan_contracts.envelope import SUBJECT_ROOT
from jembatan_contracts.limits import DEAD_LETTER_HEADER_VALUE_MAX_LENGTH

from .faults import describe, is_infrastructure_failure
from .inbox import already_processed, processed_among, record_processed, record_processed_many
from .outbox import staging_for_messages
from .settings import SHIPPED_AGENCIES
from .telemetry import context_from_headers, tracer

log = logging.getLogger(__name__)

E = TypeVar("E", bound=Event)


class RetryLater(Exception):
    """Cannot be processed yet (e.g. an earlier event has not arrived). Redelivered later."""


class Unprocessable(Exception):
    """Can never be processed. Goes to the dead-letter stream with this reason."""


class Refusals(Exception):
    """Raised by a `handle_batch` that judged each event of the batch on its own: the events (by
    event id) it cannot handle now (`RetryLater`) or ever (`Unprocessable`). The consumer rolls
    the transaction back, handles the batch's other events together again, and settles each of
    these with its refusal; none is handled alone. Raised by `handle` (a message alone), its
    refusal is that message's."""

    def __init__(self, refused: dict[uuid.UUID, RetryLater | Unprocessable]) -> None:
        said = "; ".join(map(str, refused.values()))
        super().__init__(f"{len(refused)} event(s) refused: {said}")
        self.refused = refused


@dataclass(frozen=True)
class EventHandler(Generic[E]):
    """What to do, inside the consumer's transaction, when an event of `event_type` arrives.

    `durable` names who consumes what, e.g. `training-candidate-registered`.
    """

    event_type: type[E]
    durable: str
    handle: Callable[[AsyncSession, E], Awaitable[None]]
    handle_batch: Callable[[AsyncSession, list[E]], Awaitable[None]] | None = None
    """Optional: the effect of `handle` on each of the events, in order, done together in fewer
    statements. Used when a fetched batch is handled together; if it fails, the batch is handled
    again message by message with `handle`. Events it stages for a journey continue the trace
    of that journey's message in the batch (`outbox.staging_for_messages`)."""


TOGETHER_ATTEMPTS = 3
"""How often a batch is handled together, each time without the events its handler refused
(`Refusals`), before it is handled message by message."""


class _Isolate(Exception):
    """A batch handled together did not fully succeed; it is handled message by message."""


class _ResourceFailure(Exception):
    """Handling or settling a batch met a resource failure (its `__cause__`): the batch is kept
    and handled again once the resource is back, with no attempt counted."""


class _Outcome(Enum):
    DONE = "done"
    DUPLICATE = "duplicate"
    WAIT = "wait"  # RetryLater: an earlier event has not arrived
    RETRY = "retry"
    DEAD = "dead"


@dataclass
class ConsumerOptions:
    batch_size: int = 250
    batch_timeout_s: float = 0.25
    max_deliver: int = 8
    ack_wait_s: float = 5.0
    """How long the server waits for an ack before redelivering: what a crashed consumer's
    in-flight batch waits. A live consumer's slower batches are kept in progress."""
    known_agencies: frozenset[str] = frozenset(SHIPPED_AGENCIES)
    """The agencies whose events are handled (KNOWN_AGENCIES and the service's own AGENCY, the
    same list tokens are judged by): an event of any other is dead-lettered unhandled."""


PAUSE_FIRST_S = 0.5
PAUSE_MAX_S = 5.0
"""A consumer paused on a resource failure tries again after 0.5 s, doubling to 5 s."""

DEAD_LETTER_INLINE_BYTES = MAX_EVENT_BYTES
"""A dead letter carries the original body up to this size; a larger one (it can be no event)
goes to the `DEAD_LETTER_BODIES` object store and the dead letter names it."""


WAIT_FIRST_S = (0.1, 0.3, 1.0)
"""A message that waits for an earlier event (`RetryLater`) is offered again this soon the first
times: that event is usually a moment behind, on another durable. Then as any retry."""


def retry_delay_s(attempt: int) -> float:
    """Backoff for redelivery: 1, 2, 4, ... seconds, at most 30."""
    return float(min(2 ** max(attempt - 1, 0), 30))


def wait_delay_s(attempt: int) -> float:
    """Backoff for a message waiting for an earlier event: `WAIT_FIRST_S`, then as
    `retry_delay_s` (over eight attempts, 85 s in all against 91)."""
    if 1 <= attempt <= len(WAIT_FIRST_S):
        return WAIT_FIRST_S[attempt - 1]
    return retry_delay_s(attempt)


def next_pause_s(pause_s: float) -> float:
    return min(pause_s * 2, PAUSE_MAX_S)


class BatchConsumer(Generic[E]):
    def __init__(
        self,
        broker: NatsBroker,
        handler: EventHandler[E],
        session_factory: async_sessionmaker[AsyncSession],
        options: ConsumerOptions,
        after_commit: Callable[[], None] = lambda: None,
    ) -> None:
        self.broker = broker
        self.handler = handler
        self.sessions = session_factory
        self.options = options
        self.after_commit = after_commit
        self.processed = 0
        self.degraded_reason: str | None = None
        """Why the consumer is paused, or None when it is not: set when handling or settling a
        batch meets a resource failure (`faults.describe` of it), kept while the consumer
        waits and tries the same batch again, None again once that batch is handled and
        settled. `/health` reports it."""
        self._bodies: ObjectStore | None = None
        self._subscriber: Any = None

    @property
    def stream(self) -> str:
        return self.handler.event_type.stream_name()

    def consumer_config(self) -> ConsumerConfig:
        """The durable's settings on the server."""
        return ConsumerConfig(
            durable_name=self.handler.durable,
            name=self.handler.durable,
            filter_subject=self.handler.event_type.subject_any_agency(),
            ack_wait=self.options.ack_wait_s,
            max_deliver=-1,  # we dead-letter ourselves, so the server never drops silently
            deliver_policy=DeliverPolicy.ALL,
            max_ack_pending=max(1000, self.options.batch_size * 10),
        )

    async def ensure_durable(self, js: JetStreamContext) -> None:
        """Create the durable, or bring an existing one up to date (its ack wait above all).
        Call before the broker starts: FastStream (through nats-py) binds to an existing
        durable as it finds it, so one created with an older ack wait would keep it. A durable
        the server will not update (one defined otherwise by hand) is kept as it is."""
        try:
            await js.add_consumer(self.stream, config=self.consumer_config())
        except (BadRequestError, ServerError) as exc:  # e.g. "deliver policy can not be updated"
            log.warning(
                "%s: durable kept as it is, its settings not updated: %s",
                self.handler.durable,
                exc.description,
            )

    def register(self) -> None:
        event_type = self.handler.event_type
        subscriber = self._subscriber = self.broker.subscriber(
            event_type.subject_any_agency(),
            stream=JStream(name=self.stream, declare=False),
            durable=self.handler.durable,
            pull_sub=PullSub(
                batch_size=self.options.batch_size,
                timeout=self.options.batch_timeout_s,
                batch=True,
            ),
            ack_policy=AckPolicy.MANUAL,
            config=self.consumer_config(),
            decoder=_the_fetched_messages,
            title=self.handler.durable,
            description=f"{self.handler.durable} consumes {event_type.name}",
        )

        async def consume(batch: list[Any]) -> None:
            await self.process(batch)

        consume.__name__ = f"on_{self.handler.durable.replace('-', '_')}"
        subscriber(consume)

    def started(self) -> None:
        """Call once the broker has started: from then on a batch is handled as soon as it has
        what the server holds (`hand_over_what_arrived`), not when its timeout has passed, and
        the messages of a fetch that have arrived are taken at once (`take_what_is_queued`)."""
        subscription = getattr(self._subscriber, "subscription", None)
        if subscription is not None:
            hand_over_what_arrived(subscription)
            take_what_is_queued(subscription)

    async def process(self, raws: list[Msg]) -> None:
        with self._kept_in_progress(raws):
            pause_s = PAUSE_FIRST_S
            while True:
                try:
                    outcomes = await self._outcomes(raws)
                    break
                except _ResourceFailure as failure:
                    pause_s = await self._pause(failure, len(raws), pause_s)
            if any(outcome is _Outcome.DONE for outcome, _ in outcomes.values()):
                self.after_commit()
            for index, raw in enumerate(raws):
                pause_s = PAUSE_FIRST_S
                while True:
                    try:
                        await self._settle(raw, *outcomes[index])
                        break
                    except _ResourceFailure as failure:
                        pause_s = await self._pause(failure, len(raws), pause_s)
        self.degraded_reason = None

    async def _outcomes(self, raws: list[Msg]) -> dict[int, tuple[_Outcome, str]]:
        outcomes: dict[int, tuple[_Outcome, str]] = {}
        decoded: list[tuple[int, Msg, E]] = []
        for index, raw in enumerate(raws):
            replay_for = raw.headers.get(REPLAY_FOR_HEADER) if raw.headers else None
            if replay_for is not None and replay_for != self.handler.durable:
                outcomes[index] = (_Outcome.DUPLICATE, f"a replay for {replay_for}")
                continue
            if len(raw.data) > MAX_EVENT_BYTES:
                reason = f"oversized: {len(raw.data)} bytes, limit {MAX_EVENT_BYTES}"
                outcomes[index] = (_Outcome.DEAD, reason)  # never parsed
                continue
            try:
                event = self.handler.event_type.model_validate_json(raw.data)
            except ValidationError as exc:
                outcomes[index] = (_Outcome.DEAD, f"schema invalid: {_short(exc)}")
                continue
            if problem := sender_problem(raw.subject, event, self.options.known_agencies):
                outcomes[index] = (_Outcome.DEAD, problem)  # never handled, never retried
                continue
            decoded.append((index, raw, event))
        for _ in range(TOGETHER_ATTEMPTS):
            if not decoded:
                return outcomes
            try:
                outcomes |= await self._apply_together(decoded)
                return outcomes
            except _Isolate as isolate:
                cause = isolate.__cause__
                refused = cause.refused if isinstance(cause, Refusals) else {}
                rest = [item for item in decoded if item[2].event_id not in refused]
                if len(rest) == len(decoded):
                    break  # no refusal named: message by message
                outcomes |= self._settled_refused(decoded, refused)
                decoded = rest
        if decoded:
            outcomes |= await self._apply_isolated(decoded, len(raws))
        return outcomes

    def _settled_refused(
        self, decoded: list[tuple[int, Msg, E]], refused: Mapping[uuid.UUID, Exception]
    ) -> dict[int, tuple[_Outcome, str]]:
        """The outcome of each message a batch handler refused, each in a span of its own."""
        outcomes: dict[int, tuple[_Outcome, str]] = {}
        for index, raw, event in decoded:
            refusal = refused.get(event.event_id)
            if refusal is None:
                continue
            with self._span(raw, event) as span:
                outcomes[index] = _refusal_outcome(refusal, span)
        return outcomes

    async def _pause(self, failure: _ResourceFailure, size: int, pause_s: float) -> float:
        """Wait for a missing resource, the batch kept (in progress, not nak'd: no attempt is
        counted). Returns the next pause."""
        cause = failure.__cause__ or failure
        self.degraded_reason = describe(cause)
        log.warning(
            "%s: paused %.1f s, batch of %d kept: %s",
            self.handler.durable,
            pause_s,
            size,
            self.degraded_reason,
        )
        await asyncio.sleep(pause_s)
        return next_pause_s(pause_s)

    @contextlib.contextmanager
    def _kept_in_progress(self, raws: list[Msg]) -> Iterator[None]:
        """While the batch is being handled longer than a third of the ack wait (or paused),
        tell the server every third of the ack wait that its messages are in progress, so it
        does not redeliver them meanwhile. A fast batch costs one timer."""
        interval_s = self.options.ack_wait_s / 3
        loop = asyncio.get_running_loop()
        task: asyncio.Task[None] | None = None

        async def keep_alive() -> None:
            while True:
                for raw in raws:
                    with contextlib.suppress(Exception):  # disconnected: nothing to keep
                        await raw.in_progress()
                await asyncio.sleep(interval_s)

        def start() -> None:
            nonlocal task
            task = loop.create_task(keep_alive(), name=f"{self.handler.durable}-in-progress")

        timer = loop.call_later(interval_s, start)
        try:
            yield
        finally:
            timer.cancel()
            if task is not None:
                task.cancel()

    async def _apply_together(
        self, decoded: list[tuple[int, Msg, E]]
    ) -> dict[int, tuple[_Outcome, str]]:
        """The common case: every message succeeds. One transaction, one inbox query, one inbox
        insert, no savepoints. The first message that does not succeed rolls it all back and
        the batch is done again message by message (`_apply_isolated`)."""
        durable = self.handler.durable
        outcomes: dict[int, tuple[_Outcome, str]] = {}
        # Each message's span lasts until the batch is committed (its effect is then durable).
        # A failure inside the batch is not the message's outcome (it is handled again alone),
        # so the spans record none.
        started: list[Span] = []
        try:
            async with self.sessions() as session, session.begin():
                seen = await processed_among(session, durable, {e.event_id for _, _, e in decoded})
                handled: list[tuple[uuid.UUID, str]] = []
                fresh: list[E] = []
                spans: dict[uuid.UUID, Span] = {}
                for index, raw, event in decoded:
                    span = self._start_span(raw, event)
                    started.append(span)
                    if event.event_id in seen:
                        span.set_attribute("jembatan.duplicate", True)
                        outcomes[index] = (_Outcome.DUPLICATE, "already processed")
                        continue
                    if self.handler.handle_batch is None:
                        with trace.use_span(
                            span, record_exception=False, set_status_on_exception=False
                        ):
                            await self.handler.handle(session, event)
                    else:
                        spans[event.journey_id] = span
                        fresh.append(event)
                    seen.add(event.event_id)
                    handled.append((event.event_id, event.event_type))
                    outcomes[index] = (_Outcome.DONE, "")
                if fresh and self.handler.handle_batch is not None:
                    with staging_for_messages(spans):
                        await self.handler.handle_batch(session, fresh)
                await record_processed_many(session, durable, handled)
        except Exception as exc:
            if is_infrastructure_failure(exc):
                raise _ResourceFailure from exc
            raise _Isolate from exc
        finally:
            for span in started:
                span.end()
        self.processed += len(handled)
        return outcomes

    async def _apply_isolated(
        self, decoded: list[tuple[int, Msg, E]], size: int
    ) -> dict[int, tuple[_Outcome, str]]:
        """Each message in its own savepoint, so one bad message never spoils the others."""
        outcomes: dict[int, tuple[_Outcome, str]] = {}
        processed = 0
        try:
            async with self.sessions() as session, session.begin():
                for index, raw, event in decoded:
                    outcomes[index] = await self._apply(session, raw, event)
                    processed += outcomes[index][0] is _Outcome.DONE
        except Exception as exc:
            if is_infrastructure_failure(exc):
                raise _ResourceFailure from exc
            log.warning("%s: batch of %d failed to commit: %s", self.handler.durable, size, exc)
            return {
                index: (_Outcome.RETRY, f"transaction failed: {exc}") for index, _, _ in decoded
            }
        self.processed += processed
        return outcomes

    def _attributes(self, raw: Msg, event: E) -> dict[str, Any]:
        return {
            "messaging.system": "nats",
            "messaging.operation.type": "process",
            "messaging.destination.name": raw.subject,
            "messaging.consumer.group.name": self.handler.durable,
            "messaging.message.id": str(event.event_id),
            "jembatan.event_type": event.event_type,
            "jembatan.agency": event.agency,
            "jembatan.journey_id": str(event.journey_id),
        }

    def _start_span(self, raw: Msg, event: E) -> Span:
        """The message's process span, in the trace its headers carry (its journey's)."""
        return tracer().start_span(
            f"process {event.event_type}",
            context=context_from_headers(raw.headers),
            kind=SpanKind.CONSUMER,
            attributes=self._attributes(raw, event),
        )

    def _span(self, raw: Msg, event: E) -> Any:
        """The message's process span as the current span, for a message handled alone."""
        return trace.use_span(self._start_span(raw, event), end_on_exit=True)

    async def _apply(self, session: AsyncSession, raw: Msg, event: E) -> tuple[_Outcome, str]:
        durable = self.handler.durable
        with self._span(raw, event) as span:
            if await already_processed(session, durable, event.event_id):
                span.set_attribute("jembatan.duplicate", True)
                return _Outcome.DUPLICATE, "already processed"
            try:
                async with session.begin_nested():
                    await self.handler.handle(session, event)
                    await record_processed(session, durable, event.event_id, event.event_type)
            except Refusals as exc:
                refusal = exc.refused.get(event.event_id)
                if refusal is None:
                    log.error("%s: refusals name none of %s: %s", durable, event.event_id, exc)
                    return _Outcome.RETRY, str(exc)
                return _refusal_outcome(refusal, span)
            except (RetryLater, Unprocessable) as exc:
                return _refusal_outcome(exc, span)
            except Exception as exc:
                span.record_exception(exc)
                span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
                if is_infrastructure_failure(exc):
                    raise  # not this message's fault: the whole batch waits for the resource
                log.exception("%s: handler failed on %s", durable, event.event_id)
                return _Outcome.RETRY, f"{type(exc).__name__}: {exc}"
            return _Outcome.DONE, ""

    async def _settle(self, raw: Msg, outcome: _Outcome, reason: str) -> None:
        """Ack, nak or dead-letter one message. Raises `_ResourceFailure` if NATS does not take
        its dead letter, so the caller pauses and settles it again."""
        if outcome in (_Outcome.DONE, _Outcome.DUPLICATE):
            await _ack(raw)
            return
        attempt = raw.metadata.num_delivered or 1
        retried = outcome in (_Outcome.WAIT, _Outcome.RETRY)
        if retried and attempt < self.options.max_deliver:
            delay_s = wait_delay_s(attempt) if outcome is _Outcome.WAIT else retry_delay_s(attempt)
            await _nak(raw, delay_s)
            return
        if retried:
            reason = f"gave up after {attempt} attempts: {reason}"
        try:
            await self._dead_letter(raw, reason)
        except Exception as exc:
            if is_infrastructure_failure(exc):
                raise _ResourceFailure from exc
            log.exception("%s: dead-letter publish failed; will retry", self.handler.durable)
            await _nak(raw, retry_delay_s(attempt))
            return
        await _ack(raw)

    async def _dead_letter(self, raw: Msg, reason: str) -> None:
        """Publish `raw` to the dead-letter stream with every `DeadLetterHeader`. Its size is
        bounded whatever `raw` is: each header value is cut to a bound, and a body larger than
        `DEAD_LETTER_INLINE_BYTES` is kept in the object store, the dead letter naming it."""
        durable = self.handler.durable
        stream = str(raw.metadata.stream)
        seq = raw.metadata.sequence.stream if raw.metadata.sequence else 0
        original = raw.headers or {}
        log.error("%s: dead-lettering %s #%s: %s", durable, raw.subject, seq, reason)
        headers = {
            "Nats-Msg-Id": f"{durable}:{stream}:{seq}",
            DeadLetterHeader.CONSUMER: durable,
            DeadLetterHeader.DEAD_LETTERED_AT: datetime.now(UTC).isoformat(),
            DeadLetterHeader.ORIGINAL_SUBJECT: _header_value(raw.subject),
            DeadLetterHeader.ORIGINAL_STREAM: _header_value(stream),
            DeadLetterHeader.ORIGINAL_SEQUENCE: str(seq),
            DeadLetterHeader.ORIGINAL_MSG_ID: _header_value(original.get("Nats-Msg-Id", "")),
        }
        if traceparent := original.get(DeadLetterHeader.TRACEPARENT):
            headers[DeadLetterHeader.TRACEPARENT] = _header_value(traceparent)
        body = raw.data
        if len(body) > DEAD_LETTER_INLINE_BYTES:
            try:
                headers[DeadLetterHeader.BODY_OBJECT] = await self._keep_body(stream, seq, body)
            except Exception as exc:
                if is_infrastructure_failure(exc):
                    raise
                reason = (
                    f"{reason} (body of {len(body)} bytes not kept: {describe(exc)}; it stays"
                    f" in {stream} at #{seq} as long as the stream keeps it)"
                )
            body = b""
        headers[DeadLetterHeader.REASON] = _header_value(reason)
        js = self.broker.connection.jetstream()
        await js.publish(
            dead_letter_subject(durable),
            body,
            stream=DEAD_LETTER.name,
            headers=headers,
            timeout=10,
        )

    async def _keep_body(self, stream: str, seq: int, body: bytes) -> str:
        """Put `body` into the `DEAD_LETTER_BODIES` object store under a name of its stream and
        sequence, which every durable dead-lettering the same message shares."""
        if self._bodies is None:
            self._bodies = await dead_letter_bodies(self.broker.connection.jetstream())
        name = f"{stream}.{seq}"
        await self._bodies.put(name, body)
        return name


def hand_over_what_arrived(subscription: Any) -> None:
    """Make FastStream's batch pull loop hand over a batch as soon as it holds what the server
    had, on this subscription (a nats-py `PullSubscription`).

    FastStream 0.7 keeps fetching until its batch is full or its timeout (`batch_timeout_s`) has
    passed: at a steady trickle every event waited out the timeout at every hop. nats-py's
    `fetch` already returns every message the server holds at once, or waits for the first; so
    after a fetch that returned fewer than it asked for, the next one of the same batch answers
    "nothing more" at once, and the loop hands the batch over. A fetch that found nothing waits
    as before, so an idle consumer asks the server no more often. A backlog still comes in full
    batches. Idempotent."""
    fetch = subscription.fetch
    if getattr(fetch, "_hands_over", False):
        return
    partial = False

    async def fetch_what_arrived(batch: int = 1, *args: Any, **kwargs: Any) -> list[Msg]:
        nonlocal partial
        if partial:
            partial = False
            raise nats.errors.TimeoutError  # FastStream's loop then handles what it holds
        messages: list[Msg] = await fetch(batch, *args, **kwargs)
        partial = 0 < len(messages) < batch
        return messages

    fetch_what_arrived._hands_over = True  # type: ignore[attr-defined]
    subscription.fetch = fetch_what_arrived


def take_what_is_queued(subscription: Any) -> None:
    """Make a fetch take each message that has already arrived at once, on this subscription
    (a nats-py `PullSubscription`).

    nats-py's `fetch` takes every message of a batch through `Subscription.next_msg`, which
    starts a task with a timeout of its own and draws a uuid4 for each, even when the message
    already waits in the subscription's queue. A message already queued is now taken from the
    queue directly, with the accounting `next_msg` does; an empty queue, or a closed
    connection, goes the library's way (waiting, timing out, raising). Idempotent."""
    sub = subscription._sub
    next_msg = sub.next_msg
    if getattr(next_msg, "_takes_queued", False):
        return

    async def next_msg_taking_queued(timeout: float | None = 1.0) -> Msg:
        queue: asyncio.Queue[Msg] = sub._pending_queue
        if queue.empty() or sub._conn.is_closed:
            return await next_msg(timeout)
        msg = queue.get_nowait()
        sub._pending_size -= len(msg.data)
        queue.task_done()
        return msg

    next_msg_taking_queued._takes_queued = True  # type: ignore[attr-defined]
    sub.next_msg = next_msg_taking_queued


def _refusal_outcome(refusal: Exception, span: Span) -> tuple[_Outcome, str]:
    """A handler's refusal of a message, recorded on its span."""
    if isinstance(refusal, Unprocessable):
        span.set_status(Status(StatusCode.ERROR, f"unprocessable: {refusal}"))
        return _Outcome.DEAD, str(refusal)
    span.set_status(Status(StatusCode.ERROR, f"retry later: {refusal}"))
    return _Outcome.WAIT, str(refusal)


async def dead_letter_bodies(js: JetStreamContext) -> ObjectStore:
    """The object store of dead letters' large bodies, created if missing like the dead-letter
    stream: as many replicas, and each body kept as long as the dead letter naming it."""
    try:
        return await js.object_store(DEAD_LETTER_BODIES)
    except BucketNotFoundError:
        dead_letters = (await js.stream_info(DEAD_LETTER.name)).config
        return await js.create_object_store(
            DEAD_LETTER_BODIES,
            ObjectStoreConfig(
                description="Bodies of dead letters too large to carry inline",
                storage=StorageType.FILE,
                replicas=dead_letters.num_replicas or 1,
                ttl=dead_letters.max_age or None,
            ),
        )


async def ensure_durables(js: JetStreamContext, consumers: Sequence[BatchConsumer[Any]]) -> None:
    """`BatchConsumer.ensure_durable` for each of `consumers`: call before the broker starts."""
    for consumer in consumers:
        await consumer.ensure_durable(js)


async def _ack(raw: Msg) -> None:
    """Acknowledge; if NATS does not take it, the message comes back and the inbox drops it."""
    try:
        await raw.ack()
    except Exception as exc:
        log.warning("ack of %s not sent (%s); it will be redelivered", raw.subject, describe(exc))


async def _nak(raw: Msg, delay_s: float) -> None:
    """Ask for redelivery after `delay_s`; if NATS does not take it, the ack wait brings the
    message back anyway."""
    try:
        await raw.nak(delay=delay_s)
    except Exception as exc:
        log.warning(
            "nak of %s not sent (%s); it comes back after the ack wait", raw.subject, describe(exc)
        )


def _header_value(value: str) -> str:
    """One line, bounded: a header value can never break the message or make it too large."""
    return " ".join(value.split())[:DEAD_LETTER_HEADER_VALUE_MAX_LENGTH]


async def _the_fetched_messages(msg: StreamMessage[Any]) -> Any:
    """The fetched messages themselves, as the handler's one argument: `process` validates each
    body into its event model (FastStream's own JSON decoding of each would be done for
    nothing), and reads its headers, subject and reply. The message is not asked for as a second
    argument: FastStream resolves that from its context in a worker thread, a hop between
    threads for every batch."""
    return msg.raw_message


def subject_agency(subject: str) -> str | None:
    """The agency token of an event subject, `jembatan.<agency>.<service>...`; None when the
    subject is not an event subject at all."""
    root, _, rest = subject.partition(".")
    agency = rest.partition(".")[0]
    return agency if root == SUBJECT_ROOT and agency else None


def sender_problem(subject: str, event: Event, known_agencies: frozenset[str]) -> str | None:
    """Why an event may not be believed to come from the agency it names, or None.

    Two checks, made once for every consumer before any handler runs:

    - the agency in the subject (`jembatan.<agency>.<service>...`) is the event's `agency`. The
      subject is what the bus vouches for: in the federated deployment (deploy/nats/*.conf) each
      agency's NATS account, and each service user in it, may publish only under its own prefix,
      `jembatan.<agency>.<service>.>` (Kemnaker's placement and financing under every agency's,
      as they act for every agency's candidates), and the hub takes a province's events only
      from that province's account. So the third party, the publishing account, is enforced by
      the server's permissions before a message is stored: nothing more is checked here. An
      event whose payload names another agency than its subject is forged or broken;
    - the agency is one this deployment knows (`known_agencies`): an event of any other would
      put an agency on the books (the dashboard's figures) that no configuration created.

    Either problem can never be cured by waiting, so the event is dead-lettered with this reason
    and not retried.
    """
    claimed = subject_agency(subject)
    if claimed != event.agency:
        return (
            f"agency_mismatch: the subject {subject} is agency {claimed!r}'s but the event says"
            f" agency {event.agency!r}; a forged or broken event, not handled"
        )
    if event.agency not in known_agencies:
        return (
            f"unknown_agency: {event.agency!r} is not an agency this deployment knows"
            f" (KNOWN_AGENCIES: {', '.join(sorted(known_agencies))}); not handled"
        )
    return None


def _short(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}" for error in exc.errors()
    )[:500]
