"""Replicas of a service on one database: one relay publishes the outbox at a time, in each
journey's order, a standby takes over from a dead holder, and consumers of one durable share
the work."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from jembatan_contracts import CandidateRegistered
from jembatan_kit.broker import ensure_streams, make_broker
from jembatan_kit.consumer import BatchConsumer, ConsumerOptions, EventHandler
from jembatan_kit.db import create_engine, create_session_factory
from jembatan_kit.messaging_tables import outbox_relay_lease_table, outbox_table
from jembatan_kit.outbox import OutboxRelay, RelayLease, add_to_outbox, replica_name
from jembatan_kit.testing.effects import count_effects, create_tables, record_effects, registered

JOURNEYS = 30
EVENTS_PER_JOURNEY = 100


@pytest.fixture
async def engines(database_url: str) -> AsyncIterator[list[AsyncEngine]]:
    """Two engines on one database, as two replicas' processes would have."""
    engines = [create_engine(database_url), create_engine(database_url)]
    await create_tables(engines[0])
    yield engines
    for engine in engines:
        await engine.dispose()


async def test_one_relay_holds_the_lease_until_it_expires_or_is_released(
    engines: list[AsyncEngine],
) -> None:
    first, second = (
        RelayLease(create_session_factory(engine), holder=name, ttl_s=0.5)
        for engine, name in zip(engines, ("first", "second"), strict=True)
    )
    assert await first.acquire()
    assert not await second.acquire(), "the lease is held"
    assert await first.acquire(), "the holder renews it"
    await asyncio.sleep(0.4)
    assert await first.acquire(), "renewed: it lasts another 0.5 s from now"
    await asyncio.sleep(0.3)
    assert not await second.acquire(), "0.7 s after taking it, the renewed lease still holds"
    await asyncio.sleep(0.35)  # the holder died: no renewal
    assert not first.held, "the holder stops counting on a lease it did not renew"
    assert await second.acquire(), "a standby takes an expired lease"
    assert not await first.acquire()
    await second.release()
    assert await first.acquire(), "a released lease is free at once"
    async with engines[0].connect() as connection:
        holders = (await connection.execute(select(outbox_relay_lease_table.c.holder))).all()
    assert [row.holder for row in holders] == ["first"]


async def test_a_replica_restarted_after_a_crash_takes_its_lease_back_at_once(
    engines: list[AsyncEngine],
) -> None:
    service = f"kit-tests-{uuid.uuid4().hex[:8]}"
    name = replica_name(service, 8123)
    assert replica_name(service, 8123) == f"{name}#2", "a second replica in one process"
    crashed = RelayLease(create_session_factory(engines[0]), holder=name, ttl_s=30)
    assert await crashed.acquire()
    # The process dies without releasing; its successor has the same host and port.
    restarted = RelayLease(create_session_factory(engines[1]), holder=name, ttl_s=30)
    other = RelayLease(create_session_factory(engines[1]), holder=f"{name}#2", ttl_s=30)
    assert not await other.acquire()
    assert await restarted.acquire()


async def _stage_journeys(
    sessions: async_sessionmaker[AsyncSession],
    journeys: list[uuid.UUID] | None = None,
    steps: range = range(EVENTS_PER_JOURNEY),
) -> list[uuid.UUID]:
    """Stage the journeys' events of `steps` interleaved, as concurrent requests would; each
    carries the sector `step-<position>`. New journeys unless given; returns the journeys."""
    journeys = journeys or [uuid.uuid4() for _ in range(JOURNEYS)]
    for step in steps:
        events = [
            registered(f"step-{step}").model_copy(update={"journey_id": journey})
            for journey in journeys
        ]
        async with sessions() as session, session.begin():
            await add_to_outbox(session, *events)
    return journeys


async def _published(nats_client: NatsClient) -> list[Msg]:
    """Every message published on the registration subjects, duplicates included: a core
    subscription sees each publish, before JetStream drops a duplicate."""
    seen: list[Msg] = []

    async def keep(msg: Msg) -> None:
        seen.append(msg)

    await nats_client.subscribe("jembatan.*.registration.>", cb=keep)
    await nats_client.flush()
    return seen


async def _stream_order(nats_client: NatsClient) -> dict[uuid.UUID, list[int]]:
    """Each journey's steps in the order the REGISTRATION stream stored them."""
    js = nats_client.jetstream()
    subscription = await js.pull_subscribe(
        "jembatan.*.registration.>",
        durable="order-check",
        config=ConsumerConfig(ack_policy=AckPolicy.NONE),
    )
    steps: dict[uuid.UUID, list[int]] = defaultdict(list)
    total = JOURNEYS * EVENTS_PER_JOURNEY
    while sum(len(s) for s in steps.values()) < total:
        for msg in await subscription.fetch(1000, timeout=5):
            event = CandidateRegistered.model_validate_json(msg.data)
            steps[event.journey_id].append(int(event.preferred_sector.removeprefix("step-")))
    return steps


def _assert_in_order(steps: dict[uuid.UUID, list[int]]) -> None:
    assert len(steps) == JOURNEYS
    for journey_steps in steps.values():
        assert journey_steps == list(range(EVENTS_PER_JOURNEY)), "a journey's order was broken"


