"""The hub as a three-node JetStream cluster on loopback, every stream with three replicas
(`ensure_streams` with `STREAM_REPLICAS=3`), and the node leading the stream killed with SIGKILL
in the middle of a steady flow of events: from a real outbox (SQLite), through the kit's relay,
to the kit's batch consumer, both given every node's URL.

Nothing is lost, nothing is handled twice, nothing is dead-lettered; the time from the kill to the
first event staged after it having its effect is printed. Then the killed node comes back on its
store and catches up: the stream again has three current copies.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import nats
import nats.errors
import pytest
from nats.js import JetStreamContext
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from jembatan_contracts import DEAD_LETTER, CandidateRegistered
from jembatan_contracts.streams import REGISTRATION
from jembatan_kit.broker import StreamSetupError, ensure_streams, make_broker
from jembatan_kit.consumer import BatchConsumer, ConsumerOptions, EventHandler
from jembatan_kit.db import create_engine, create_session_factory
from jembatan_kit.messaging_tables import outbox_table
from jembatan_kit.outbox import OutboxRelay, add_to_outbox
from jembatan_kit.settings import ServiceSettings
from jembatan_kit.testing.effects import (
    create_tables,
    effects,
    record_effect,
    record_effects,
    registered,
)
from jembatan_kit.testing.nats_cluster import NatsCluster

REPLICAS = 3
DURABLE = "hub-cluster-candidate-registered"
EVENTS_PER_S = 50
FLOW_S = 8.0
KILL_AFTER_S = 2.5
SETTLE_S = 30.0
"""How long everything may take to arrive after the flow ends: a lost fetch or ack comes back
after the consumer's ack wait (5 s here)."""


@pytest.fixture
def cluster(tmp_path: Path) -> AsyncIterator[NatsCluster]:
    with NatsCluster(tmp_path / "hub", size=REPLICAS) as started:
        yield started


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'service.db'}")
    await create_tables(engine)
    yield engine
    await engine.dispose()


async def handled_since(engine: AsyncEngine, seen: dict[uuid.UUID, float]) -> None:
    """Note when each candidate's effect is first seen."""
    async with engine.connect() as connection:
        ids = (await connection.execute(select(effects.c.candidate_id))).scalars().all()
    now = time.monotonic()
    for candidate_id in ids:
        seen.setdefault(candidate_id, now)


async def copies_current(js: JetStreamContext, stream: str) -> tuple[str | None, list[str]]:
    """The stream's leader and its followers that are caught up with it."""
    info = await js.stream_info(stream)
    assert info.cluster is not None
    replicas = info.cluster.replicas or []
    return info.cluster.leader, [r.name for r in replicas if r.current and not r.offline]


