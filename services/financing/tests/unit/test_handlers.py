"""Every financing handler against the in-memory repository and a clock that stands still
(conftest.py): the rules of each use case, the events it records, and the same refusals whether
an item comes alone or in a list. No database, no NATS."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from jembatan_contracts import (
    CandidatePlaced,
    CandidateWithdrawn,
    Departed,
    EarlyReturned,
    EarlyReturnReason,
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
    WithdrawalReason,
)
from jembatan_financing.adapters.repository import FinancingRepository
from jembatan_financing.domain.commands import (
    AddCostItem,
    CreateFunder,
    GrantSubsidy,
    RecordPayment,
    RemoveCostItem,
    Restructure,
    ScheduleWithinContract,
    WriteOff,
)
from jembatan_financing.domain.costs import CostItem
from jembatan_financing.domain.loan import Funder, Loan
from jembatan_financing.domain.model import (
    LoanStatus,
    LoanTerms,
    add_months,
    event_id_for,
    funder_id_for,
    instalment_id_for,
    loan_id_for,
    payment_id_for,
)
from jembatan_financing.domain.terms import WithdrawalBeforeDeparture
from jembatan_financing.entrypoints.consumers import raise_refusals
from jembatan_financing.service_layer import handlers
from jembatan_financing.service_layer.handlers import RecordedPayment, Refused
from jembatan_kit.consumer import Refusals, RetryLater, Unprocessable

if TYPE_CHECKING:

    class Fake(FinancingRepository):
        """What the tests read of the `repo` fixture (conftest.FakeRepository)."""

        loans: dict[uuid.UUID, Loan]
        funders: dict[uuid.UUID, Funder]
        outbox: list[Event]
        saves: int

        def staged(self, event_type: type[Event]) -> list[Any]: ...

        def announce_meanwhile(self, instalment_ids: set[uuid.UUID]) -> None: ...

else:
    Fake = Any

Clock = Any  # the `clock` fixture (conftest.FixedClock): 2026-11-02

TERMS = LoanTerms()  # the shipped dated terms: SSW costs Rp30,000,000, TITP Rp12,500,000
FUNDER = "Dana Talangan Kemnaker"
DEPARTURE = date(2026, 7, 1)  # instalments due from 2026-10-01: two are due on the clock's day


def placed(track: Track = Track.SSW, contract_months: int = 12, **fields: Any) -> CandidatePlaced:
    values: dict[str, Any] = {
        "agency": "kaltim",
        "journey_id": uuid.uuid4(),
        "placement_id": uuid.uuid4(),
        "candidate_id": uuid.uuid4(),
        "job_order_id": uuid.uuid4(),
        "track": track,
        "sector": "caregiver",
        "supervising_organisation": "JOE Cooperative",
        "monthly_wage_jpy": 220_000,
        "contract_months": contract_months,
    }
    return CandidatePlaced(**{**values, **fields})


def departed(
    placement: CandidatePlaced, departure_date: date = DEPARTURE, **fields: Any
) -> Departed:
    values: dict[str, Any] = {
        "agency": placement.agency,
        "journey_id": placement.journey_id,
        "placement_id": placement.placement_id,
        "candidate_id": placement.candidate_id,
        "departure_date": departure_date,
        "monthly_wage_jpy": placement.monthly_wage_jpy,
        "contract_months": placement.contract_months,
    }
    return Departed(**{**values, **fields})


def returned(placement: CandidatePlaced, return_date: date, **fields: Any) -> EarlyReturned:
    values: dict[str, Any] = {
        "agency": placement.agency,
        "journey_id": placement.journey_id,
        "placement_id": placement.placement_id,
        "candidate_id": placement.candidate_id,
        "return_date": return_date,
        "reason": EarlyReturnReason.EMPLOYER_FAILURE,
        "months_worked": 2,
    }
    return EarlyReturned(**{**values, **fields})


async def open_loans(repo: Fake, clock: Clock, *placements: CandidatePlaced) -> list[Any]:
    return await handlers.open_loans(
        placements, repo, terms=TERMS, clock=clock, default_funder=FUNDER
    )


async def fix(repo: Fake, clock: Clock, *departures: Departed) -> list[Any]:
    return await handlers.fix_schedules(departures, repo, terms=TERMS, clock=clock)


async def repaying(repo: Fake, clock: Clock, placement: CandidatePlaced | None = None) -> Loan:
    """A loan whose schedule was fixed by a departure on DEPARTURE."""
    placement = placement or placed()
    await open_loans(repo, clock, placement)
    [loan_id] = await fix(repo, clock, departed(placement))
    return repo.loans[loan_id]


async def pay(repo: Fake, clock: Clock, loan_id: uuid.UUID, reference: str, amount: int) -> Any:
    command = RecordPayment(loan_id, reference, date(2026, 10, 5), amount, "own_transfer")
    [outcome] = await handlers.record_payments([command], repo, clock)
    return outcome


def rule_of(outcome: Any) -> str:
    assert isinstance(outcome, Refused), outcome
    return outcome.refusal.rule


# --- opening loans (CandidatePlaced) -------------------------------------------------------------


def refused_by(events: Sequence[Event], outcomes: Sequence[Any]) -> dict[uuid.UUID, Exception]:
    """What the consumer is told of a batch's refused events (`Refusals`), by event id."""
    try:
        raise_refusals(events, outcomes)
    except Refusals as refusals:
        return dict(refusals.refused)
    return {}


