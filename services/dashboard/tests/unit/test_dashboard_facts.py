"""What events tell the read model, with no database and no bus: the facts a list of events
gives (`facts_of`), merged as the read model merges them with what it has stored."""

from __future__ import annotations

import itertools
import random
import uuid
from datetime import date, timedelta
from typing import Any

import pytest

from jembatan_contracts import (
    CandidatePlaced,
    CandidateReadyForPlacement,
    CandidateRegistered,
    DailyScoreRecorded,
    EarlyReturnReason,
    Event,
    LoanSettled,
    LoanWrittenOff,
    PaymentRecorded,
    RepaymentDue,
    RepaymentScheduleFixed,
    ScheduleNeedsDecision,
    Track,
    WithdrawalReason,
    WriteOffReason,
)
from jembatan_dashboard.domain.arrears import Announced, ArrearsBucket, Paid, arrears_of_loan
from jembatan_dashboard.domain.facts import DecisionNeeded, DropOut, Facts, LoanFacts, WriteOff
from jembatan_dashboard.domain.stages import DropOutKind
from jembatan_dashboard.service_layer.projections import PROJECTIONS, facts_of
from jembatan_kit.testing.journeys import Journey, at

Scenario = Any  # the `kota_serang` and `funders` fixtures (../conftest.py)

K = uuid.UUID(int=7)


def again(event: Event, **changes: object) -> Event:
    """The same fact told again by another event: a new id and some fields changed."""
    return event.model_copy(update={"event_id": uuid.uuid4(), **changes})


@pytest.fixture
def scenario(kota_serang: Scenario, funders: Scenario) -> list[Event]:
    return kota_serang.events() + funders.events()


def test_every_event_the_dashboard_follows_tells_something(scenario: list[Event]) -> None:
    assert len(PROJECTIONS) == 19
    assert len({durable for durable, _ in PROJECTIONS.values()}) == 19
    told = {type(event) for event in scenario}
    assert told <= set(PROJECTIONS)
    assert {LoanWrittenOff, ScheduleNeedsDecision, RepaymentScheduleFixed} <= told


def test_a_journey_tells_the_first_day_of_each_stage() -> None:
    d = date
    journey = (
        Journey()
        .registered(d(2026, 1, 10))
        .scored(K, "Kelas A", d(2026, 2, 1), 60)
        .certified(d(2026, 3, 1))
        .ready(d(2026, 3, 2))
        .placed(d(2026, 4, 1))
        .departed(d(2026, 5, 15))
        .due(1, d(2026, 8, 15))
        .paid(d(2026, 8, 10), 12_000_000, [1], 0)
        .settled(d(2026, 8, 10), 12_000_000)
    )
    facts = facts_of(journey.events)
    candidate = facts.candidates[journey.candidate_id]
    assert (candidate.agency, candidate.track) == ("kota-serang", "TITP")
    assert candidate.days == {
        "registered_on": d(2026, 1, 10),
        "in_training_on": d(2026, 2, 1),  # the first score, before the certificate
        "certified_on": d(2026, 3, 1),
        "ready_on": d(2026, 3, 2),
        "placed_on": d(2026, 4, 1),
        "departed_on": d(2026, 5, 15),
        "repaying_on": d(2026, 8, 10),  # paid before the first instalment fell due
        "settled_on": d(2026, 8, 10),
    }
    assert facts.loans == {
        journey.loan_id: LoanFacts(journey.candidate_id, "kota-serang", d(2026, 8, 10))
    }
    assert list(facts.instalments_due) == [(journey.loan_id, 1)]
    assert [p.instalment_numbers for p in facts.payments.values()] == [(1,)]
    assert facts.drop_outs == {}


def test_the_earliest_day_told_wins_and_the_first_agency_and_track_stay() -> None:
    journey = Journey().registered(date(2026, 1, 10)).ready(date(2026, 3, 2))
    registered, ready = journey.events
    assert isinstance(registered, CandidateRegistered)
    assert isinstance(ready, CandidateReadyForPlacement)
    events = [
        registered,
        again(registered, registered_on=date(2026, 1, 12), agency="kaltim"),
        again(registered, registered_on=date(2026, 1, 8), track=Track.SSW),
        ready,
        again(ready, occurred_at=at(date(2026, 2, 27))),
        again(ready, track=Track.SSW),
    ]
    candidate = facts_of(events).candidates[journey.candidate_id]
    assert (candidate.agency, candidate.track) == ("kota-serang", "TITP")
    assert candidate.days == {"registered_on": date(2026, 1, 8), "ready_on": date(2026, 2, 27)}


def test_a_track_first_told_later_fills_an_unknown_one() -> None:
    journey = Journey(track=Track.SSW).departed(date(2026, 6, 1)).placed(date(2026, 4, 1))
    candidate = facts_of(journey.events).candidates[journey.candidate_id]
    assert candidate.track == "SSW"
    assert candidate.days == {"departed_on": date(2026, 6, 1), "placed_on": date(2026, 4, 1)}