async def _unsent(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        unsent = await connection.scalar(
            select(func.count()).where(outbox_table.c.sent_at.is_(None))
        )
    return unsent or 0


async def _all_sent(engine: AsyncEngine) -> bool:
    return await _unsent(engine) == 0


async def _until(check: Callable[[], Awaitable[bool]], timeout_s: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "not in time"
        await asyncio.sleep(0.05)


async def test_two_relays_over_one_outbox_publish_each_row_once_in_journey_order(
    engines: list[AsyncEngine], nats_url: str, nats_client: NatsClient
) -> None:
    await ensure_streams(nats_client.jetstream())
    published = await _published(nats_client)
    relays, brokers = [], []
    for number, engine in enumerate(engines):
        broker = make_broker(nats_url, f"replica-{number}")
        await broker.connect()
        brokers.append(broker)
        sessions = create_session_factory(engine)
        relays.append(
            OutboxRelay(
                broker,
                sessions,
                poll_interval_s=0.05,
                batch_size=200,
                lease=RelayLease(sessions, holder=f"replica-{number}", ttl_s=1.0),
            )
        )
    for relay in relays:
        await relay.start()
    try:
        await _stage_journeys(create_session_factory(engines[0]))
        for relay in relays:
            relay.wake()
        await _until(lambda: _all_sent(engines[0]))
    finally:
        for relay, broker in zip(relays, brokers, strict=True):
            await relay.stop()
            await broker.stop()
    total = JOURNEYS * EVENTS_PER_JOURNEY
    await nats_client.flush()
    assert len(published) == total, "each row was published once"
    assert sorted(relay.published for relay in relays) == [0, total], "one relay published all"
    _assert_in_order(await _stream_order(nats_client))


async def test_a_killed_relay_is_replaced_by_the_standby_and_nothing_is_lost(
    postgres_url: str, nats_url: str, nats_client: NatsClient
) -> None:
    engine = create_engine(postgres_url)
    await create_tables(engine)
    await ensure_streams(nats_client.jetstream())
    published = await _published(nats_client)
    replicas = {
        name: subprocess.Popen(
            [
                sys.executable,
                str(Path(__file__).with_name("relay_replica.py")),
                postgres_url,
                nats_url,
                name,
            ],
            cwd=Path(__file__).parent,
            stdout=subprocess.PIPE,
        )
        for name in ("replica-a", "replica-b")
    }
    try:
        for process in replicas.values():
            assert process.stdout is not None
            await asyncio.to_thread(process.stdout.readline)  # "started"
        sessions = create_session_factory(engine)
        half = EVENTS_PER_JOURNEY // 2
        journeys = await _stage_journeys(sessions, steps=range(half))
        total = JOURNEYS * EVENTS_PER_JOURNEY

        async def the_holder_at_work() -> bool:
            return await _unsent(engine) < JOURNEYS * half

        await _until(the_holder_at_work)
        # Both freeze where they are, the holder perhaps between publishing a batch and marking
        # it sent; the second half is staged behind it, so the holder dies with work left.
        for process in replicas.values():
            process.send_signal(signal.SIGSTOP)
        async with engine.connect() as connection:
            holder = await connection.scalar(select(outbox_relay_lease_table.c.holder))
        assert holder in replicas
        await _stage_journeys(sessions, journeys, range(half, EVENTS_PER_JOURNEY))
        assert await _unsent(engine) >= JOURNEYS * half
        replicas[holder].send_signal(signal.SIGKILL)
        replicas[holder].wait()
        killed_at = asyncio.get_running_loop().time()
        for name, process in replicas.items():
            if name != holder:
                process.send_signal(signal.SIGCONT)

        await _until(lambda: _all_sent(engine))
        took_over_s = asyncio.get_running_loop().time() - killed_at
    finally:
        for process in replicas.values():
            process.kill()
            process.wait()
        await engine.dispose()
    await nats_client.flush()
    stored = await nats_client.jetstream().stream_info("REGISTRATION")
    assert stored.state.messages == total, "nothing lost, nothing stored twice"
    # The standby republishes what the killed holder published but had not marked sent: at
    # most one batch, dropped by the duplicate window.
    assert total <= len(published) <= total + 200
    assert took_over_s < 10
    _assert_in_order(await _stream_order(nats_client))


async def test_two_consumers_of_one_durable_share_the_work(
    engines: list[AsyncEngine], nats_url: str, nats_client: NatsClient
) -> None:
    js = nats_client.jetstream()
    await ensure_streams(js)
    handled: Counter[int] = Counter()
    brokers = []
    for replica, engine in enumerate(engines):

        async def record(
            session: AsyncSession, events: list[CandidateRegistered], replica: int = replica
        ) -> None:
            handled[replica] += len(events)
            await record_effects(session, events)

        broker = make_broker(nats_url, f"replica-{replica}")
        consumer = BatchConsumer(
            broker,
            EventHandler(CandidateRegistered, "test-shared-durable", record, handle_batch=record),
            create_session_factory(engine),
            ConsumerOptions(batch_size=10, batch_timeout_s=0.05, max_deliver=3),
            lambda: None,
        )
        consumer.register()
        brokers.append(broker)
    events = [registered() for _ in range(400)]
    for event in events:
        await js.publish(
            event.subject,
            event.model_dump_json().encode(),
            headers={"Nats-Msg-Id": str(event.event_id)},
        )
    for broker in brokers:
        await broker.start()
    try:

        async def all_handled() -> bool:
            return await count_effects(engines[0]) >= len(events)

        await _until(all_handled)
        await asyncio.sleep(0.3)  # room for a second effect, if there were to be one
    finally:
        for broker in brokers:
            await broker.stop()
    assert await count_effects(engines[0]) == len(events), "each event has one effect"
    assert sum(handled.values()) == len(events), "no event was handled by both"
    assert min(handled[0], handled[1]) > 0, f"both replicas took a share: {dict(handled)}"