@pytest.mark.timeout(90)
async def test_killing_the_stream_leader_loses_nothing_and_doubles_nothing(
    cluster: NatsCluster, engine: AsyncEngine, capsys: pytest.CaptureFixture[str]
) -> None:
    await cluster.wait_until_ready()
    sessions = create_session_factory(engine)
    broker = make_broker(cluster.nats_url, "hub-cluster-test")  # NATS_URL naming every node
    relay = OutboxRelay(broker, sessions, poll_interval_s=0.05, publish_timeout_s=5)
    consumer = BatchConsumer(
        broker,
        EventHandler(CandidateRegistered, DURABLE, record_effect, handle_batch=record_effects),
        sessions,
        ConsumerOptions(batch_size=20, batch_timeout_s=0.05, max_deliver=3, ack_wait_s=5),
        relay.wake,
    )
    consumer.register()
    await broker.connect()
    js = broker.connection.jetstream(timeout=5)
    await ensure_streams(js, replicas=REPLICAS)
    for stream in (REGISTRATION.name, DEAD_LETTER.name):
        info = await js.stream_info(stream)
        assert info.config.num_replicas == REPLICAS
    await broker.start()
    await relay.start()

    staged: dict[uuid.UUID, float] = {}
    seen: dict[uuid.UUID, float] = {}

    async def produce() -> None:
        for _ in range(int(FLOW_S * EVENTS_PER_S)):
            event = registered()
            async with sessions() as session, session.begin():
                await add_to_outbox(session, event)
            staged[event.candidate_id] = time.monotonic()
            relay.wake()
            await asyncio.sleep(1 / EVENTS_PER_S)

    async def watch() -> None:
        while True:
            await handled_since(engine, seen)
            await asyncio.sleep(0.02)

    producer = asyncio.create_task(produce())
    watcher = asyncio.create_task(watch())
    try:
        await asyncio.sleep(KILL_AFTER_S)
        assert seen, "events flow before the kill"
        leader, _ = await copies_current(js, REGISTRATION.name)
        assert leader is not None
        killed = cluster.index_of(leader)
        cluster.kill(killed)
        killed_at = time.monotonic()
        handled_before_kill = len(seen)

        await producer
        deadline = time.monotonic() + SETTLE_S
        while set(seen) != set(staged) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
    finally:
        producer.cancel()
        watcher.cancel()
        await asyncio.gather(producer, watcher, return_exceptions=True)
        await relay.stop()

    missing = set(staged) - set(seen)
    assert not missing, f"{len(missing)} of {len(staged)} events never handled"
    async with engine.connect() as connection:
        counts = dict(
            (
                await connection.execute(
                    select(effects.c.candidate_id, func.count()).group_by(effects.c.candidate_id)
                )
            ).all()
        )
        unsent = await connection.scalar(
            select(func.count()).where(outbox_table.c.sent_at.is_(None))
        )
    assert set(counts) == set(staged)
    assert {count for count in counts.values()} == {1}, "an event had two effects"
    assert unsent == 0
    assert await dead_letters(js) == 0, "dead-lettered"
    after_kill = [seen[c] for c, at in staged.items() if at > killed_at]
    assert after_kill, "events were staged after the kill"
    recovery_s = min(after_kill) - killed_at
    new_leader, _ = await copies_current(js, REGISTRATION.name)
    assert new_leader not in (None, leader)

    cluster.restart(killed)
    restarted_at = time.monotonic()
    deadline = restarted_at + 30
    while True:
        current_leader, current = await copies_current(js, REGISTRATION.name)
        if current_leader and len(current) == REPLICAS - 1 and leader in [*current, current_leader]:
            break
        assert time.monotonic() < deadline, f"copies still not current: {current}"
        await asyncio.sleep(0.2)
    caught_up_s = time.monotonic() - restarted_at
    info = await js.stream_info(REGISTRATION.name)
    assert info.state.messages == len(staged)
    await broker.stop()

    with capsys.disabled():
        print(
            f"\nhub cluster: killed {leader}, the leader of {REGISTRATION.name}, with"
            f" {handled_before_kill} of {len(staged)} events handled by then; recovery"
            f" {recovery_s:.2f} s (from the kill to the first event staged after it handled;"
            f" a Raft election takes 4-9 s); new leader {new_leader}; all {len(staged)} handled"
            f" once; {leader} current again {caught_up_s:.1f} s after its restart"
        )


async def test_streams_are_brought_up_to_their_replicas_in_place_and_never_down(
    cluster: NatsCluster,
) -> None:
    """A stream made with one copy (as before this setting) gets three where it is, its events
    kept; a service started without `STREAM_REPLICAS` does not take them away; more copies than
    servers is refused in words that name the setting."""
    await cluster.wait_until_ready()
    client = await nats.connect(cluster.urls)
    try:
        js = client.jetstream(timeout=5)
        await ensure_streams(js, (REGISTRATION, DEAD_LETTER), replicas=1)
        event = registered()
        await js.publish(event.subject, event.model_dump_json().encode())

        await ensure_streams(js, (REGISTRATION, DEAD_LETTER), replicas=REPLICAS)
        info = await js.stream_info(REGISTRATION.name)
        assert info.config.num_replicas == REPLICAS and info.state.messages == 1
        assert info.config.max_age == ServiceSettings().stream_max_age_days * 24 * 3600
        dead = await js.stream_info(DEAD_LETTER.name)
        assert dead.config.num_replicas == REPLICAS
        assert not dead.config.max_age, "dead letters wait for an operator, however long"

        await ensure_streams(js, (REGISTRATION,), replicas=1)
        assert (await js.stream_info(REGISTRATION.name)).config.num_replicas == REPLICAS

        with pytest.raises(StreamSetupError, match="STREAM_REPLICAS"):
            await ensure_streams(js, (REGISTRATION,), replicas=REPLICAS + 2)
    finally:
        await client.close()


async def dead_letters(js: JetStreamContext, within_s: float = 30.0) -> int:
    """The dead-letter stream's messages, asked until the cluster answers: just after a kill,
    the stream's own leader may still be being elected."""
    deadline = time.monotonic() + within_s
    while True:
        try:
            return (await js.stream_info(DEAD_LETTER.name)).state.messages
        except nats.errors.TimeoutError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)
