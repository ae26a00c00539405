"""Departed events handled together in one batch fix the same schedules, and stage the same
events, as when each is handled alone."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from jembatan_contracts import Departed, RepaymentScheduleFixed, Track
from jembatan_financing.adapters.orm import instalments, loans
from jembatan_financing.adapters.repository import SqlFinancingRepository
from jembatan_financing.bootstrap import MIGRATIONS
from jembatan_financing.config import FinancingSettings
from jembatan_financing.domain.commands import GrantSubsidy
from jembatan_financing.domain.model import LoanTerms, loan_id_for
from jembatan_financing.entrypoints.consumers import event_handlers
from jembatan_financing.service_layer.handlers import fix_schedules, grant_subsidies, open_loans
from jembatan_kit.clock import SystemClock
from jembatan_kit.consumer import Refusals, RetryLater
from jembatan_kit.db import create_engine, create_session_factory
from jembatan_kit.messaging_tables import outbox_table
from jembatan_kit.migrations import upgrade_to_head
from jembatan_kit.testing.journeys import departed, placed


class FixedClock(SystemClock):
    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def now(self) -> datetime:
        return self.moment


CLOCK = FixedClock(datetime(2026, 11, 2, 3, 0, tzinfo=UTC))
FUNDER = FinancingSettings().default_funder

Snapshot = tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]


async def _snapshot(session: AsyncSession) -> Snapshot:
    loan_rows = (
        await session.execute(
            select(
                loans.c.id,
                loans.c.status,
                loans.c.departure_date,
                loans.c.contract_months,
                loans.c.monthly_wage_jpy,
                loans.c.schedule_fixed_at,
            ).order_by(loans.c.id)
        )
    ).all()
    instalment_rows = (
        await session.execute(
            select(
                instalments.c.id,
                instalments.c.loan_id,
                instalments.c.number,
                instalments.c.due_date,
                instalments.c.amount_idr,
            ).order_by(instalments.c.id)
        )
    ).all()
    staged = (
        await session.execute(
            select(
                outbox_table.c.event_id,
                outbox_table.c.subject,
                outbox_table.c.journey_id,
                outbox_table.c.payload,
            )
            .where(outbox_table.c.event_type == RepaymentScheduleFixed.name)
            .order_by(outbox_table.c.event_id)
        )
    ).all()
    events = []
    for event_id, subject, journey_id, payload in staged:
        fields = json.loads(payload)
        fields.pop("occurred_at")
        events.append((event_id, subject, journey_id, fields))
    return (
        [tuple(row) for row in loan_rows],
        [tuple(row) for row in instalment_rows],
        [tuple(row) for row in events],
    )


async def _tried(
    factory: Callable[[], AsyncSession], apply: Callable[[AsyncSession], Awaitable[None]]
) -> Snapshot:
    """What `apply` leaves in the database; rolled back afterwards."""
    async with factory() as session:
        await session.begin()
        await apply(session)
        snapshot = await _snapshot(session)
        await session.rollback()
    return snapshot


async def test_departures_in_one_batch_fix_what_they_fix_one_by_one(database_url: str) -> None:
    await asyncio.to_thread(upgrade_to_head, MIGRATIONS, database_url)
    terms: LoanTerms = FinancingSettings().loan_terms()
    engine = create_engine(database_url)
    factory = create_session_factory(engine)
    try:
        placements = [
            placed(Track.SSW, contract_months=12),
            placed(Track.TITP, contract_months=36),
            placed(Track.SSW, contract_months=60, monthly_wage_jpy=180_000),
            placed(Track.TITP, contract_months=12),
        ]
        already_fixed = placed(Track.SSW, contract_months=24)
        async with factory() as session, session.begin():
            await open_loans(
                [*placements, already_fixed],
                SqlFinancingRepository(session),
                terms=terms,
                clock=CLOCK,
                default_funder=FUNDER,
            )
            subsidy = GrantSubsidy(
                loan_id_for(placements[1].placement_id), "Kemnaker", "BLK training", 2_500_000
            )
            await grant_subsidies([subsidy], SqlFinancingRepository(session), CLOCK)
            await fix_schedules(
                [departed(already_fixed, date(2026, 10, 1))],
                SqlFinancingRepository(session),
                terms=terms,
                clock=CLOCK,
            )
        departures = [
            departed(placements[0], date(2027, 1, 15)),
            departed(placements[1], date(2026, 11, 30)),
            departed(placements[2], date(2027, 3, 31)),
            departed(placements[3], date(2027, 2, 1), contract_months=24),
            departed(already_fixed, date(2026, 12, 1)),
        ]
        # The same departure announced twice: the second finds the schedule fixed.
        again = departures[0].model_copy(update={"event_id": uuid.uuid4()})

        async def one_by_one(session: AsyncSession) -> None:
            for event in [*departures, again]:
                async with session.begin_nested():
                    repo = SqlFinancingRepository(session)
                    await fix_schedules([event], repo, terms=terms, clock=CLOCK)

        async def together(session: AsyncSession) -> None:
            repo = SqlFinancingRepository(session)
            await fix_schedules([*departures, again], repo, terms=terms, clock=CLOCK)

        alone = await _tried(factory, one_by_one)
        batched = await _tried(factory, together)

        assert batched == alone
        loan_rows, instalment_rows, events = batched
        assert len(events) == 5  # four fixed now, one before
        assert {row[1] for row in loan_rows} == {"repaying"}
        assert len(instalment_rows) == sum(event[3]["instalments"] for event in events)
    finally:
        await engine.dispose()


async def test_a_batch_with_a_departure_before_its_loan_is_retried_and_writes_nothing(
    database_url: str,
) -> None:
    """The departure's consumer names the departure that must wait (`Refusals`); the batch is
    rolled back, and the consumer handles the rest again without it."""
    await asyncio.to_thread(upgrade_to_head, MIGRATIONS, database_url)
    terms = FinancingSettings().loan_terms()
    engine = create_engine(database_url)
    factory = create_session_factory(engine)
    try:
        ready, early = placed(), placed()
        async with factory() as session, session.begin():
            await open_loans(
                [ready],
                SqlFinancingRepository(session),
                terms=terms,
                clock=CLOCK,
                default_funder=FUNDER,
            )
        batch: list[Departed] = [
            departed(ready, date(2027, 1, 15)),
            departed(early, date(2027, 1, 15)),
        ]
        [consumer] = [h for h in event_handlers(terms, CLOCK, FUNDER) if h.event_type is Departed]
        assert consumer.handle_batch is not None
        with pytest.raises(Refusals) as refused:
            async with factory() as session, session.begin():
                await consumer.handle_batch(session, batch)
        [(waiting, refusal)] = refused.value.refused.items()
        assert waiting == batch[1].event_id
        assert isinstance(refusal, RetryLater)
        async with factory() as session:
            loan_rows, instalment_rows, events = await _snapshot(session)
        assert [row[1] for row in loan_rows] == ["open"]
        assert (instalment_rows, events) == ([], [])
    finally:
        await engine.dispose()
