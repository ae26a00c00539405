"""A resource failure is not a handling failure: a consumer whose database is locked, full or
unavailable for longer than the whole redelivery back-off pauses with the batch in hand, reports
why (`degraded_reason`), dead-letters nothing, and handles every event once when it is back.
Real SQLite and PostgreSQL, real nats-server."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import pytest
from nats.aio.client import Client as NatsClient
from sqlalchemy import event, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from jembatan_contracts import DEAD_LETTER, CandidateRegistered, DeadLetterHeader
from jembatan_kit.broker import ensure_streams
from jembatan_kit.consumer import ConsumerOptions
from jembatan_kit.db import create_engine
from jembatan_kit.faults import InfrastructureUnavailable
from jembatan_kit.testing.databases import PrivatePostgres
from jembatan_kit.testing.effects import (
    ConsumingService,
    count_effects,
    create_tables,
    dead_letters,
    drained,
    record_effect,
    registered,
)
from jembatan_kit.testing.helpers import eventually

DURABLE = "resources-candidate-registered"
OPTIONS = ConsumerOptions(batch_size=10, batch_timeout_s=0.05, max_deliver=3)
"""Three attempts: the old back-off (1 s, then 2 s) dead-lettered after 3 s of outage."""


@pytest.fixture
async def sqlite_file(tmp_path: Path) -> Path:
    return tmp_path / "service.db"


@pytest.fixture
async def engine(sqlite_file: Path) -> AsyncIterator[AsyncEngine]:
    # A statement waits 0.2 s for another connection's lock (not 30 s), so a 6 s lock is a
    # database locked for longer than the old back-off, as a 45 s lock is in production.
    engine = create_engine(f"sqlite+aiosqlite:///{sqlite_file}", busy_timeout_s=0.2)
    await create_tables(engine)
    yield engine
    await engine.dispose()


async def _publish(js: Any, count: int) -> list[Any]:
    events = [registered() for _ in range(count)]
    for one in events:
        await js.publish(one.subject, one.model_dump_json().encode())
    return events


async def _each_handled_once(engine: AsyncEngine, events: list[Any]) -> bool:
    counts = [await count_effects(engine, one.candidate_id) for one in events]
    assert max(counts) <= 1, "an event had two effects"
    return min(counts) == 1


async def test_a_locked_database_pauses_the_consumer_and_dead_letters_nothing(
    engine: AsyncEngine,
    sqlite_file: Path,
    nats_url: str,
    nats_client: NatsClient,
) -> None:
    js = nats_client.jetstream()
    await ensure_streams(js)
    async with ConsumingService(engine, nats_url, DURABLE, OPTIONS) as service:
        before = await _publish(js, 1)
        await eventually(lambda: _each_handled_once(engine, before))

        holder = sqlite3.connect(sqlite_file, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        try:
            during = await _publish(js, 5)
            await eventually(lambda: _is_degraded(service))
            assert "locked" in str(service.consumer.degraded_reason)
            await asyncio.sleep(6)
            assert service.consumer.degraded_reason is not None, "still paused while locked"
            reader = sqlite3.connect(sqlite_file)  # WAL: a reader is not kept out by the lock
            assert reader.execute("SELECT count(*) FROM effects").fetchone() == (1,)
            reader.close()
        finally:
            holder.rollback()
            holder.close()

        await eventually(lambda: _each_handled_once(engine, during))
        await drained(js, DURABLE)
        assert service.consumer.degraded_reason is None
    assert await dead_letters(js) == []


async def test_a_full_database_pauses_the_consumer_until_there_is_room(
    engine: AsyncEngine, nats_url: str, nats_client: NatsClient
) -> None:
    # SQLite's page limit makes "database or disk is full" real without filling a disk: each
    # connection the consumer takes is held to the database's size of the moment.
    limit = {"pages": 0}

    @event.listens_for(engine.sync_engine, "checkout")
    def _hold_to_limit(dbapi_connection: Any, *_: Any) -> None:
        if limit["pages"]:
            cursor = dbapi_connection.cursor()
            cursor.execute(f"PRAGMA max_page_count = {limit['pages']}")
            cursor.close()

    js = nats_client.jetstream()
    await ensure_streams(js)
    async with ConsumingService(engine, nats_url, DURABLE, OPTIONS) as service:
        async with engine.connect() as connection:
            limit["pages"] = (await connection.exec_driver_sql("PRAGMA page_count")).scalar_one()
        events = await _publish(js, 100)
        await eventually(lambda: _is_degraded(service))
        assert "full" in str(service.consumer.degraded_reason)
        await asyncio.sleep(4)  # longer than the old back-off of three attempts
        assert service.consumer.degraded_reason is not None
        assert await count_effects(engine) < len(events)

        limit["pages"] = 1_000_000
        await eventually(lambda: _each_handled_once(engine, events))
        await drained(js, DURABLE)
        assert service.consumer.degraded_reason is None
    assert await dead_letters(js) == []


async def test_an_unavailable_postgresql_database_pauses_the_consumer(
    postgres_url: str, postgres_admin: str, nats_url: str, nats_client: NatsClient
) -> None:
    name = make_url(postgres_url).database
    engine = create_engine(postgres_url)
    await create_tables(engine)
    admin = await asyncpg.connect(
        make_url(postgres_admin).set(drivername="postgresql").render_as_string(hide_password=False)
    )
    js = nats_client.jetstream()
    await ensure_streams(js)
    try:
        async with ConsumingService(engine, nats_url, DURABLE, OPTIONS) as service:
            before = await _publish(js, 1)
            await eventually(lambda: _each_handled_once(engine, before))

            # Closed to new connections, and every open one cut, as in a restart or failover.
            await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name
            )
            try:
                during = await _publish(js, 5)
                await eventually(lambda: _is_degraded(service))
                await asyncio.sleep(4)  # longer than the old back-off of three attempts
                assert service.consumer.degraded_reason is not None
            finally:
                await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')

            await eventually(lambda: _each_handled_once(engine, during))
            await drained(js, DURABLE)
            assert service.consumer.degraded_reason is None
        assert await dead_letters(js) == []
    finally:
        await admin.close()
        await engine.dispose()


async def test_a_postgresql_server_stopped_and_started_pauses_the_consumer(
    private_postgres: PrivatePostgres, nats_url: str, nats_client: NatsClient
) -> None:
    """The server itself goes away (a restart, a failover) for longer than the old back-off."""
    engine = create_engine(private_postgres.url)
    await create_tables(engine)
    js = nats_client.jetstream()
    await ensure_streams(js)
    try:
        async with ConsumingService(engine, nats_url, DURABLE, OPTIONS) as service:
            before = await _publish(js, 1)
            await eventually(lambda: _each_handled_once(engine, before))

            private_postgres.stop()
            try:
                during = await _publish(js, 5)
                await eventually(lambda: _is_degraded(service))
                await asyncio.sleep(4)  # longer than the old back-off of three attempts
                assert service.consumer.degraded_reason is not None
            finally:
                private_postgres.start()

            await eventually(lambda: _each_handled_once(engine, during), timeout_s=30)
            await drained(js, DURABLE)
            assert service.consumer.degraded_reason is None
        assert await dead_letters(js) == []
    finally:
        await engine.dispose()


async def test_a_resource_failure_inside_one_messages_savepoint_pauses_the_whole_batch(
    engine: AsyncEngine, nats_url: str, nats_client: NatsClient
) -> None:
    """A poison message sends the batch down the message-by-message path; there the next
    message's handler finds its resource missing: the batch pauses (the poison is dead-lettered
    once, when the batch is finally settled), the other messages wait and are handled once."""
    unavailable = {"now": True}

    async def handle(session: AsyncSession, event: CandidateRegistered) -> None:
        if event.preferred_sector == "needs-registry" and unavailable["now"]:
            raise InfrastructureUnavailable("the candidate registry does not answer")
        await record_effect(session, event)

    js = nats_client.jetstream()
    await ensure_streams(js)
    poison, needy, good = registered("poison"), registered("needs-registry"), registered()
    for one in (poison, needy, good):
        await js.publish(one.subject, one.model_dump_json().encode())
    async with ConsumingService(engine, nats_url, DURABLE, OPTIONS, handle) as service:
        await eventually(lambda: _is_degraded(service))
        assert service.consumer.degraded_reason == (
            "InfrastructureUnavailable: the candidate registry does not answer"
        )
        await asyncio.sleep(4)  # longer than the old back-off of three attempts
        assert await count_effects(engine) == 0
        assert await dead_letters(js) == []

        unavailable["now"] = False
        await eventually(lambda: _each_handled_once(engine, [needy, good]))
        await drained(js, DURABLE)
        assert service.consumer.degraded_reason is None
    [dead] = await dead_letters(js)
    assert dead.headers is not None
    assert dead.headers[DeadLetterHeader.REASON] == "sector 'poison' can never be handled"


async def test_a_dead_letter_nats_does_not_take_pauses_the_consumer_until_it_does(
    engine: AsyncEngine, nats_url: str, nats_client: NatsClient
) -> None:
    """Nothing answers for the dead-letter stream (it is gone, as on a server that lost it):
    the consumer keeps the message it cannot dead-letter, and sends it once the stream is back."""
    js = nats_client.jetstream()
    await ensure_streams(js)
    async with ConsumingService(engine, nats_url, DURABLE, OPTIONS) as service:
        await js.delete_stream(DEAD_LETTER.name)
        poison, good = registered("poison"), registered()
        for one in (poison, good):
            await js.publish(one.subject, one.model_dump_json().encode())
        await eventually(lambda: _is_degraded(service))
        assert (
            service.consumer.degraded_reason
            == "NoStreamResponseError: nats: no response from stream"
        )
        await asyncio.sleep(4)  # longer than the old back-off of three attempts
        assert service.consumer.degraded_reason is not None

        await ensure_streams(js)
        await drained(js, DURABLE)
        assert service.consumer.degraded_reason is None
    assert await count_effects(engine) == 1
    [dead] = await dead_letters(js)
    assert dead.headers is not None
    assert dead.headers[DeadLetterHeader.REASON] == "sector 'poison' can never be handled"


async def _is_degraded(service: ConsumingService) -> bool:
    return service.consumer.degraded_reason is not None
