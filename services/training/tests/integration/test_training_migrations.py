"""Migration 0003 gives every cohort an owning agency, including cohorts opened before it."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime

from alembic import command
from sqlalchemy import DateTime, Integer, String, Uuid, column, insert, select, table

from jembatan_kit.db import create_engine
from jembatan_kit.migrations import alembic_config
from jembatan_training.adapters.orm import cohort_members, cohorts, enrolments
from jembatan_training.bootstrap import MIGRATIONS

NOW = datetime(2026, 1, 5, tzinfo=UTC)
COHORTS_BEFORE_0003 = table(
    "cohorts",
    column("id", Uuid),
    column("training_centre", String),
    column("name", String),
    column("mode", String),
    column("capacity", Integer),
    column("members", Integer),
    column("created_at", DateTime(timezone=True)),
)


async def test_an_existing_cohort_belongs_to_its_first_members_agency(database_url: str) -> None:
    config = alembic_config(MIGRATIONS, database_url)
    await asyncio.to_thread(command.upgrade, config, "0002")
    member, empty, candidate = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    engine = create_engine(database_url)
    async with engine.begin() as connection:
        await connection.execute(
            insert(enrolments).values(
                candidate_id=candidate,
                journey_id=uuid.uuid4(),
                agency="boyolali",
                track="TITP",
                sector="automotive",
                registered_on=date(2026, 1, 2),
                enrolled_at=NOW,
            )
        )
        for cohort in (member, empty):
            await connection.execute(
                insert(COHORTS_BEFORE_0003).values(
                    id=cohort,
                    training_centre="BPVP Samarinda",
                    name="A",
                    mode="offline",
                    capacity=16,
                    members=0,
                    created_at=NOW,
                )
            )
        await connection.execute(
            insert(cohort_members).values(
                id=uuid.uuid4(), cohort_id=member, candidate_id=candidate, joined_at=NOW
            )
        )
    await engine.dispose()

    await asyncio.to_thread(command.upgrade, config, "head")

    engine = create_engine(database_url)
    async with engine.connect() as connection:
        rows = (await connection.execute(select(cohorts.c.id, cohorts.c.agency))).all()
    await engine.dispose()
    owners = {row.id: row.agency for row in rows}
    assert owners == {member: "boyolali", empty: "kemnaker"}
