"""The messaging mechanisms against a real nats-server and real databases (SQLite, PostgreSQL)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import pytest
from nats.aio.client import Client as NatsClient
from opentelemetry import trace
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from jembatan_contracts import (
    MAX_EVENT_BYTES,
    CandidateRegistered,
    EventTooLarge,
    dead_letter_subject,
)
from jembatan_kit.broker import ensure_streams, make_broker
from jembatan_kit.consumer import BatchConsumer, ConsumerOptions, EventHandler
from jembatan_kit.db import create_session_factory
from jembatan_kit.messaging_tables import outbox_table
from jembatan_kit.outbox import OutboxRelay, add_to_outbox, outbox_rows, staging_for_messages
from jembatan_kit.telemetry import (
    current_traceparent,
    journey_context,
    journey_root_span,
    restored_span,
    setup_telemetry,
    tracer,
)
from jembatan_kit.testing.effects import (
    count_effects,
    record_effect,
    record_effects,
    registered,
)

SPANS = InMemorySpanExporter()
setup_telemetry("kit-tests", "kemnaker", extra_processors=(SimpleSpanProcessor(SPANS),))

DURABLE = "test-candidate-registered"


async def eventually(check: Callable[[], Awaitable[bool]], timeout_s: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


class Harness:
    def __init__(self, engine: AsyncEngine, nats_url: str, batched: bool = False) -> None:
        self.engine = engine
        self.sessions: async_sessionmaker[AsyncSession] = create_session_factory(engine)
        self.broker = make_broker(nats_url, "kit-test")
        self.relay = OutboxRelay(self.broker, self.sessions, poll_interval_s=0.05)
        self.consumer = BatchConsumer(
            self.broker,
            EventHandler(
                CandidateRegistered,
                DURABLE,
                record_effect,
                handle_batch=record_effects if batched else None,
            ),
            self.sessions,
            ConsumerOptions(batch_size=10, batch_timeout_s=0.05, max_deliver=3),
            self.relay.wake,
        )
        self.consumer.register()

    async def start(self) -> None:
        await self.broker.connect()
        await ensure_streams(self.broker.connection.jetstream())
        await self.broker.start()
        await self.relay.start()

    async def stop(self) -> None:
        await self.relay.stop()
        await self.broker.stop()

    async def stage(self, *events: CandidateRegistered) -> None:
        async with self.sessions() as session, session.begin():
            await add_to_outbox(session, *events)
        self.relay.wake()


@pytest.fixture(params=["handler per message", "handler per batch"])
async def harness(
    engine: AsyncEngine, nats_url: str, request: pytest.FixtureRequest
) -> AsyncIterator[Harness]:
    harness = Harness(engine, nats_url, batched=request.param == "handler per batch")
    await harness.start()
    yield harness
    await harness.stop()


async def test_outbox_event_reaches_the_consumer_with_nats_msg_id(
    harness: Harness, nats_client: NatsClient
) -> None:
    event = registered()
    await harness.stage(event)
    await eventually(lambda: _has_effects(harness.engine, event.candidate_id, 1))
    stored = await nats_client.jetstream().get_last_msg("REGISTRATION", event.subject)
    assert stored.headers is not None
    assert stored.headers["Nats-Msg-Id"] == str(event.event_id)
    async with harness.sessions() as session:
        sent_at = await session.scalar(
            select(outbox_table.c.sent_at).where(outbox_table.c.event_id == event.event_id)
        )
    assert sent_at is not None


async def test_a_journey_is_one_trace_and_each_request_is_linked_to_it(harness: Harness) -> None:
    SPANS.clear()
    event = registered()
    with (
        tracer().start_as_current_span("POST /candidates"),
        journey_root_span(event.journey_id, event.agency),
    ):
        await harness.stage(event)
    await eventually(lambda: _has_effects(harness.engine, event.candidate_id, 1))
    follow_up = registered().model_copy(
        update={"journey_id": event.journey_id, "event_id": uuid.uuid4()}
    )
    with tracer().start_as_current_span("POST /candidates/{id}/results") as request_span:
        await harness.stage(follow_up)
    await eventually(lambda: _has_effects(harness.engine, follow_up.candidate_id, 1))

    spans = {span.context.span_id: span for span in SPANS.get_finished_spans()}
    journey = event.journey_id.int
    processes = [
        span
        for span in spans.values()
        if span.name == "process CandidateRegistered" and span.context.trace_id == journey
    ]
    assert len(processes) == 2, "both events are processed inside the journey's trace"

    def ancestry(span):
        names = []
        while span.parent is not None and span.parent.span_id in spans:
            span = spans[span.parent.span_id]
            names.append(span.name)
        return names

    chains = sorted(ancestry(span) for span in processes)
    assert all(chain[-1] == "journey" for chain in chains)
    assert any("stage CandidateRegistered" in chain for chain in chains)
    stage = next(span for span in spans.values() if span.name == "stage CandidateRegistered")
    assert [link.context.span_id for link in stage.links] == [
        request_span.get_span_context().span_id
    ]
    assert request_span.get_span_context().trace_id != journey
    # The relay publishes in a span of its own, linked to the context each event was staged in
    # (the message carries that context, so consumers continue the journey).
    staged_in = {span.parent.span_id for span in processes}
    relayed = {
        link.context.span_id: link.attributes
        for span in spans.values()
        if span.name == "outbox relay"
        for link in span.links
        if link.context.trace_id == journey
    }
    assert staged_in <= set(relayed)
    assert {
        key: value
        for attributes in relayed.values()
        for key, value in attributes.items()
        if key in ("jembatan.agency", "jembatan.event_type")
    } == {"jembatan.agency": event.agency, "jembatan.event_type": "CandidateRegistered"}


def test_events_staged_for_a_batch_continue_the_trace_of_their_journeys_message() -> None:
    event, other = registered(), registered()
    with tracer().start_as_current_span(
        "process CandidateRegistered", context=journey_context(event.journey_id)
    ) as message:
        pass
    message_span_id = f"{message.get_span_context().span_id:016x}"

    with staging_for_messages({event.journey_id: message}):
        in_batch, unrelated = outbox_rows(event, other)
    [alone] = outbox_rows(event)

    def parent_of(row: dict[str, object]) -> tuple[str, str]:
        _version, trace_id, span_id, _flags = str(row["traceparent"]).split("-")
        return trace_id, span_id

    assert parent_of(in_batch) == (f"{event.journey_id.int:032x}", message_span_id)
    assert parent_of(unrelated)[0] == f"{other.journey_id.int:032x}"
    assert parent_of(alone)[1] != message_span_id  # outside a batch: its own stage span


def test_events_staged_within_a_stored_context_continue_it_in_a_stage_span() -> None:
    """Work done now that follows from a message handled long ago (a repayment falling due
    months after the departure fixed its schedule) continues the context stored then."""
    SPANS.clear()
    event = registered()
    with tracer().start_as_current_span(
        "process Departed", context=journey_context(event.journey_id)
    ) as message:
        stored = current_traceparent()
    assert stored is not None

    with staging_for_messages({event.journey_id: restored_span(stored)}):
        [row] = outbox_rows(event)

    [stage] = [span for span in SPANS.get_finished_spans() if span.name.startswith("stage ")]
    assert stage.parent is not None
    assert stage.parent.span_id == message.get_span_context().span_id
    assert stage.context.trace_id == event.journey_id.int
    assert stage.attributes["messaging.operation.type"] == "create"
    _version, trace_id, span_id, _flags = str(row["traceparent"]).split("-")
    assert (trace_id, span_id) == (f"{event.journey_id.int:032x}", f"{stage.context.span_id:016x}")


async def test_a_messages_span_lasts_until_its_batch_is_committed(
    engine: AsyncEngine, nats_url: str
) -> None:
    SPANS.clear()
    sessions = create_session_factory(engine)
    broker = make_broker(nats_url, "kit-test")

    async def slow_batch(session: AsyncSession, events: list[CandidateRegistered]) -> None:
        await asyncio.sleep(0.2)
        await record_effects(session, events)

    consumer = BatchConsumer(
        broker,
        EventHandler(CandidateRegistered, DURABLE, record_effect, handle_batch=slow_batch),
        sessions,
        ConsumerOptions(batch_size=10, batch_timeout_s=0.05, max_deliver=3),
    )
    consumer.register()
    await broker.connect()
    await ensure_streams(broker.connection.jetstream())
    await broker.start()
    event = registered()
    try:
        await broker.connection.jetstream().publish(event.subject, event.model_dump_json().encode())
        await eventually(lambda: _has_effects(engine, event.candidate_id, 1))
    finally:
        await broker.stop()
    [span] = [
        span
        for span in SPANS.get_finished_spans()
        if span.name == "process CandidateRegistered"
        and span.attributes["messaging.message.id"] == str(event.event_id)
    ]
    assert span.end_time - span.start_time >= 0.2e9


def test_the_events_a_request_stages_for_one_journey_share_one_stage_span() -> None:
    SPANS.clear()
    first = registered()
    again = first.model_copy(update={"event_id": uuid.uuid4()})
    other = registered()
    with tracer().start_as_current_span("POST /placements/steps/bulk") as request_span:
        rows = outbox_rows(first, other, again)

    assert [row["event_id"] for row in rows] == [first.event_id, again.event_id, other.event_id]
    by_event = {row["event_id"]: str(row["traceparent"]).split("-") for row in rows}
    assert by_event[first.event_id] == by_event[again.event_id]
    assert by_event[first.event_id][1] == f"{first.journey_id.int:032x}"
    assert by_event[other.event_id][1] == f"{other.journey_id.int:032x}"
    stages = [span for span in SPANS.get_finished_spans() if span.name.startswith("stage ")]
    assert sorted(span.context.trace_id for span in stages) == sorted(
        [first.journey_id.int, other.journey_id.int]
    )
    for stage in stages:
        assert stage.name == "stage CandidateRegistered"
        assert stage.attributes["messaging.operation.type"] == "create"
        assert stage.attributes["jembatan.event_type"] == "CandidateRegistered"
        assert [link.context.span_id for link in stage.links] == [
            request_span.get_span_context().span_id
        ]


async def test_the_same_event_delivered_three_times_has_one_effect(
    harness: Harness, nats_client: NatsClient
) -> None:
    event = registered()
    js = nats_client.jetstream()
    for attempt in range(3):
        # Different message ids defeat JetStream's duplicate window, as a very late redelivery
        # would: only the inbox stands between the consumer and a second effect.
        await js.publish(
            event.subject, event.model_dump_json().encode(), headers={"Nats-Msg-Id": f"x{attempt}"}
        )
    follower = registered()
    await js.publish(follower.subject, follower.model_dump_json().encode())
    await eventually(lambda: _has_effects(harness.engine, follower.candidate_id, 1))
    assert await count_effects(harness.engine, event.candidate_id) == 1
    assert harness.consumer.processed == 2


async def test_a_batch_is_handed_to_its_consumer_without_a_worker_thread(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    hops: list[object] = []
    run_sync = anyio.to_thread.run_sync

    async def counted(func: Any, *args: Any, **kwargs: Any) -> Any:
        hops.append(func)
        return await run_sync(func, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counted)
    events = [registered() for _ in range(25)]
    await harness.stage(*events)

    await eventually(lambda: _has_effects(harness.engine, events[-1].candidate_id, 1))
    assert harness.consumer.processed == 25
    # FastStream resolves a handler's message argument from its context in a worker thread.
    assert hops == []


async def test_poison_and_invalid_messages_go_to_dead_letter_without_blocking(
    harness: Harness, nats_client: NatsClient
) -> None:
    js = nats_client.jetstream()
    poison, good = registered("poison"), registered()
    await js.publish(poison.subject, poison.model_dump_json().encode())
    await js.publish(
        "jembatan.kaltim.registration.candidate.registered.v1", b'{"agency": "kaltim"}'
    )
    await js.publish(good.subject, good.model_dump_json().encode())
    await eventually(lambda: _has_effects(harness.engine, good.candidate_id, 1))
    dead = await js.pull_subscribe(dead_letter_subject(DURABLE), durable="inspect")
    messages = await _fetch_at_least(dead, 2)
    reasons = sorted(msg.headers["Jembatan-Dead-Letter-Reason"] for msg in messages)
    assert reasons[0].startswith("schema invalid: journey_id: Field required")
    assert reasons[1] == "sector 'poison' can never be handled"
    assert messages[0].headers["Jembatan-Original-Subject"].endswith("registered.v1")
    assert await count_effects(harness.engine) == 1


async def test_retry_later_is_redelivered_then_dead_lettered_after_max_attempts(
    harness: Harness, nats_client: NatsClient
) -> None:
    js = nats_client.jetstream()
    waiting, crashing = registered("retry"), registered("crash")
    await js.publish(waiting.subject, waiting.model_dump_json().encode())
    await js.publish(crashing.subject, crashing.model_dump_json().encode())
    dead = await js.pull_subscribe(dead_letter_subject(DURABLE), durable="inspect")
    # max_deliver=3 with 1 s and 2 s delays: both give up after three attempts.
    messages = await _fetch_at_least(dead, 2, timeout_s=20)
    reasons = sorted(msg.headers["Jembatan-Dead-Letter-Reason"] for msg in messages)
    assert reasons == [
        "gave up after 3 attempts: ZeroDivisionError: a bug in the handler",
        "gave up after 3 attempts: waiting for an earlier event",
    ]


async def test_a_relay_killed_between_publish_and_mark_causes_one_effect(
    engine: AsyncEngine, database_url: str, nats_url: str, nats_client: NatsClient
) -> None:
    candidate_id = uuid.uuid4()
    crash = subprocess.run(
        [
            sys.executable,
            str(Path(__file__).with_name("relay_crash.py")),
            database_url,
            nats_url,
            str(candidate_id),
        ],
        cwd=Path(__file__).parent,
        capture_output=True,
        timeout=60,
    )
    assert crash.returncode == 137, crash.stderr.decode()
    async with create_session_factory(engine)() as session:
        unsent = (
            await session.execute(select(outbox_table).where(outbox_table.c.sent_at.is_(None)))
        ).all()
    assert len(unsent) == 1, "the crashed relay must leave its row unsent"

    harness = Harness(engine, nats_url)
    await harness.start()
    try:
        await eventually(lambda: _has_effects(engine, candidate_id, 1))
        await eventually(lambda: _all_sent(harness))
        await asyncio.sleep(0.5)  # room for a second effect, if there were to be one
        assert await count_effects(engine, candidate_id) == 1
        info = await nats_client.jetstream().stream_info("REGISTRATION")
        assert info.state.messages == 1, "the republished copy was dropped as a duplicate"
    finally:
        await harness.stop()


async def _has_effects(engine: AsyncEngine, candidate_id: uuid.UUID, expected: int) -> bool:
    return await count_effects(engine, candidate_id) >= expected


async def _all_sent(harness: Harness) -> bool:
    async with harness.sessions() as session:
        rows = (await session.execute(select(outbox_table.c.sent_at))).all()
    return all(row.sent_at is not None for row in rows)


async def _fetch_at_least(subscription, count: int, timeout_s: float = 10.0) -> list:
    messages: list = []
    deadline = asyncio.get_running_loop().time() + timeout_s
    while len(messages) < count and asyncio.get_running_loop().time() < deadline:
        try:
            messages += await subscription.fetch(count - len(messages), timeout=1)
        except Exception:
            continue
    assert len(messages) >= count, f"only {len(messages)} dead letters arrived"
    return messages


def test_tracer_provider_is_installed() -> None:
    assert trace.get_tracer_provider() is not None


async def test_every_fetch_timeout_is_the_kind_faststream_expects(nats_client: NatsClient) -> None:
    import nats.errors

    from jembatan_kit.broker import ensure_streams, normalise_fetch_timeouts

    normalise_fetch_timeouts()
    js = nats_client.jetstream()
    await ensure_streams(js)
    subscription = await js.pull_subscribe(CandidateRegistered.subject_any_agency(), durable="t")
    kinds = set()
    for timeout in (0.0005, 0.001, 0.002, 0.005) * 10:
        try:
            await subscription.fetch(10, timeout=timeout)
        except Exception as exc:
            kinds.add(type(exc))
    assert kinds == {nats.errors.TimeoutError}


class _Bulky(CandidateRegistered):
    """An event with a field nobody bounded, as a careless new event might have."""

    note: str = ""


def test_an_event_larger_than_the_limit_is_never_staged() -> None:
    fields = registered().model_dump(exclude={"event_type", "schema_version"})
    bulky = _Bulky(**fields, note="x" * MAX_EVENT_BYTES)
    with pytest.raises(EventTooLarge, match=r"at most 65536 bytes \(MAX_EVENT_BYTES\)"):
        outbox_rows(bulky)
    assert len(outbox_rows(_Bulky(**fields, note="a short note"))) == 1
