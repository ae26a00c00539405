"""A tiny service used by the kit's tests: one effect table and a handler that counts effects."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date
from typing import Any

from nats.js import JetStreamContext
from nats.js.api import RawStreamMsg
from sqlalchemy import Column, Integer, MetaData, String, Table, Uuid, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from jembatan_contracts import DEAD_LETTER, CandidateRegistered
from jembatan_kit.broker import ensure_streams, make_broker
from jembatan_kit.consumer import (
    BatchConsumer,
    ConsumerOptions,
    EventHandler,
    RetryLater,
    Unprocessable,
)
from jembatan_kit.db import create_session_factory
from jembatan_kit.messaging_tables import messaging_metadata

test_metadata = MetaData()
effects = Table(
    "effects",
    test_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("candidate_id", Uuid, nullable=False),
    Column("sector", String(40), nullable=False),
)


async def create_tables(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.run_sync(messaging_metadata.create_all)
        await connection.run_sync(test_metadata.create_all)


async def count_effects(engine: AsyncEngine, candidate_id: uuid.UUID | None = None) -> int:
    query = select(effects.c.id)
    if candidate_id is not None:
        query = query.where(effects.c.candidate_id == candidate_id)
    async with engine.connect() as connection:
        return len((await connection.execute(query)).all())


async def record_effect(session: AsyncSession, event: CandidateRegistered) -> None:
    """The handler under test. Sector codes steer it: `retry` waits, `poison` is refused."""
    if event.preferred_sector == "poison":
        raise Unprocessable("sector 'poison' can never be handled")
    if event.preferred_sector.startswith("retry"):
        raise RetryLater("waiting for an earlier event")
    if event.preferred_sector == "crash":
        raise ZeroDivisionError("a bug in the handler")
    await session.execute(
        insert(effects).values(candidate_id=event.candidate_id, sector=event.preferred_sector)
    )


async def record_effects(session: AsyncSession, events: list[CandidateRegistered]) -> None:
    """The same handler for a whole batch: one insert, or the first refusal of any event."""
    for event in events:
        if event.preferred_sector in ("poison", "crash") or event.preferred_sector.startswith(
            "retry"
        ):
            await record_effect(session, event)  # raises the event's refusal
    await session.execute(
        insert(effects),
        [{"candidate_id": e.candidate_id, "sector": e.preferred_sector} for e in events],
    )


def registered(sector: str = "caregiver", agency: str = "kaltim") -> CandidateRegistered:
    return CandidateRegistered(
        agency=agency,
        journey_id=uuid.uuid4(),
        candidate_id=uuid.uuid4(),
        track="TITP",
        preferred_sector=sector,
        education="SMA",
        province_code="64",
        registered_on=date(2026, 3, 1),
    )


class ConsumingService:
    """One consumer of `CandidateRegistered` on its own broker connection, started and stopped
    as a service does (`async with`)."""

    def __init__(
        self,
        engine: AsyncEngine,
        nats_url: str,
        durable: str,
        options: ConsumerOptions | None = None,
        handle: Any = None,
        handle_batch: Any = None,
    ) -> None:
        self.broker = make_broker(nats_url, durable)
        self.consumer = BatchConsumer(
            self.broker,
            EventHandler(
                CandidateRegistered, durable, handle or record_effect, handle_batch=handle_batch
            ),
            create_session_factory(engine),
            options or ConsumerOptions(batch_size=10, batch_timeout_s=0.05, max_deliver=3),
        )
        self.consumer.register()

    async def __aenter__(self) -> ConsumingService:
        await self.broker.connect()
        js = self.broker.connection.jetstream()
        await ensure_streams(js)
        await self.consumer.ensure_durable(js)
        await self.broker.start()
        self.consumer.started()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.broker.stop()


async def drained(
    js: JetStreamContext, durable: str, stream: str = "REGISTRATION", timeout_s: float = 15.0
) -> None:
    """Wait until the durable has acknowledged every message of its stream."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        info = await js.consumer_info(stream, durable)
        if info.num_pending == 0 and info.num_ack_pending == 0:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(
                f"{durable} stuck: {info.num_pending} pending, {info.num_ack_pending} unacked"
            )
        await asyncio.sleep(0.1)


async def dead_letters(js: JetStreamContext) -> list[RawStreamMsg]:
    """Every dead letter so far, read without consuming them."""
    state = (await js.stream_info(DEAD_LETTER.name)).state
    if not state.messages:
        return []
    return [
        await js.get_msg(DEAD_LETTER.name, seq)
        for seq in range(state.first_seq, state.last_seq + 1)
    ]