async def test_a_placement_opens_its_loan_with_the_tracks_itemised_costs(
    repo: Fake, clock: Clock
) -> None:
    placement = placed(Track.SSW, contract_signed_on=date(2026, 9, 1))
    [loan_id] = await open_loans(repo, clock, placement)

    loan = repo.loans[loan_id]
    assert loan_id == loan_id_for(placement.placement_id)
    assert (loan.status, loan.principal_idr, loan.agency) == (LoanStatus.OPEN, 30_000_000, "kaltim")
    assert loan.cost_lines is not None
    assert [line.item.code for line in loan.cost_lines][:2] == ["training", "tests"]
    assert {line.charged_on for line in loan.cost_lines} == {date(2026, 9, 1)}
    assert loan.funder_id == funder_id_for(FUNDER) and funder_id_for(FUNDER) in repo.funders
    [opened] = repo.staged(LoanOpened)
    assert (opened.loan_id, opened.principal_idr, opened.journey_id) == (
        loan_id,
        30_000_000,
        placement.journey_id,
    )


async def test_a_placement_announced_again_opens_no_second_loan(repo: Fake, clock: Clock) -> None:
    placement, other = placed(), placed(Track.TITP)
    again = placement.model_copy(update={"event_id": uuid.uuid4()})
    first = await open_loans(repo, clock, placement, again, other)
    later = await open_loans(repo, clock, again)

    assert first[0] == first[1] == later[0]
    assert len(repo.loans) == 2
    assert len(repo.staged(LoanOpened)) == 2
    assert len(repo.funders) == 1


async def test_a_track_without_default_costs_is_refused_alone(repo: Fake, clock: Clock) -> None:
    terms = LoanTerms(default_costs={Track.TITP: (CostItem("flight", "Flight", 5_500_000),)})
    ssw, titp = placed(Track.SSW), placed(Track.TITP)
    outcomes = await handlers.open_loans(
        [ssw, titp], repo, terms=terms, clock=clock, default_funder=FUNDER
    )

    assert rule_of(outcomes[0]) == "no_default_costs"
    assert outcomes[1] == loan_id_for(titp.placement_id)
    refused = refused_by([ssw, titp], outcomes)
    assert list(refused) == [ssw.event_id]
    assert isinstance(refused[ssw.event_id], Unprocessable)
    assert "no_default_costs" in str(refused[ssw.event_id])


# --- fixing the schedule (Departed) ---------------------------------------------------------------


async def test_a_departure_fixes_the_schedule_from_the_third_month(
    repo: Fake, clock: Clock
) -> None:
    placement = placed(Track.SSW, contract_months=12)
    loan = await repaying(repo, clock, placement)

    assert loan.status == LoanStatus.REPAYING
    assert (loan.departure_date, loan.schedule_fixed_at) == (DEPARTURE, clock.now())
    assert [i.amount_idr for i in loan.instalments] == [3_000_000] * 10
    assert loan.instalments[0].due_date == add_months(DEPARTURE, 3)
    [fixed] = repo.staged(RepaymentScheduleFixed)
    assert (fixed.first_due_date, fixed.instalments, fixed.principal_idr) == (
        date(2026, 10, 1),
        10,
        30_000_000,
    )
    assert fixed.event_id == event_id_for("schedule-fixed", loan.id)


async def test_subsidies_reduce_what_the_schedule_repays(repo: Fake, clock: Clock) -> None:
    placement = placed(Track.SSW)
    [loan_id] = await open_loans(repo, clock, placement)
    grant = GrantSubsidy(loan_id, "JOE Cooperative", "LPK advanced training", 2_000_000)
    await handlers.grant_subsidies([grant], repo, clock)
    await fix(repo, clock, departed(placement))

    [fixed] = repo.staged(RepaymentScheduleFixed)
    assert fixed.principal_idr == 28_000_000
    assert sum(i.amount_idr for i in repo.loans[loan_id].instalments) == 28_000_000


async def test_a_departure_before_its_loan_waits(repo: Fake, clock: Clock) -> None:
    placement = placed()
    departure = departed(placement)
    [outcome] = await fix(repo, clock, departure)

    assert rule_of(outcome) == "no_loan_yet"
    [waiting] = refused_by([departure], [outcome]).values()
    assert isinstance(waiting, RetryLater)
    assert str(waiting) == (
        f"placement {placement.placement_id} has no loan yet (CandidatePlaced first)"
    )


async def test_a_departure_naming_another_journey_is_refused_as_forged(
    repo: Fake, clock: Clock
) -> None:
    placement = placed()
    await open_loans(repo, clock, placement)
    forged = departed(placement, agency="kota-serang")
    [outcome] = await fix(repo, clock, forged)

    assert rule_of(outcome) == "journey_mismatch"
    [refused] = refused_by([forged], [outcome]).values()
    assert isinstance(refused, Unprocessable)
    assert str(refused) == (
        f"journey_mismatch: Departed of placement {placement.placement_id} names agency"
        " kota-serang but its loan (opened on CandidatePlaced) has agency kaltim; a forged or"
        " broken event, not handled"
    )
    assert repo.loans[loan_id_for(placement.placement_id)].status == LoanStatus.OPEN


async def test_a_schedule_fixed_once_is_left_alone(repo: Fake, clock: Clock) -> None:
    placement = placed()
    await open_loans(repo, clock, placement)
    again = departed(placement, date(2026, 8, 1))
    outcomes = await fix(repo, clock, departed(placement), again)
    later = await fix(repo, clock, again)

    assert outcomes[0] == outcomes[1] == later[0]
    assert len(repo.staged(RepaymentScheduleFixed)) == 1
    assert repo.loans[outcomes[0]].departure_date == DEPARTURE


