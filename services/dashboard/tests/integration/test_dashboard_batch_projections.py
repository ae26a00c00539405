"""The projections on SQLite and PostgreSQL: batches of events leave the same read model as their
events applied one by one (each a list of one), with duplicates in a batch, stages and scores out
of order, facts already stored by earlier batches, and events of every type in one list (as a
rebuild replays them)."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jembatan_contracts import (
    CandidateIdentityCleared,
    CandidateInterviewed,
    CandidatePlaced,
    CandidateReadyForPlacement,
    CandidateRegistered,
    CandidateWithdrawn,
    CertificatePassed,
    DailyScoreRecorded,
    Departed,
    DuplicateRegistrationFound,
    EarlyReturned,
    Event,
    LoanOpened,
    LoanRestructured,
    LoanSettled,
    LoanWrittenOff,
    PaymentRecorded,
    RepaymentDue,
    RepaymentScheduleFixed,
    ScheduleNeedsDecision,
    Track,
)
from jembatan_dashboard.adapters.orm import READ_MODEL
from jembatan_dashboard.bootstrap import MIGRATIONS
from jembatan_dashboard.service_layer.projections import project
from jembatan_kit.db import create_engine, create_session_factory
from jembatan_kit.migrations import upgrade_to_head
from jembatan_kit.testing.journeys import Journey, at

Scenario = Any  # the `kota_serang` and `funders` fixtures (../conftest.py)

Batch = list[Event]


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    await asyncio.to_thread(upgrade_to_head, MIGRATIONS, database_url)
    engine = create_engine(database_url)
    yield create_session_factory(engine)
    await engine.dispose()


def _again(event: Event, **changes: Any) -> Event:
    """The same fact told again by another event: a new id and some fields changed."""
    return event.model_copy(update={"event_id": uuid.uuid4(), **changes})


def loans_opened_and_restructured() -> list[Journey]:
    """Journeys with the events the scenario lacks: loans opened, restructured, a passed
    interview, and the national identity index's findings (one candidate found registered
    twice and cleared later, one found and not cleared)."""
    journeys = [Journey(), Journey(agency="kaltim")]
    for journey in journeys:
        journey.registered(date(2026, 1, 20)).interviewed(date(2026, 4, 1), passed=True)
        journey.events.append(
            LoanOpened(
                agency=journey.agency,
                journey_id=journey.journey_id,
                occurred_at=at(date(2026, 4, 5)),
                loan_id=journey.loan_id,
                candidate_id=journey.candidate_id,
                placement_id=journey.placement_id,
                principal_idr=12_000_000,
            )
        )
        journey.due(1, date(2026, 8, 1)).restructured(date(2026, 9, 1), date(2026, 10, 1))
        journey.events.append(
            DuplicateRegistrationFound(
                agency=journey.agency,
                journey_id=journey.journey_id,
                occurred_at=at(date(2026, 1, 21)),
                candidate_id=journey.candidate_id,
                suspended=True,
                reason="registered twice",
                found_on=date(2026, 1, 21),
            )
        )
    [cleared, _] = journeys
    cleared.events.append(
        CandidateIdentityCleared(
            agency=cleared.agency,
            journey_id=cleared.journey_id,
            occurred_at=at(date(2026, 1, 25)),
            candidate_id=cleared.candidate_id,
            cleared_on=date(2026, 1, 25),
        )
    )
    return journeys


def events_told_twice_and_differently(journeys: list[Journey]) -> list[Event]:
    """The `journeys`, each event twice, and second versions that disagree with the first: earlier
    and later stage days, another track, a day scored again, an instalment or a payment told
    again (with and without the 1.1 figures), a loan's schedule fixed, settled or closed on
    other days, a decision asked again, and candidates and loans first known from a later event,
    by two agencies or with two tracks."""
    events = [event for journey in journeys for event in journey.events]
    more: list[Event] = []
    for event in events:
        if isinstance(event, CandidateRegistered):
            more.append(_again(event, registered_on=event.registered_on + timedelta(days=1)))
        elif isinstance(event, CertificatePassed):
            more.append(_again(event, passed_on=event.passed_on - timedelta(days=3)))
            more.append(_again(event, passed_on=event.passed_on + timedelta(days=3)))
        elif isinstance(event, DailyScoreRecorded):
            later = event.occurred_at + timedelta(hours=2)
            more.append(_again(event, score=event.score - 7, occurred_at=later))
            more.append(_again(event, score=event.score + 1, occurred_at=later))  # a tie
            more.append(_again(event, score=3, occurred_at=event.occurred_at - timedelta(hours=1)))
            more.append(_again(event, day=event.day - timedelta(days=10)))
        elif isinstance(event, CandidateReadyForPlacement | CandidatePlaced):
            other = Track.SSW if event.track is Track.TITP else Track.TITP
            more.append(_again(event, occurred_at=event.occurred_at - timedelta(days=2)))
            more.append(_again(event, track=other))  # the track first given stays
            stranger = uuid.uuid4()
            more.append(_again(event, candidate_id=stranger))
            more.append(_again(event, candidate_id=stranger, track=other))
        elif isinstance(event, Departed):
            more.append(_again(event, departure_date=event.departure_date + timedelta(days=5)))
            stranger = uuid.uuid4()
            more.append(_again(event, candidate_id=stranger, agency="kaltim"))
            more.append(_again(event, candidate_id=stranger, agency="kota-serang"))
        elif isinstance(event, RepaymentDue):
            more.append(_again(event, amount_idr=event.amount_idr + 1))
            more.append(_again(event, due_date=event.due_date - timedelta(days=31)))
            more.append(_again(event, scheduled_amount_idr=event.amount_idr + 7))
            more.append(_again(event, instalment_number=9, scheduled_amount_idr=None))
        elif isinstance(event, LoanOpened):
            more.append(_again(event, loan_id=uuid.uuid4()))
            more.append(_again(event, candidate_id=uuid.uuid4(), agency="kaltim"))
        elif isinstance(event, CandidateWithdrawn):
            more.append(_again(event, withdrawn_on=event.withdrawn_on - timedelta(days=4)))
        elif isinstance(event, EarlyReturned):
            more.append(_again(event, return_date=event.return_date + timedelta(days=4)))
        elif isinstance(event, CandidateInterviewed):
            more.append(_again(event, passed=not event.passed))
        elif isinstance(event, PaymentRecorded):
            more.append(_again(event, payment_id=event.payment_id, amount_idr=1))
            more.append(_again(event, paid_on=event.paid_on - timedelta(days=9)))
            more.append(_again(event, payment_id=uuid.uuid4(), allocations=None))
        elif isinstance(event, LoanSettled):
            for days in (2, -2, 5, -1, 3, -4):
                more.append(_again(event, settled_on=event.settled_on + timedelta(days=days)))
            more.append(_again(event, loan_id=uuid.uuid4(), candidate_id=uuid.uuid4()))
        elif isinstance(event, LoanRestructured):
            more.append(_again(event, first_due_date=event.first_due_date + timedelta(days=30)))
            more.append(_again(event, loan_id=uuid.uuid4()))
        elif isinstance(event, RepaymentScheduleFixed):
            for days in (3, -3, 1):
                more.append(_again(event, occurred_at=event.occurred_at + timedelta(days=days)))
        elif isinstance(event, ScheduleNeedsDecision):
            more.append(_again(event, owed_idr=1, shortfall_idr=1))  # the loan's first stays
            more.append(_again(event, loan_id=uuid.uuid4(), agency="kaltim"))
        elif isinstance(event, LoanWrittenOff):
            for days in (2, -2):
                more.append(
                    _again(event, written_off_on=event.written_off_on + timedelta(days=days))
                )
    told = events + more
    return told + told  # every event twice, as redelivery does


def batches(events: list[Event], seed: int, size: int) -> list[Batch]:
    """Batches as the consumers fetch them: each of one event type, in a shuffled arrival."""
    pending: dict[type[Event], Batch] = {}
    made: list[Batch] = []
    for event in random.Random(seed).sample(events, len(events)):
        batch = pending.setdefault(type(event), [])
        batch.append(event)
        if len(batch) == size:
            made.append(pending.pop(type(event)))
    return made + list(pending.values())


async def one_by_one(sessions: async_sessionmaker[AsyncSession], batch: Batch) -> None:
    async with sessions() as session, session.begin():
        for event in batch:
            await project(session, [event])


async def together(sessions: async_sessionmaker[AsyncSession], batch: Batch) -> None:
    async with sessions() as session, session.begin():
        await project(session, batch)


async def read_model(sessions: async_sessionmaker[AsyncSession]) -> dict[str, list[str]]:
    async with sessions() as session:
        return {
            table.name: sorted(repr(tuple(row)) for row in await session.execute(select(table)))
            for table in READ_MODEL
        }


async def empty(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session, session.begin():
        for table in READ_MODEL:
            await session.execute(delete(table))


@pytest.mark.parametrize(("seed", "size"), [(1, 5), (2, 17), (3, 10_000), (4, None)])
async def test_a_batch_leaves_the_read_model_its_events_one_by_one_leave(
    sessions: async_sessionmaker[AsyncSession],
    kota_serang: Scenario,
    funders: Scenario,
    seed: int,
    size: int | None,
) -> None:
    """`size` None: every event, of every type, in one list."""
    scenarios = kota_serang.journeys + loans_opened_and_restructured() + funders.journeys
    told = events_told_twice_and_differently(scenarios)
    if size is None:
        arrival = [random.Random(seed).sample(told, len(told))]
        assert len({type(event) for event in arrival[0]}) == 19
    else:
        arrival = batches(told, seed, size)
    if size is None or size > len(arrival[0]):  # each event type in one batch, each event twice
        assert all(len({event.event_id for event in batch}) < len(batch) for batch in arrival)

    for batch in arrival:
        await one_by_one(sessions, batch)
    expected = await read_model(sessions)
    assert all(expected.values())

    await empty(sessions)
    for batch in arrival:
        await together(sessions, batch)
    assert await read_model(sessions) == expected
