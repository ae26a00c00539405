"""Idempotent, batched event consumers on durable JetStream pull subscriptions.

One fetched batch is handled in one database transaction. First all together: one inbox query,
the handlers in order (or the handler's `handle_batch` once, for all of them), one insert of the
inbox rows, one commit. If any message fails, that
transaction is rolled back and the batch is handled again with each message in its own savepoint,
so one bad message never spoils the others. Acknowledgement is manual and deliberate:

- processed (or already processed, per the inbox): ack after the commit;
- `RetryLater` or an unexpected error: nak with a growing delay, up to `max_deliver` attempts;
- `Unprocessable`, an invalid schema, or attempts exhausted: published to the dead-letter stream
  with the reason, then acked, so it is kept and never blocks the messages behind it.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any, Generic, TypeVar

from faststream import AckPolicy, StreamMessage
from faststream.nats import JStream, NatsBroker, NatsMessage, PullSub
from nats.aio.msg import Msg
from nats.js.api import ConsumerConfig, DeliverPolicy
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jembatan_contracts import DEAD_LETTER, Event, dead_letter_subject

from .inbox import already_processed, processed_among, record_processed, record_processed_many
from .outbox import staging_for_messages
from .telemetry import context_from_headers, tracer

log = logging.getLogger(__name__)

E = TypeVar("E", bound=Event)


class RetryLater(Exception):
    """Cannot be processed yet (e.g. an earlier event has not arrived). Redelivered later."""


class Unprocessable(Exception):
    """Can never be processed. Goes to the dead-letter stream with this reason."""


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


class _Isolate(Exception):
    """A batch handled together did not fully succeed; it is handled message by message."""


class _Outcome(Enum):
    DONE = "done"
    DUPLICATE = "duplicate"
    RETRY = "retry"
    DEAD = "dead"


@dataclass
class ConsumerOptions:
    batch_size: int = 250
    batch_timeout_s: float = 0.25
    max_deliver: int = 8
    ack_wait_s: float = 30.0


def retry_delay_s(attempt: int) -> float:
    """Backoff for redelivery: 1, 2, 4, ... seconds, at most 30."""
    return float(min(2 ** max(attempt - 1, 0), 30))


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

    def register(self) -> None:
        event_type = self.handler.event_type
        subscriber = self.broker.subscriber(
            event_type.subject_any_agency(),
            stream=JStream(name=stream_of_type(event_type), declare=False),
            durable=self.handler.durable,
            pull_sub=PullSub(
                batch_size=self.options.batch_size,
                timeout=self.options.batch_timeout_s,
                batch=True,
            ),
            ack_policy=AckPolicy.MANUAL,
            config=ConsumerConfig(
                durable_name=self.handler.durable,
                ack_wait=self.options.ack_wait_s,
                max_deliver=-1,  # we dead-letter ourselves, so the server never drops silently
                deliver_policy=DeliverPolicy.ALL,
                max_ack_pending=max(1000, self.options.batch_size * 10),
            ),
            decoder=_undecoded_bodies,
            title=self.handler.durable,
            description=f"{self.handler.durable} consumes {event_type.name}",
        )

        async def consume(body: list[Any], msg: NatsMessage) -> None:
            batch: list[Msg] = msg.raw_message  # type: ignore[assignment]  # a batch subscriber
            await self.process(batch)

        consume.__name__ = f"on_{self.handler.durable.replace('-', '_')}"
        subscriber(consume)

    async def process(self, raws: list[Msg]) -> None:
        outcomes: dict[int, tuple[_Outcome, str]] = {}
        decoded: list[tuple[int, Msg, E]] = []
        for index, raw in enumerate(raws):
            try:
                decoded.append((index, raw, self.handler.event_type.model_validate_json(raw.data)))
            except ValidationError as exc:
                outcomes[index] = (_Outcome.DEAD, f"schema invalid: {_short(exc)}")
        try:
            if decoded:
                outcomes |= await self._apply_together(decoded)
        except _Isolate:
            outcomes |= await self._apply_isolated(decoded, len(raws))
        if any(outcome is _Outcome.DONE for outcome, _ in outcomes.values()):
            self.after_commit()
        for index, raw in enumerate(raws):
            await self._settle(raw, *outcomes[index])

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
            except RetryLater as exc:
                span.set_status(Status(StatusCode.ERROR, f"retry later: {exc}"))
                return _Outcome.RETRY, str(exc)
            except Unprocessable as exc:
                span.set_status(Status(StatusCode.ERROR, f"unprocessable: {exc}"))
                return _Outcome.DEAD, str(exc)
            except Exception as exc:
                span.record_exception(exc)
                span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
                log.exception("%s: handler failed on %s", durable, event.event_id)
                return _Outcome.RETRY, f"{type(exc).__name__}: {exc}"
            return _Outcome.DONE, ""

    async def _settle(self, raw: Msg, outcome: _Outcome, reason: str) -> None:
        if outcome in (_Outcome.DONE, _Outcome.DUPLICATE):
            await raw.ack()
            return
        attempt = raw.metadata.num_delivered or 1
        if outcome is _Outcome.RETRY and attempt < self.options.max_deliver:
            await raw.nak(delay=retry_delay_s(attempt))
            return
        if outcome is _Outcome.RETRY:
            reason = f"gave up after {attempt} attempts: {reason}"
        try:
            await self._dead_letter(raw, reason)
        except Exception:
            log.exception("%s: dead-letter publish failed; will retry", self.handler.durable)
            await raw.nak(delay=retry_delay_s(attempt))
            return
        await raw.ack()

    async def _dead_letter(self, raw: Msg, reason: str) -> None:
        durable = self.handler.durable
        seq = raw.metadata.sequence.stream if raw.metadata.sequence else 0
        log.error("%s: dead-lettering %s #%s: %s", durable, raw.subject, seq, reason)
        await self.broker.publish(
            raw.data,
            subject=dead_letter_subject(durable),
            headers={
                "Nats-Msg-Id": f"{durable}:{raw.metadata.stream}:{seq}",
                "Jembatan-Dead-Letter-Reason": reason[:1000],
                "Jembatan-Original-Subject": raw.subject,
                "Jembatan-Original-Stream": str(raw.metadata.stream),
                "Jembatan-Original-Sequence": str(seq),
                "Jembatan-Consumer": durable,
            },
            stream=DEAD_LETTER.name,
            timeout=10,
        )


async def _undecoded_bodies(msg: StreamMessage[Any]) -> Any:
    """The batch's message bodies as they came: `process` validates each into its event model,
    so FastStream's own JSON decoding of every message would be done for nothing."""
    return msg.body


def stream_of_type(event_type: type[Event]) -> str:
    return event_type.subject_suffix.split(".")[0].upper()


def _short(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}" for error in exc.errors()
    )[:500]