async def test_an_unaffordable_departure_waits_for_a_decision_and_is_no_dead_letter(
    repo: Fake, clock: Clock
) -> None:
    """JPY20,000 a month allows instalments of Rp537,500 (25% at Rp107.50); Rp30,000,000 over
    the ten months from month 3 to the end of a 12-month contract asks Rp3,000,000 a month."""
    placement = placed(Track.SSW, 12, monthly_wage_jpy=20_000)
    await open_loans(repo, clock, placement)
    departure = departed(placement)
    outcomes = await fix(repo, clock, departure)

    loan = repo.loans[loan_id_for(placement.placement_id)]
    assert outcomes == [loan.id]
    assert refused_by([departure], outcomes) == {}  # nothing to redeliver or dead-letter
    assert (loan.status, loan.departure_date, loan.instalments) == (
        LoanStatus.NEEDS_DECISION,
        DEPARTURE,
        [],
    )
    assert repo.staged(RepaymentScheduleFixed) == []
    [waiting] = repo.staged(ScheduleNeedsDecision)
    assert waiting.reason == "instalment_above_affordability_cap"
    assert (
        waiting.owed_idr,
        waiting.instalment_cap_idr,
        waiting.instalments_within_contract,
        waiting.smallest_instalment_idr,
        waiting.shortfall_idr,
    ) == (30_000_000, 537_500, 10, 3_000_000, 24_625_000)
    assert waiting.event_id == event_id_for("schedule-needs-decision", loan.id)

    again = await fix(repo, clock, departed(placement))
    assert again == [loan.id] and len(repo.staged(ScheduleNeedsDecision)) == 1
    [frozen] = await handlers.add_cost_items(
        [AddCostItem(loan.id, CostItem("insurance", "Insurance", 100_000))],
        repo,
        terms=TERMS,
        clock=clock,
    )
    assert rule_of(frozen) == "costs_frozen"
    [early] = await handlers.record_payments(
        [RecordPayment(loan.id, "T1", clock.today(), 1, "own_transfer")], repo, clock
    )
    assert rule_of(early) == "no_schedule_yet"


async def waiting_for_a_decision(repo: Fake, clock: Clock, **fields: Any) -> Loan:
    """A SSW loan of Rp30,000,000 whose wage of JPY20,000 allows instalments of Rp537,500."""
    placement = placed(Track.SSW, 12, monthly_wage_jpy=20_000, **fields)
    await open_loans(repo, clock, placement)
    # Departed this morning: the first instalment may fall due in three months.
    await fix(repo, clock, departed(placement, clock.today()))
    return repo.loans[loan_id_for(placement.placement_id)]


async def test_a_write_off_of_the_shortfall_lets_a_schedule_within_the_contract_fit(
    repo: Fake, clock: Clock
) -> None:
    loan = await waiting_for_a_decision(repo, clock)
    too_long = ScheduleWithinContract(loan.id, None, 11)
    unaffordable = ScheduleWithinContract(loan.id)
    refused = await handlers.schedule_within_contracts(
        [too_long, unaffordable], repo, terms=TERMS, clock=clock
    )
    assert [rule_of(o) for o in refused] == [
        "schedule_beyond_contract",
        "instalment_above_affordability_cap",
    ]

    [write_off_id] = await handlers.write_off_loans(
        [WriteOff(loan.id)], repo, terms=TERMS, clock=clock
    )
    [written_off] = repo.staged(LoanWrittenOff)
    assert (written_off.written_off_idr, written_off.balance_idr, written_off.reason) == (
        24_625_000,
        5_375_000,
        "unaffordable_schedule",
    )
    assert written_off.event_id == event_id_for("loan-written-off", write_off_id)
    [scheduled] = await handlers.schedule_within_contracts(
        [ScheduleWithinContract(loan.id)], repo, terms=TERMS, clock=clock
    )

    stored = repo.loans[loan.id]
    assert scheduled == loan.id and stored.status == LoanStatus.REPAYING
    assert [i.amount_idr for i in stored.instalments] == [537_500] * 10
    assert stored.instalments[0].due_date == add_months(clock.today(), 3)
    assert stored.instalments[-1].due_date == add_months(clock.today(), 12)
    assert (stored.written_off_idr, stored.balance_idr) == (24_625_000, 5_375_000)
    [fixed] = repo.staged(RepaymentScheduleFixed)
    assert (fixed.instalments, fixed.principal_idr) == (10, 5_375_000)
    [again] = await handlers.write_off_loans([WriteOff(loan.id)], repo, terms=TERMS, clock=clock)
    assert rule_of(again) == "no_decision_pending"


async def test_no_schedule_is_chosen_beyond_the_contracts_end(repo: Fake, clock: Clock) -> None:
    loan = await waiting_for_a_decision(repo, clock)
    await handlers.write_off_loans([WriteOff(loan.id)], repo, terms=TERMS, clock=clock)
    later = type(clock)(clock.now() + timedelta(days=400))  # the 12-month contract has ended
    outcomes = await handlers.schedule_within_contracts(
        [ScheduleWithinContract(loan.id), ScheduleWithinContract(loan.id, None, 1)],
        repo,
        terms=TERMS,
        clock=later,
    )

    assert [rule_of(o) for o in outcomes] == ["schedule_beyond_contract"] * 2
    assert repo.loans[loan.id].status == LoanStatus.NEEDS_DECISION