def test_a_day_scored_again_keeps_the_later_recording_and_on_a_tie_the_first() -> None:
    journey = Journey().scored(K, "Kelas A", date(2026, 2, 1), 60)
    [first] = journey.events
    assert isinstance(first, DailyScoreRecorded)
    later = first.occurred_at + timedelta(hours=2)
    events = [
        first,
        again(first, score=75, occurred_at=later),
        again(first, score=99, occurred_at=later),  # a tie with the one before: not taken
        again(first, score=10, occurred_at=first.occurred_at - timedelta(hours=1)),
    ]
    for order in (events, events[::-1][1:] + events[:1]):
        facts = facts_of(order)
        [(key, score)] = facts.scores.items()
        assert key == (journey.candidate_id, date(2026, 2, 1))
        assert score.recorded_at == later
    assert facts_of(events).scores[key].score == 75
    assert facts_of([events[2], events[1]]).scores[key].score == 99


def test_a_passed_interview_tells_nothing_and_a_failed_one_a_drop_out_at_ready() -> None:
    passed = Journey().interviewed(date(2026, 4, 20), passed=True)
    assert facts_of(passed.events) == Facts()
    failed = Journey().interviewed(date(2026, 4, 20), passed=False)
    facts = facts_of(failed.events + failed.events)  # redelivered
    assert list(facts.drop_outs.values()) == [
        DropOut(
            failed.candidate_id,
            "kota-serang",
            DropOutKind.INTERVIEW_FAILED,
            "not_passed",
            date(2026, 4, 20),
        )
    ]
    assert facts.candidates[failed.candidate_id].days == {}


def test_withdrawals_and_early_returns_are_drop_outs_each_told_once_by_its_event() -> None:
    journey = (
        Journey()
        .withdrew(date(2026, 3, 10), WithdrawalReason.PERSONAL)
        .returned_early(date(2026, 10, 1), EarlyReturnReason.HEALTH)
    )
    withdrawn, returned = journey.events
    facts = facts_of([withdrawn, returned, again(withdrawn, withdrawn_on=date(2026, 3, 8))])
    assert [(d.kind, d.reason, d.day) for d in facts.drop_outs.values()] == [
        (DropOutKind.WITHDRAWN, "personal", date(2026, 3, 10)),
        (DropOutKind.EARLY_RETURN, "health", date(2026, 10, 1)),
        (DropOutKind.WITHDRAWN, "personal", date(2026, 3, 8)),
    ]
    assert facts.candidates[journey.candidate_id].days == {
        "withdrawn_on": date(2026, 3, 8),
        "returned_on": date(2026, 10, 1),
    }


def test_a_loan_keeps_its_first_candidate_and_its_earliest_settlement() -> None:
    journey = Journey().settled(date(2026, 7, 1), 12_000_000).paid(date(2026, 6, 1), 5, [1], 0)
    settled, paid = journey.events
    assert isinstance(settled, LoanSettled)
    assert isinstance(paid, PaymentRecorded)
    stranger = uuid.uuid4()
    events = [
        again(paid, candidate_id=stranger, amount_idr=1),  # same payment id: the first stays
        settled,
        again(settled, settled_on=date(2026, 6, 28)),
        again(settled, settled_on=date(2026, 7, 3)),
        paid,
    ]
    facts = facts_of(events)
    assert facts.loans == {journey.loan_id: LoanFacts(stranger, "kota-serang", date(2026, 6, 28))}
    assert [p.amount_idr for p in facts.payments.values()] == [1]
    assert facts.candidates[journey.candidate_id].days == {
        "settled_on": date(2026, 6, 28),
        "repaying_on": date(2026, 6, 1),
    }


def test_an_instalment_and_a_restructuring_told_again_keep_what_was_first_told() -> None:
    journey = (
        Journey()
        .due(1, date(2026, 8, 1), amount=1_000)
        .due(1, date(2026, 8, 1), amount=2_000)
        .restructured(date(2026, 9, 1), date(2026, 10, 1))
    )
    first, _, restructured = journey.events
    facts = facts_of([*journey.events, restructured])
    assert [due.amount_idr for due in facts.instalments_due.values()] == [1_000]
    assert list(facts.restructurings) == [restructured.event_id]
    assert facts_of([first]).candidates == facts_of(journey.events[:2]).candidates


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_any_order_and_redelivery_tell_the_same_facts(seed: int, scenario: list[Event]) -> None:
    events = scenario
    shuffled = random.Random(seed).sample(events, len(events))
    assert facts_of(shuffled + events) == facts_of(events)
    assert facts_of([]) == Facts()


def test_a_day_the_read_model_does_not_keep_is_refused() -> None:
    with pytest.raises(ValueError, match="no day 'hired_on'"):
        Facts().candidate(uuid.uuid4(), "kaltim", hired_on=date(2026, 1, 1))


