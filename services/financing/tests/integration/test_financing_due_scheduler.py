"""RepaymentDue: exactly once per instalment, with two schedulers running and across restarts."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from opentelemetry import propagate
from sqlalchemy import func, select

from jembatan_contracts import (
    EarlyReturned,
    EarlyReturnReason,
    Event,
    RepaymentDue,
    RepaymentScheduleFixed,
    Track,
)
from jembatan_financing.adapters.orm import instalments
from jembatan_financing.adapters.repository import SqlFinancingRepository
from jembatan_financing.bootstrap import MIGRATIONS
from jembatan_financing.config import FinancingSettings
from jembatan_financing.domain.commands import RecordPayment
from jembatan_financing.domain.model import add_months, event_id_for, loan_id_for
from jembatan_financing.entrypoints.scheduler import sweep_due_instalments
from jembatan_financing.service_layer.handlers import (
    fix_schedules,
    open_loans,
    pause_for_early_returns,
    record_payments,
)
from jembatan_kit.clock import AdjustableClock
from jembatan_kit.db import create_engine, create_session_factory
from jembatan_kit.messaging_tables import outbox_table
from jembatan_kit.migrations import upgrade_to_head
from jembatan_kit.runtime import ServiceRuntime
from jembatan_kit.telemetry import tracer
from jembatan_kit.testing.journeys import departed, placed

Harness = Any  # the `harness` fixture of conftest.py: a FinancingHarness


def _morning_of(day: date) -> datetime:
    return datetime.combine(day, time(1, 0), tzinfo=UTC)


async def test_two_schedulers_announce_each_due_instalment_once_and_a_restart_adds_nothing(
    harness: Harness,
) -> None:
    clock = AdjustableClock()
    first, second = await harness.start(clock), await harness.start(clock)
    departure = clock.today() + timedelta(days=10)
    # Three instalments; TITP costs over three months stay within the affordability cap.
    placement = placed(Track.TITP, contract_months=5)
    await harness.publish(placement)
    with tracer().start_as_current_span("departure recorded"):
        carrier: dict[str, str] = {}
        propagate.inject(carrier)
        await harness.publish(departed(placement, departure), headers=carrier)
    await harness.eventually(lambda: _count(harness, RepaymentScheduleFixed, 1))
    assert await _count(harness, RepaymentDue, 0, exactly=True), "nothing is due yet"

    clock.move_to(_morning_of(add_months(departure, 4)))  # instalments 1 and 2 are due
    await harness.eventually(lambda: _count(harness, RepaymentDue, 2))
    await asyncio.sleep(0.5)  # ten more scheduler rounds in each instance
    due = await harness.financing_messages(RepaymentDue)
    announced = [RepaymentDue.model_validate_json(message.data or b"") for message in due]
    assert sorted(event.instalment_number for event in announced) == [1, 2]
    assert {event.due_date for event in announced} == {
        add_months(departure, 3),
        add_months(departure, 4),
    }
    assert all((e.agency, e.journey_id) == ("kaltim", placement.journey_id) for e in announced)
    assert await _staged(first, RepaymentDue) == 2, "each instalment was staged once"

    # Staged events join the journey's own trace (its id is the journey id).
    journey_trace = placement.journey_id.hex
    for message in due:
        assert message.headers is not None
        assert message.headers["traceparent"].split("-")[1] == journey_trace

    await harness.stop(first)
    await harness.stop(second)
    restarted_clock = AdjustableClock()
    restarted_clock.move_to(clock.now())
    restarted = await harness.start(restarted_clock)
    await asyncio.sleep(0.5)
    assert await _count(harness, RepaymentDue, 2, exactly=True)
    assert await _staged(restarted, RepaymentDue) == 2

    restarted_clock.move_to(_morning_of(add_months(departure, 5)))
    await harness.eventually(lambda: _count(harness, RepaymentDue, 3))
    await asyncio.sleep(0.3)
    assert await _count(harness, RepaymentDue, 3, exactly=True)
    async with restarted.sessions() as session:
        unannounced = await session.scalar(
            select(func.count()).where(instalments.c.announced_at.is_(None))
        )
    assert unannounced == 0


async def test_concurrent_sweeps_claim_each_instalment_exactly_once(database_url: str) -> None:
    """Four sweeps on four engines, as four processes would, race over 60 due instalments."""
    await asyncio.to_thread(upgrade_to_head, MIGRATIONS, database_url)
    settings = FinancingSettings(max_instalments=3)
    terms = settings.loan_terms()
    clock = AdjustableClock()
    engines = [create_engine(database_url) for _ in range(4)]
    sessions = [create_session_factory(engine) for engine in engines]
    try:
        departure = clock.today() - timedelta(days=200)
        for _ in range(20):
            placement = placed(Track.TITP, contract_months=36)
            async with sessions[0]() as session, session.begin():
                repo = SqlFinancingRepository(session)
                await open_loans(
                    [placement],
                    repo,
                    terms=terms,
                    clock=clock,
                    default_funder=settings.default_funder,
                )
                await fix_schedules(
                    [departed(placement, departure)], repo, terms=terms, clock=clock
                )

        claimed = await asyncio.gather(
            *(sweep_due_instalments(factory, clock, batch_size=7) for factory in sessions)
        )

        assert sum(claimed) == 60
        async with sessions[0]() as session:
            staged = (
                await session.execute(
                    select(outbox_table.c.event_id).where(
                        outbox_table.c.event_type == RepaymentDue.name
                    )
                )
            ).scalars()
            instalment_ids = (await session.execute(select(instalments.c.id))).scalars()
            assert set(staged) == {event_id_for("repayment-due", i) for i in instalment_ids}
        assert await sweep_due_instalments(sessions[1], clock) == 0
    finally:
        for engine in engines:
            await engine.dispose()


async def test_an_instalment_paid_or_paused_after_the_sweep_read_it_is_not_announced(
    postgres_url: str,
) -> None:
    """The sweep reads the due instalments, then a payment of one and an early return of
    another loan commit, then the sweep claims what it read: the claiming statement itself finds
    the one paid and the other's loan no longer repaying, and announces neither. (On SQLite
    nothing comes between: one writing transaction runs at a time.)"""
    await asyncio.to_thread(upgrade_to_head, MIGRATIONS, postgres_url)
    settings = FinancingSettings()
    terms = settings.loan_terms()
    clock = AdjustableClock()
    engine = create_engine(postgres_url)
    sessions = create_session_factory(engine)
    try:
        departure = add_months(clock.today(), -3)  # the first instalment is due today
        paid, returned, untouched = (placed(Track.TITP, contract_months=36) for _ in range(3))
        async with sessions() as session, session.begin():
            repo = SqlFinancingRepository(session)
            await open_loans(
                [paid, returned, untouched],
                repo,
                terms=terms,
                clock=clock,
                default_funder=settings.default_funder,
            )
            await fix_schedules(
                [departed(p, departure) for p in (paid, returned, untouched)],
                repo,
                terms=terms,
                clock=clock,
            )

        async with sessions() as sweeping, sweeping.begin():
            sweep = SqlFinancingRepository(sweeping)
            due = await sweep.due_instalments(clock.today(), limit=10)
            assert len(due) == 3

            async with sessions() as meanwhile, meanwhile.begin():
                repo = SqlFinancingRepository(meanwhile)
                [first] = [d for d in due if d.loan_id == loan_id_for(paid.placement_id)]
                payment = RecordPayment(
                    first.loan_id, "TRF-1", clock.today(), first.amount_idr, "own_transfer"
                )
                await record_payments([payment], repo, clock)
                back = EarlyReturned(
                    agency=returned.agency,
                    journey_id=returned.journey_id,
                    placement_id=returned.placement_id,
                    candidate_id=returned.candidate_id,
                    return_date=clock.today(),
                    reason=EarlyReturnReason.EMPLOYER_FAILURE,
                    months_worked=3,
                )
                await pause_for_early_returns([back], repo, clock=clock)

            for instalment in due:
                instalment.announce(clock.now())
            await sweep.save()

        async with sessions() as session:
            staged = await session.execute(
                select(outbox_table.c.journey_id).where(
                    outbox_table.c.event_type == RepaymentDue.name
                )
            )
            assert list(staged.scalars()) == [untouched.journey_id]
    finally:
        await engine.dispose()


async def _count(
    harness: Harness, event_type: type[Event], expected: int, exactly: bool = False
) -> bool:
    found = len(await harness.financing_messages(event_type))
    return found == expected if exactly else found >= expected


async def _staged(runtime: ServiceRuntime, event_type: type[Event]) -> int:
    async with runtime.sessions() as session:
        count = await session.scalar(
            select(func.count()).where(outbox_table.c.event_type == event_type.name)
        )
    return int(count or 0)