async def test_a_subsidy_is_a_way_out_and_one_that_leaves_nothing_owed_settles(
    repo: Fake, clock: Clock
) -> None:
    loan = await waiting_for_a_decision(repo, clock)
    grants = [
        GrantSubsidy(loan.id, "JOE Cooperative", "Education subsidy", 24_625_000),
        GrantSubsidy(loan.id, "Kemnaker", "BLK training", 6_000_000),
    ]
    outcomes = await handlers.grant_subsidies(grants, repo, clock)
    [not_needed] = await handlers.write_off_loans(
        [WriteOff(loan.id)], repo, terms=TERMS, clock=clock
    )
    assert isinstance(outcomes[0], uuid.UUID)
    assert rule_of(outcomes[1]) == "subsidy_exceeds_charges"
    assert rule_of(not_needed) == "write_off_not_needed"

    [rest] = await handlers.write_off_loans(
        [WriteOff(loan.id, 5_375_000)], repo, terms=TERMS, clock=clock
    )
    assert isinstance(rest, uuid.UUID)
    settled = repo.loans[loan.id]
    assert (settled.status, settled.balance_idr) == (LoanStatus.SETTLED, 0)
    [event] = repo.staged(LoanSettled)
    assert (event.paid_idr, event.refund_due_idr) == (0, 0)


async def test_a_departure_with_nothing_owed_settles_the_loan(repo: Fake, clock: Clock) -> None:
    placement = placed(Track.TITP, 36)
    [loan_id] = await open_loans(repo, clock, placement)
    await handlers.grant_subsidies(
        [GrantSubsidy(loan_id, "Kemnaker", "Everything", 12_500_000)], repo, clock
    )
    outcomes = await fix(repo, clock, departed(placement))

    assert outcomes == [loan_id]
    assert repo.loans[loan_id].status == LoanStatus.SETTLED
    [settled] = repo.staged(LoanSettled)
    assert settled.settled_on == DEPARTURE


async def test_departures_in_one_list_fix_what_they_fix_one_by_one(
    new_repo: Callable[[], Fake], clock: Clock
) -> None:
    placements = [placed(Track.SSW), placed(Track.TITP, 36), placed(monthly_wage_jpy=20_000)]
    events = [departed(p) for p in placements] + [departed(placed())]
    answers = []
    for batches in ([events], [[event] for event in events]):
        repo = new_repo()
        await open_loans(repo, clock, *placements)
        outcomes = [outcome for batch in batches for outcome in await fix(repo, clock, *batch)]
        answers.append(
            (
                [rule_of(o) if isinstance(o, Refused) else o for o in outcomes],
                sorted((e.loan_id, e.instalments) for e in repo.staged(RepaymentScheduleFixed)),
            )
        )
    together, alone = answers
    assert together == alone
    assert together[0][2] == loan_id_for(placements[2].placement_id)  # waits for a decision
    assert together[0][3] == "no_loan_yet"


# --- early return (EarlyReturned) -----------------------------------------------------------------


async def test_an_early_return_pauses_the_loan_and_opens_a_restructuring(
    repo: Fake, clock: Clock
) -> None:
    placement = placed()
    loan = await repaying(repo, clock, placement)
    back = date(2026, 9, 15)
    outcomes = await handlers.pause_for_early_returns(
        [returned(placement, back), returned(placement, back)], repo, clock=clock
    )

    paused = repo.loans[loan.id]
    assert outcomes == [loan.id, loan.id]
    assert (paused.status, paused.paused_on) == (LoanStatus.PAUSED, back)
    assert paused.open_restructuring is not None
    assert paused.open_restructuring.id == event_id_for("restructuring/2026-09-15", loan.id)
    assert paused.open_restructuring.reason == "employer_failure"


async def test_an_early_return_before_the_schedule_waits(repo: Fake, clock: Clock) -> None:
    placement, unheard = placed(), placed()
    await open_loans(repo, clock, placement)
    returns = [returned(placement, DEPARTURE), returned(unheard, DEPARTURE)]
    outcomes = await handlers.pause_for_early_returns(returns, repo, clock=clock)

    assert [rule_of(o) for o in outcomes] == ["no_schedule_yet", "no_schedule_yet"]
    refused = refused_by(returns, outcomes)
    assert list(refused) == [event.event_id for event in returns]
    assert all(
        isinstance(refusal, RetryLater) and "has no repayment schedule yet" in str(refusal)
        for refusal in refused.values()
    )


async def test_an_early_return_naming_another_candidate_is_refused(
    repo: Fake, clock: Clock
) -> None:
    placement = placed()
    await repaying(repo, clock, placement)
    forged = returned(placement, DEPARTURE, candidate_id=uuid.uuid4())
    [outcome] = await handlers.pause_for_early_returns([forged], repo, clock=clock)

    assert rule_of(outcome) == "journey_mismatch"
    assert repo.loans[loan_id_for(placement.placement_id)].status == LoanStatus.REPAYING


# --- withdrawal (CandidateWithdrawn) --------------------------------------------------------------


def withdrawn(placement: CandidatePlaced, **fields: Any) -> CandidateWithdrawn:
    values: dict[str, Any] = {
        "agency": placement.agency,
        "journey_id": placement.journey_id,
        "candidate_id": placement.candidate_id,
        "reason": WithdrawalReason.HEALTH,
        "withdrawn_on": date(2026, 10, 20),
    }
    return CandidateWithdrawn(**{**values, **fields})


async def withdraw(repo: Fake, clock: Clock, *events: CandidateWithdrawn) -> list[Any]:
    return await handlers.close_loans_of_withdrawn(events, repo, terms=TERMS, clock=clock)