def test_a_placement_without_a_signing_day_is_placed_on_the_day_it_was_told() -> None:
    journey = Journey().placed(date(2026, 4, 1))
    placed = journey.events[0]
    assert isinstance(placed, CandidatePlaced)
    unsigned = again(placed, contract_signed_on=None, occurred_at=at(date(2026, 4, 3)))
    days = facts_of([unsigned]).candidates[journey.candidate_id].days
    assert days == {"placed_on": date(2026, 4, 3)}


def arrears_told(facts: Facts, loan_id: uuid.UUID, today: date) -> tuple[int, ArrearsBucket]:
    """The arrears of a loan on `today` from its facts alone (as queries.py reads them back)."""
    announced = [
        Announced(number, due.due_date, due.amount_idr, due.scheduled_amount_idr)
        for (loan, number), due in facts.instalments_due.items()
        if loan == loan_id
    ]
    paid = [
        Paid(p.amount_idr, p.instalment_numbers, p.paid_on, p.allocations)
        for p in facts.payments.values()
        if p.loan_id == loan_id
    ]
    arrears = arrears_of_loan(announced, paid, [], today)
    return arrears.amount_idr, arrears.bucket


def test_a_part_paid_on_the_due_day_before_the_announcement_is_owed_in_any_order(
    part_paid_before_it_was_announced: Journey, today: date
) -> None:
    """Financing 1.1 names the scheduled amount and what each payment paid of each instalment,
    so the Rp600,000 left of the first instalment is owed however the payment and the
    announcements arrive."""
    journey = part_paid_before_it_was_announced
    loan_events = [e for e in journey.events if isinstance(e, RepaymentDue | PaymentRecorded)]
    assert len(loan_events) == 3
    for order in itertools.permutations(loan_events):
        facts = facts_of(list(order))
        owed = arrears_told(facts, journey.loan_id, today)
        assert owed == (1_600_000, ArrearsBucket.DAYS_OVER_90)


def test_1_1_events_tell_the_scheduled_amount_and_allocations_and_1_0_events_none() -> None:
    d = date(2026, 8, 3)
    told_1_1 = (
        Journey()
        .due(1, d, 600_000, scheduled=1_000_000)
        .paid(d, 1_400_000, [1, 2], 0, allocations={1: 1_000_000, 2: 400_000})
    )
    facts = facts_of(told_1_1.events)
    [due] = facts.instalments_due.values()
    [payment] = facts.payments.values()
    assert (due.amount_idr, due.scheduled_amount_idr) == (600_000, 1_000_000)
    assert payment.allocations == ((1, 1_000_000), (2, 400_000))

    told_1_0 = Journey().due(1, d, 600_000).paid(d, 400_000, [1], 0)
    facts = facts_of(told_1_0.events)
    assert [due.scheduled_amount_idr for due in facts.instalments_due.values()] == [None]
    assert [p.allocations for p in facts.payments.values()] == [None]


def test_write_offs_decisions_and_fixed_schedules_are_told_once_each() -> None:
    d = date
    journey = (
        Journey(agency="boyolali")
        .needs_decision(d(2026, 5, 1), owed=12_000_000, shortfall=3_000_000)
        .written_off(d(2026, 6, 1), 3_000_000, WriteOffReason.UNAFFORDABLE_SCHEDULE, 9_000_000)
        .schedule_fixed(d(2026, 6, 1), d(2026, 8, 1))
    )
    decision, written_off, fixed = journey.events
    events = [
        fixed,
        again(fixed, occurred_at=at(d(2026, 6, 3))),
        again(fixed, occurred_at=at(d(2026, 5, 30))),  # the earliest day told wins
        written_off,
        written_off,  # redelivered: one write-off
        decision,
        again(decision, owed_idr=1),  # the same loan told again: the first stays
    ]
    facts = facts_of(events)
    assert facts.loans == {
        journey.loan_id: LoanFacts(
            journey.candidate_id, "boyolali", schedule_fixed_on=d(2026, 5, 30)
        )
    }
    assert facts.write_offs == {
        written_off.event_id: WriteOff(
            journey.loan_id, "unaffordable_schedule", 3_000_000, d(2026, 6, 1)
        )
    }
    assert facts.decisions_needed == {
        journey.loan_id: DecisionNeeded(
            "instalment_above_affordability_cap",
            d(2026, 5, 1),
            12_000_000,
            3_000_000,
            at(d(2026, 5, 1), 14),
        )
    }
    assert facts.candidates[journey.candidate_id].days == {}  # no stage of the funnel


def test_a_write_off_for_a_candidate_who_never_departed_closes_the_loan() -> None:
    journey = Journey().written_off(date(2026, 6, 10), 12_000_000, WriteOffReason.NEVER_DEPARTED)
    [closing] = journey.events
    facts = facts_of([closing, again(closing, written_off_on=date(2026, 6, 12))])
    assert facts.loans[journey.loan_id].closed_on == date(2026, 6, 10)
    assert len(facts.write_offs) == 2  # two write-offs told: both count
    with pytest.raises(ValueError, match="no loan day 'paused_on'"):
        Facts().loan(journey.loan_id, journey.candidate_id, "kaltim", paused_on=date(2026, 1, 1))
