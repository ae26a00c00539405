"""A tiny service used by the kit's tests: one effect table and a handler that counts effects."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import Column, Integer, MetaData, String, Table, Uuid, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from jembatan_contracts import CandidateRegistered
from jembatan_kit.consumer import RetryLater, Unprocessable
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