async def test_a_withdrawal_before_departure_closes_the_loan_and_asks_nothing(
    repo: Fake, clock: Clock
) -> None:
    placement = placed(Track.SSW)
    [loan_id] = await open_loans(repo, clock, placement)
    await handlers.grant_subsidies(
        [GrantSubsidy(loan_id, "JOE Cooperative", "Education", 2_000_000)], repo, clock
    )
    outcomes = await withdraw(repo, clock, withdrawn(placement), withdrawn(placement))

    loan = repo.loans[loan_id]
    assert outcomes == [placement.candidate_id, placement.candidate_id]
    assert (loan.status, loan.closed_on, loan.balance_idr) == (
        LoanStatus.CLOSED,
        date(2026, 10, 20),
        0,
    )
    assert loan.written_off_idr == 28_000_000  # the funder's loss: what was owed
    [loss] = repo.staged(LoanWrittenOff)
    assert (loss.reason, loss.written_off_idr, loss.balance_idr, loss.written_off_on) == (
        "never_departed",
        28_000_000,
        0,
        date(2026, 10, 20),
    )
    [frozen] = await handlers.add_cost_items(
        [AddCostItem(loan_id, CostItem("flight", "Flight", 1))], repo, terms=TERMS, clock=clock
    )
    assert rule_of(frozen) == "loan_closed"
    await fix(repo, clock, departed(placement))
    assert repo.loans[loan_id].status == LoanStatus.CLOSED
    assert repo.staged(RepaymentScheduleFixed) == []


async def test_a_withdrawal_after_departure_keeps_the_schedule(repo: Fake, clock: Clock) -> None:
    placement = placed()
    loan = await repaying(repo, clock, placement)
    before = len(repo.outbox)
    [outcome] = await withdraw(repo, clock, withdrawn(placement))

    assert outcome == placement.candidate_id
    stored = repo.loans[loan.id]
    assert (stored.status, len(stored.instalments), stored.written_off_idr) == (
        LoanStatus.REPAYING,
        10,
        0,
    )
    assert len(repo.outbox) == before


async def test_a_loan_opened_after_its_candidates_withdrawal_closes_as_it_opens(
    repo: Fake, clock: Clock
) -> None:
    placement = placed(Track.TITP, 36)
    await withdraw(repo, clock, withdrawn(placement))
    [loan_id] = await open_loans(repo, clock, placement)

    assert repo.loans[loan_id].status == LoanStatus.CLOSED
    assert [type(e).__name__ for e in repo.outbox] == ["LoanOpened", "LoanWrittenOff"]


async def test_a_withdrawal_naming_another_agency_is_refused_as_forged(
    repo: Fake, clock: Clock
) -> None:
    placement = placed()
    [loan_id] = await open_loans(repo, clock, placement)
    [outcome] = await withdraw(repo, clock, withdrawn(placement, agency="kota-serang"))

    assert rule_of(outcome) == "journey_mismatch"
    assert repo.loans[loan_id].status == LoanStatus.OPEN


async def test_what_a_withdrawn_participant_owes_is_dated_configuration(
    repo: Fake, clock: Clock
) -> None:
    dated = replace(
        TERMS.dated,
        withdrawals_before_departure=(
            WithdrawalBeforeDeparture(date(2026, 1, 1), 40, "a funder's agreed terms"),
        ),
    )
    terms = LoanTerms(dated=dated)
    placement = placed(Track.TITP, 36)
    [loan_id] = await open_loans(repo, clock, placement)
    await handlers.close_loans_of_withdrawn([withdrawn(placement)], repo, terms=terms, clock=clock)

    loan = repo.loans[loan_id]
    assert (loan.status, loan.written_off_idr, loan.balance_idr) == (
        LoanStatus.CLOSED,
        7_500_000,
        5_000_000,
    )


# --- the due-instalment scheduler -----------------------------------------------------------------


async def test_each_due_instalment_is_announced_once(repo: Fake, clock: Clock) -> None:
    loan = await repaying(repo, clock)
    first = await handlers.announce_due_instalments(repo, clock, limit=200)
    second = await handlers.announce_due_instalments(repo, clock, limit=200)

    assert (first.found, first.announced) == (2, 2)
    assert (second.found, second.announced) == (0, 0)
    due = repo.staged(RepaymentDue)
    assert [(d.instalment_number, d.due_date, d.amount_idr) for d in due] == [
        (1, date(2026, 10, 1), 3_000_000),
        (2, date(2026, 11, 1), 3_000_000),
    ]
    assert due[0].event_id == event_id_for("repayment-due", instalment_id_for(loan.id, 1))
    assert due[0].occurred_at == clock.now()


async def test_a_sweep_announces_at_most_its_limit(repo: Fake, clock: Clock) -> None:
    await repaying(repo, clock)
    first = await handlers.announce_due_instalments(repo, clock, limit=1)
    second = await handlers.announce_due_instalments(repo, clock, limit=1)

    assert (first.found, second.found) == (1, 1)
    assert [d.instalment_number for d in repo.staged(RepaymentDue)] == [1, 2]


async def test_what_is_still_owed_falls_due_and_a_paid_instalment_does_not(
    repo: Fake, clock: Clock
) -> None:
    loan = await repaying(repo, clock)
    await pay(repo, clock, loan.id, "T1", 4_000_000)  # instalment 1 and Rp1,000,000 of 2
    await handlers.announce_due_instalments(repo, clock)

    [due] = repo.staged(RepaymentDue)
    assert (due.instalment_number, due.amount_idr) == (2, 2_000_000)


