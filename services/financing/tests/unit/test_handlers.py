"""Every financing handler against the in-memory repository and a clock that stands still
(conftest.py): the rules of each use case, the events it records, and the same refusals whether
an item comes alone or in a list. No database, no NATS."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from jembatan_contracts import (
    CandidatePlaced,
    Departed,
    EarlyReturned,
    EarlyReturnReason,
    Event,
    LoanOpened,
    LoanRestructured,
    LoanSettled,
    PaymentRecorded,
    RepaymentDue,
    RepaymentScheduleFixed,
    Track,
)
from jembatan_financing.adapters.repository import FinancingRepository
from jembatan_financing.domain.commands import (
    AddCostItem,
    CreateFunder,
    GrantSubsidy,
    RecordPayment,
    RemoveCostItem,
    Restructure,
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
from jembatan_financing.entrypoints.consumers import raise_first_refusal
from jembatan_financing.service_layer import handlers
from jembatan_financing.service_layer.handlers import RecordedPayment, Refused
from jembatan_kit.consumer import RetryLater, Unprocessable

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
    with pytest.raises(Unprocessable, match="no_default_costs"):
        raise_first_refusal(outcomes)


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
    [outcome] = await fix(repo, clock, departed(placement))

    assert rule_of(outcome) == "no_loan_yet"
    with pytest.raises(RetryLater) as waiting:
        raise_first_refusal([outcome])
    assert str(waiting.value) == (
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
    with pytest.raises(Unprocessable) as refused:
        raise_first_refusal([outcome])
    assert str(refused.value) == (
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


async def test_an_unaffordable_schedule_is_refused(repo: Fake, clock: Clock) -> None:
    placement = placed(monthly_wage_jpy=20_000)
    await open_loans(repo, clock, placement)
    [outcome] = await fix(repo, clock, departed(placement))

    assert rule_of(outcome) == "instalment_above_affordability_cap"
    assert repo.staged(RepaymentScheduleFixed) == []


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
    assert together[0][2:] == ["instalment_above_affordability_cap", "no_loan_yet"]


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
    outcomes = await handlers.pause_for_early_returns(
        [returned(placement, DEPARTURE), returned(unheard, DEPARTURE)], repo, clock=clock
    )

    assert [rule_of(o) for o in outcomes] == ["no_schedule_yet", "no_schedule_yet"]
    with pytest.raises(RetryLater, match="has no repayment schedule yet"):
        raise_first_refusal(outcomes)


async def test_an_early_return_naming_another_candidate_is_refused(
    repo: Fake, clock: Clock
) -> None:
    placement = placed()
    await repaying(repo, clock, placement)
    forged = returned(placement, DEPARTURE, candidate_id=uuid.uuid4())
    [outcome] = await handlers.pause_for_early_returns([forged], repo, clock=clock)

    assert rule_of(outcome) == "journey_mismatch"
    assert repo.loans[loan_id_for(placement.placement_id)].status == LoanStatus.REPAYING


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

    assert rule_of(added) == rule_of(removed) == rule_of(granted) == "schedule_fixed"


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
