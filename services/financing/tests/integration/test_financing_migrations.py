"""Migration 0008 gives the instalments of loans opened before it the ids that keep a schedule
together in the index; going back restores the ids they had."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime

from alembic import command
from sqlalchemy import insert, select

from jembatan_financing.adapters.orm import instalments, loans
from jembatan_financing.bootstrap import MIGRATIONS
from jembatan_financing.domain.model import instalment_id_for
from jembatan_kit.db import create_engine
from jembatan_kit.migrations import alembic_config

IDS = uuid.UUID("6c1f4a8e-2d0b-5f43-9a57-1b8e0f3c7d21")


def id_before_0008(loan_id: uuid.UUID, number: int) -> uuid.UUID:
    return uuid.uuid5(IDS, f"instalment/{loan_id}/{number}")


async def ids(database_url: str) -> dict[tuple[uuid.UUID, int], uuid.UUID]:
    engine = create_engine(database_url)
    async with engine.connect() as connection:
        rows = (
            await connection.execute(
                select(instalments.c.loan_id, instalments.c.number, instalments.c.id)
            )
        ).all()
    await engine.dispose()
    return {(row.loan_id, row.number): row.id for row in rows}


async def test_instalments_of_existing_loans_are_given_ids_that_start_with_their_loans(
    database_url: str,
) -> None:
    config = alembic_config(MIGRATIONS, database_url)
    await asyncio.to_thread(command.upgrade, config, "0007")
    loan_ids = [uuid.uuid4() for _ in range(3)]
    engine = create_engine(database_url)
    async with engine.begin() as connection:
        for loan_id in loan_ids:
            await connection.execute(
                insert(loans).values(
                    id=loan_id,
                    placement_id=uuid.uuid4(),
                    candidate_id=uuid.uuid4(),
                    agency="kaltim",
                    journey_id=uuid.uuid4(),
                    track="TITP",
                    contract_months=36,
                    principal_idr=15_000_000,
                    repayment_channel="bank_transfer",
                    status="repaying",
                    opened_at=datetime(2026, 1, 5, tzinfo=UTC),
                )
            )
            await connection.execute(
                insert(instalments),
                [
                    {
                        "id": id_before_0008(loan_id, number),
                        "loan_id": loan_id,
                        "number": number,
                        "due_date": date(2026, number % 12 + 1, 1),
                        "amount_idr": 500_000,
                    }
                    for number in range(1, 31)
                ],
            )
    await engine.dispose()

    await asyncio.to_thread(command.upgrade, config, "head")

    after = await ids(database_url)
    assert len(after) == 90
    assert after == {key: instalment_id_for(*key) for key in after}
    for (loan_id, _number), instalment_id in after.items():
        assert instalment_id.bytes[:6] == loan_id.bytes[:6]
        assert instalment_id.version == 8

    await asyncio.to_thread(command.downgrade, config, "0007")

    assert await ids(database_url) == {key: id_before_0008(*key) for key in after}


def test_a_loans_schedule_sorts_together() -> None:
    first, second = sorted([uuid.uuid4(), uuid.uuid4()])
    schedule = sorted(
        [instalment_id_for(second, n) for n in range(1, 61)]
        + [instalment_id_for(first, n) for n in range(1, 61)]
    )

    assert {i.bytes[:6] for i in schedule[:60]} == {first.bytes[:6]}
    assert {i.bytes[:6] for i in schedule[60:]} == {second.bytes[:6]}
    assert len(set(schedule)) == 120