async def test_due_and_payment_events_carry_the_scheduled_amount_and_the_allocations(
    repo: Fake, clock: Clock
) -> None:
    """A partial payment made before the announcement: RepaymentDue says what was scheduled as
    well as what is still owed, PaymentRecorded how much went to each instalment."""
    loan = await repaying(repo, clock)
    await pay(repo, clock, loan.id, "T1", 4_000_000)  # instalment 1 and Rp1,000,000 of 2
    await handlers.announce_due_instalments(repo, clock)

    [recorded] = repo.staged(PaymentRecorded)
    assert [(a.instalment_number, a.amount_idr) for a in recorded.allocations] == [
        (1, 3_000_000),
        (2, 1_000_000),
    ]
    [due] = repo.staged(RepaymentDue)
    assert (due.instalment_number, due.scheduled_amount_idr, due.amount_idr) == (
        2,
        3_000_000,
        2_000_000,
    )


async def test_an_instalment_announced_by_another_scheduler_is_left_to_it(
    repo: Fake, clock: Clock
) -> None:
    loan = await repaying(repo, clock)
    repo.announce_meanwhile({instalment_id_for(loan.id, 1)})
    sweep = await handlers.announce_due_instalments(repo, clock)

    assert (sweep.found, sweep.announced) == (2, 1)
    assert [d.instalment_number for d in repo.staged(RepaymentDue)] == [2]


async def test_a_paused_loan_announces_nothing(repo: Fake, clock: Clock) -> None:
    placement = placed()
    await repaying(repo, clock, placement)
    await handlers.pause_for_early_returns([returned(placement, DEPARTURE)], repo, clock=clock)
    sweep = await handlers.announce_due_instalments(repo, clock)

    assert sweep.found == 0 and repo.staged(RepaymentDue) == []


# --- funders --------------------------------------------------------------------------------------


async def test_a_funder_is_recorded_once_by_name(repo: Fake, clock: Clock) -> None:
    outcomes = await handlers.create_funders(
        [CreateFunder("Dana Kaltim"), CreateFunder("dana kaltim"), CreateFunder("Dana Serang")],
        repo,
        clock,
    )
    [again] = await handlers.create_funders([CreateFunder("Dana Kaltim")], repo, clock)

    assert outcomes[0] == funder_id_for("Dana Kaltim")
    assert rule_of(outcomes[1]) == rule_of(again) == "funder_exists"
    assert outcomes[2] == funder_id_for("Dana Serang")
    assert repo.funders[funder_id_for("Dana Kaltim")].created_at == clock.now()


# --- cost items and subsidies ---------------------------------------------------------------------


async def test_a_cost_item_is_charged_while_the_loan_is_open(repo: Fake, clock: Clock) -> None:
    placement = placed(Track.TITP, 36)
    [loan_id] = await open_loans(repo, clock, placement)
    extra = CostItem("insurance", "Travel insurance", 750_000)
    [added] = await handlers.add_cost_items(
        [AddCostItem(loan_id, extra)], repo, terms=TERMS, clock=clock
    )

    loan = repo.loans[loan_id]
    assert added == loan_id
    assert loan.principal_idr == 13_250_000
    assert loan.cost_lines is not None
    assert (loan.cost_lines[-1].position, loan.cost_lines[-1].charged_on) == (6, clock.today())


async def test_charges_that_break_a_protective_rule_are_refused(repo: Fake, clock: Clock) -> None:
    [loan_id] = await open_loans(repo, clock, placed(Track.SSW))
    outcomes = await handlers.add_cost_items(
        [
            AddCostItem(loan_id, CostItem("deposit", "Guarantee", 1_000_000)),
            AddCostItem(loan_id, CostItem("placement_fee", "Placement fee", 5_000_000)),
            AddCostItem(loan_id, CostItem("flight", "Another flight", 5_000_000)),
            AddCostItem(uuid.uuid4(), CostItem("visa", "Visa", 1)),
        ],
        repo,
        terms=TERMS,
        clock=clock,
    )

    assert [rule_of(o) for o in outcomes] == [
        "forbidden_charge",
        "ssw_employer_borne_cost",
        "duplicate_cost_item",
        "not_found",
    ]
    assert repo.loans[loan_id].principal_idr == 30_000_000


@pytest.mark.parametrize(
    "code", ["security_deposit", "uang_jaminan", "penalty_fee", "biaya_denda", "savings"]
)
async def test_deposits_penalties_and_savings_are_refused_whatever_they_are_called(
    repo: Fake, clock: Clock, code: str
) -> None:
    [loan_id] = await open_loans(repo, clock, placed(Track.TITP, 36))
    [outcome] = await handlers.add_cost_items(
        [AddCostItem(loan_id, CostItem(code, "Held until the contract ends", 1_000_000))],
        repo,
        terms=TERMS,
        clock=clock,
    )

    assert rule_of(outcome) == "forbidden_charge"
    assert "TITP Act art. 47-48" in outcome.refusal.message
    assert repo.loans[loan_id].principal_idr == 12_500_000


async def test_only_the_allowed_categories_of_the_track_are_charged(
    repo: Fake, clock: Clock
) -> None:
    [titp] = await open_loans(repo, clock, placed(Track.TITP, 36))
    [ssw] = await open_loans(repo, clock, placed(Track.SSW, 12))
    outcomes = await handlers.add_cost_items(
        [
            AddCostItem(titp, CostItem("uniform", "Company uniform", 400_000)),
            AddCostItem(titp, CostItem("training", "Uang jaminan kontrak", 400_000)),
            AddCostItem(titp, CostItem("accommodation", "Dormitory before departure", 900_000)),
            AddCostItem(titp, CostItem("tests", "JFT-Basic fee", 1_000_000)),
            AddCostItem(ssw, CostItem("insurance", "Travel insurance", 500_000)),
        ],
        repo,
        terms=TERMS,
        clock=clock,
    )

    assert rule_of(outcomes[0]) == "charge_not_allowed"
    assert "training, medical" in outcomes[0].refusal.message
    assert rule_of(outcomes[1]) == "forbidden_charge"  # the description is read too
    assert outcomes[2] == titp
    assert rule_of(outcomes[3]) == "charge_not_allowed"  # a test fee is an SSW category
    assert outcomes[4] == ssw


