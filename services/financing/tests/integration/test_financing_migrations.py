"""Migration 0008 gives the instalments of loans opened before it the ids that keep a schedule
together in the index; going back restores the ids they had. Migration 0009 moves each loan's
cost items into its row, and back. Migration 0010 leaves in the scheduler's index only the
instalments it may still announce. The migrated database is the one the service declares."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime
from typing import Any

from alembic import command
from sqlalchemy import (
    BigInteger,
    Date,
    Integer,
    String,
    Text,
    Uuid,
    column,
    insert,
    select,
    table,
    text,
)

from jembatan_financing.adapters.orm import instalments, loans, metadata
from jembatan_financing.bootstrap import MIGRATIONS
from jembatan_financing.domain.model import instalment_id_for
from jembatan_kit.db import create_engine
from jembatan_kit.migrations import alembic_config
from jembatan_kit.testing.schema import differences_from

IDS = uuid.UUID("6c1f4a8e-2d0b-5f43-9a57-1b8e0f3c7d21")


def id_before_0008(loan_id: uuid.UUID, number: int) -> uuid.UUID:
    return uuid.uuid5(IDS, f"instalment/{loan_id}/{number}")


def loan_row(loan_id: uuid.UUID, **fields: Any) -> dict[str, Any]:
    """A loan's row as the columns before 0009 hold it, with these `fields`."""
    return {
        "id": loan_id,
        "placement_id": uuid.uuid4(),
        "candidate_id": uuid.uuid4(),
        "agency": "kaltim",
        "journey_id": uuid.uuid4(),
        "track": "TITP",
        "contract_months": 36,
        **fields,
    }


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
                    **loan_row(
                        loan_id,
                        principal_idr=15_000_000,
                        repayment_channel="bank_transfer",
                        status="repaying",
                        opened_at=datetime(2026, 1, 5, tzinfo=UTC),
                    )
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


async def test_cost_items_of_existing_loans_move_into_their_loans_row_and_back(
    database_url: str,
) -> None:
    config = alembic_config(MIGRATIONS, database_url)
    await asyncio.to_thread(command.upgrade, config, "0008")
    first, second, bare = sorted(uuid.uuid4() for _ in range(3))
    items = [
        (first, 1, "training", "Japanese language training", 12_000_000, date(2026, 3, 2)),
        (first, 2, "flight", "Flight to Japan", 8_000_000, date(2026, 3, 2)),
        (first, 3, "visa", "Visa and certificate of eligibility", 2_500_000, None),
        (second, 1, "training", "Sector skills training", 9_000_000, date(2026, 4, 1)),
    ]
    engine = create_engine(database_url)
    async with engine.begin() as connection:
        for loan_id in (first, second, bare):
            await connection.execute(
                insert(loans).values(
                    **loan_row(
                        loan_id,
                        principal_idr=22_500_000,
                        repayment_channel="own_transfer",
                        status="open",
                        opened_at=datetime(2026, 3, 2, tzinfo=UTC),
                    )
                )
            )
        await connection.execute(
            insert(COST_ITEMS_BEFORE_0009),
            [dict(zip(COST_ITEM_COLUMNS, item, strict=True)) for item in items],
        )
        # Rows that refer to the loans: on SQLite the migration rebuilds their table.
        await connection.execute(
            insert(instalments).values(
                id=instalment_id_for(first, 1),
                loan_id=first,
                number=1,
                due_date=date(2026, 6, 1),
                amount_idr=1_000_000,
            )
        )
    await engine.dispose()

    await asyncio.to_thread(command.upgrade, config, "head")

    engine = create_engine(database_url)
    async with engine.connect() as connection:
        moved = dict((await connection.execute(select(loans.c.id, loans.c.cost_items))).all())
    await engine.dispose()
    assert moved[first] == [
        {
            "position": 1,
            "code": "training",
            "description": "Japanese language training",
            "amount_idr": 12_000_000,
            "charged_on": "2026-03-02",
        },
        {
            "position": 2,
            "code": "flight",
            "description": "Flight to Japan",
            "amount_idr": 8_000_000,
            "charged_on": "2026-03-02",
        },
        {
            "position": 3,
            "code": "visa",
            "description": "Visa and certificate of eligibility",
            "amount_idr": 2_500_000,
            "charged_on": None,
        },
    ]
    assert [line["code"] for line in moved[second]] == ["training"]
    assert moved[bare] == []

    await asyncio.to_thread(command.downgrade, config, "0008")

    engine = create_engine(database_url)
    async with engine.connect() as connection:
        back = (
            await connection.execute(
                select(COST_ITEMS_BEFORE_0009).order_by(
                    COST_ITEMS_BEFORE_0009.c.loan_id, COST_ITEMS_BEFORE_0009.c.position
                )
            )
        ).all()
    await engine.dispose()
    assert [tuple(row) for row in back] == items


COST_ITEM_COLUMNS = ("loan_id", "position", "code", "description", "amount_idr", "charged_on")
COST_ITEMS_BEFORE_0009 = table(
    "cost_items",
    column("loan_id", Uuid()),
    column("position", Integer()),
    column("code", String()),
    column("description", Text()),
    column("amount_idr", BigInteger()),
    column("charged_on", Date()),
)


async def test_the_migrated_database_is_the_one_the_service_declares(database_url: str) -> None:
    await asyncio.to_thread(command.upgrade, alembic_config(MIGRATIONS, database_url), "head")
    assert await differences_from(database_url, metadata) == []


async def test_the_schedulers_index_holds_only_instalments_still_to_announce(
    database_url: str,
) -> None:
    """The announced instalments, more every day, are not in the index the sweep reads each
    second, so a sweep costs the same after a year as on the first day."""
    await asyncio.to_thread(command.upgrade, alembic_config(MIGRATIONS, database_url), "head")
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            if connection.dialect.name == "sqlite":
                definition = await connection.scalar(
                    text("SELECT sql FROM sqlite_master WHERE name = :name"),
                    {"name": "ix_instalments_unannounced_due"},
                )
            else:
                definition = await connection.scalar(
                    text("SELECT indexdef FROM pg_indexes WHERE indexname = :name"),
                    {"name": "ix_instalments_unannounced_due"},
                )
    finally:
        await engine.dispose()
    words = definition.replace("(", " ").replace(")", " ").split()
    assert "WHERE" in words
    where = " ".join(words[words.index("WHERE") + 1 :])
    assert where == "announced_at IS NULL AND superseded_at IS NULL"