async def test_a_charge_above_its_public_maximum_is_refused(repo: Fake, clock: Clock) -> None:
    [loan_id] = await open_loans(repo, clock, placed(Track.TITP, 36))
    outcomes = await handlers.add_cost_items(
        [
            AddCostItem(loan_id, CostItem("passport", "Passport", 2_500_000)),
            AddCostItem(loan_id, CostItem("passport", "Passport", 950_000)),
        ],
        repo,
        terms=TERMS,
        clock=clock,
    )

    assert rule_of(outcomes[0]) == "charge_above_maximum"
    assert "PP 45/2024" in outcomes[0].refusal.message
    assert outcomes[1] == loan_id


async def test_the_principal_is_capped_per_track_and_channel(repo: Fake, clock: Clock) -> None:
    im_japan = placed(Track.TITP, 36, supervising_organisation="IM Japan")
    private = placed(Track.TITP, 36, supervising_organisation="Chubu Food Industry Cooperative")
    [by_im_japan, by_lpk] = await open_loans(repo, clock, im_japan, private)
    training = CostItem("accommodation", "Dormitory before departure", 3_000_000)
    outcomes = await handlers.add_cost_items(
        [AddCostItem(by_im_japan, training), AddCostItem(by_lpk, training)],
        repo,
        terms=TERMS,
        clock=clock,
    )

    assert rule_of(outcomes[0]) == "principal_above_maximum"
    assert "Rp15,000,000" in outcomes[0].refusal.message
    assert outcomes[1] == by_lpk
    assert repo.loans[by_im_japan].principal_idr == 12_500_000
    assert repo.loans[by_lpk].principal_idr == 15_500_000
    assert (repo.loans[by_im_japan].channel, repo.loans[by_lpk].channel) == (
        "im_japan",
        "private_lpk",
    )


async def test_costs_and_subsidies_stop_changing_once_the_schedule_is_fixed(
    repo: Fake, clock: Clock
) -> None:
    loan = await repaying(repo, clock)
    insurance = CostItem("insurance", "Insurance", 1)
    [added] = await handlers.add_cost_items(
        [AddCostItem(loan.id, insurance)], repo, terms=TERMS, clock=clock
    )
    [removed] = await handlers.remove_cost_items(
        [RemoveCostItem(loan.id, "flight")], repo, terms=TERMS, clock=clock
    )
    [granted] = await handlers.grant_subsidies(
        [GrantSubsidy(loan.id, "Kemnaker", "BLK", 1)], repo, clock
    )

    assert rule_of(added) == rule_of(removed) == "costs_frozen"
    assert rule_of(granted) == "schedule_fixed"


async def test_a_cost_item_is_removed_unless_subsidies_would_exceed_the_charges(
    repo: Fake, clock: Clock
) -> None:
    [loan_id] = await open_loans(repo, clock, placed(Track.TITP, 36))
    await handlers.grant_subsidies(
        [GrantSubsidy(loan_id, "Kemnaker", "BLK training", 7_000_000)], repo, clock
    )
    outcomes = await handlers.remove_cost_items(
        [
            RemoveCostItem(loan_id, "visa"),
            RemoveCostItem(loan_id, "flight"),
            RemoveCostItem(loan_id, "visa"),
        ],
        repo,
        terms=TERMS,
        clock=clock,
    )

    assert outcomes[0] == loan_id
    assert [rule_of(o) for o in outcomes[1:]] == ["subsidy_exceeds_charges", "not_found"]
    loan = repo.loans[loan_id]
    assert loan.principal_idr == 12_000_000
    assert loan.cost_lines is not None
    assert [line.item.code for line in loan.cost_lines] == [
        "training",
        "medical",
        "documents",
        "flight",
    ]


async def test_subsidies_never_exceed_the_charges(repo: Fake, clock: Clock) -> None:
    [loan_id] = await open_loans(repo, clock, placed(Track.TITP, 36))
    outcomes = await handlers.grant_subsidies(
        [
            GrantSubsidy(loan_id, "Kemnaker", "BLK training", 10_000_000),
            GrantSubsidy(loan_id, "JOE Cooperative", "Education", 3_000_000),
            GrantSubsidy(loan_id, "JOE Cooperative", "Education", 2_500_000),
        ],
        repo,
        clock,
    )

    assert isinstance(outcomes[0], uuid.UUID)
    assert rule_of(outcomes[1]) == "subsidy_exceeds_charges"
    assert isinstance(outcomes[2], uuid.UUID)
    assert repo.loans[loan_id].subsidised_idr == 12_500_000


# --- payments and settlement ----------------------------------------------------------------------


async def test_a_payment_goes_to_the_oldest_instalments_and_is_recorded_once(
    repo: Fake, clock: Clock
) -> None:
    loan = await repaying(repo, clock)
    first = await pay(repo, clock, loan.id, "T1", 3_000_000)
    again = await pay(repo, clock, loan.id, "T1", 3_000_000)
    reused = await pay(repo, clock, loan.id, "T1", 2_000_000)

    payment_id = payment_id_for(loan.id, "T1")
    assert first == RecordedPayment(payment_id, created=True)
    assert again == RecordedPayment(payment_id, created=False)
    assert rule_of(reused) == "payment_reference_reused"
    [recorded] = repo.staged(PaymentRecorded)
    assert (recorded.instalment_numbers, recorded.balance_idr) == ([1], 27_000_000)
    stored = repo.loans[loan.id]
    assert [i.paid_idr for i in stored.instalments[:2]] == [3_000_000, 0]
    assert [p.instalment_numbers for p in stored.payments] == [(1,)]


async def test_the_payment_that_pays_the_balance_off_settles_the_loan(
    repo: Fake, clock: Clock
) -> None:
    loan = await repaying(repo, clock)
    commands = [
        RecordPayment(loan.id, "T1", date(2026, 10, 5), 3_000_000, "own_transfer"),
        RecordPayment(loan.id, "T2", date(2026, 11, 1), 27_500_000, "own_transfer"),
        RecordPayment(loan.id, "T3", date(2026, 11, 2), 1, "own_transfer"),
    ]
    outcomes = await handlers.record_payments(commands, repo, clock)

    assert [isinstance(o, RecordedPayment) for o in outcomes[:2]] == [True, True]
    assert rule_of(outcomes[2]) == "loan_settled"
    settled = repo.loans[loan.id]
    assert (settled.status, settled.refund_due_idr, settled.settled_at) == (
        LoanStatus.SETTLED,
        500_000,
        clock.now(),
    )
    [event] = repo.staged(LoanSettled)
    assert (event.settled_on, event.paid_idr, event.refund_due_idr) == (
        date(2026, 11, 1),
        30_500_000,
        500_000,
    )
    assert [type(e).__name__ for e in repo.outbox[-3:]] == [
        "PaymentRecorded",
        "PaymentRecorded",
        "LoanSettled",
    ]


async def test_payments_are_refused_by_deduction_and_before_the_schedule(
    repo: Fake, clock: Clock
) -> None:
    placement = placed()
    [open_loan] = await open_loans(repo, clock, placement)
    deduction = RecordPayment(uuid.uuid4(), "S1", date(2026, 10, 5), 1, "salary_deduction")
    outcomes = await handlers.record_payments(
        [deduction, RecordPayment(open_loan, "T0", date(2026, 10, 5), 1, "own_transfer")],
        repo,
        clock,
    )

    assert [rule_of(o) for o in outcomes] == ["no_salary_deduction", "no_schedule_yet"]
    assert repo.staged(PaymentRecorded) == []


async def test_a_payment_is_never_dated_after_today(repo: Fake, clock: Clock) -> None:
    loan = await repaying(repo, clock)
    tomorrow = clock.today() + timedelta(days=1)
    outcomes = await handlers.record_payments(
        [
            RecordPayment(loan.id, "T1", tomorrow, 3_000_000, "own_transfer"),
            RecordPayment(loan.id, "T2", clock.today(), 3_000_000, "own_transfer"),
        ],
        repo,
        clock,
    )

    assert rule_of(outcomes[0]) == "paid_on_in_the_future"
    assert isinstance(outcomes[1], RecordedPayment)
    assert [p.reference for p in repo.loans[loan.id].payments] == ["T2"]


# --- restructuring --------------------------------------------------------------------------------


async def test_a_paused_loan_is_restructured_from_its_balance(repo: Fake, clock: Clock) -> None:
    placement = placed()
    loan = await repaying(repo, clock, placement)
    await pay(repo, clock, loan.id, "T1", 3_000_000)
    await handlers.pause_for_early_returns(
        [returned(placement, date(2026, 10, 20))], repo, clock=clock
    )
    first_due = clock.today() + timedelta(days=10)
    outcomes = await handlers.restructure_loans(
        [
            Restructure(loan.id, clock.today() - timedelta(days=1), 5),
            Restructure(loan.id, first_due, 5),
            Restructure(loan.id, first_due, 5),
        ],
        repo,
        terms=TERMS,
        clock=clock,
    )

    assert rule_of(outcomes[0]) == "first_due_in_the_past"
    assert outcomes[1] == loan.id
    assert rule_of(outcomes[2]) == "no_open_restructuring"
    stored = repo.loans[loan.id]
    assert stored.status == LoanStatus.REPAYING
    active = [i for i in stored.instalments if i.superseded_at is None]
    assert [i.number for i in active] == [1, 11, 12, 13, 14, 15]
    assert [i.amount_idr for i in active[1:]] == [5_400_000] * 5
    assert active[1].due_date == first_due
    assert all(i.superseded_at == clock.now() for i in stored.instalments[1:10])
    [event] = repo.staged(LoanRestructured)
    assert (event.first_due_date, event.instalments, event.balance_idr) == (
        first_due,
        5,
        27_000_000,
    )


async def test_only_a_paused_loan_is_restructured(repo: Fake, clock: Clock) -> None:
    loan = await repaying(repo, clock)
    outcomes = await handlers.restructure_loans(
        [Restructure(loan.id, date(2027, 1, 1), 5), Restructure(uuid.uuid4(), date(2027, 1, 1), 5)],
        repo,
        terms=TERMS,
        clock=clock,
    )

    assert [rule_of(o) for o in outcomes] == ["no_open_restructuring", "not_found"]


# --- one path whatever the list's length ----------------------------------------------------------


async def test_a_list_saves_once(repo: Fake, clock: Clock) -> None:
    placements = [placed() for _ in range(5)]
    await open_loans(repo, clock, *placements)
    await fix(repo, clock, *(departed(p) for p in placements))

    assert repo.saves == 2
    assert len(repo.staged(RepaymentScheduleFixed)) == 5
