"""Financing's write use cases, each once and set-based: a handler takes a list (of events from a
consumer's batch, or of commands), applies the rules to each item in order (the same refusals for
a list of one as for a batch of hundreds) and answers each with its id or its refusal. A single
HTTP request is a list of one and raises its refusal (`raise_if_refused`); a consumer passes its
batch (`entrypoints.consumers`).

A handler loads what the list needs from the repository in a few queries, lets each loan decide
and record its events (`domain.loan.Loan`), and saves them all at once, events as outbox rows in
the same transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from jembatan_contracts import CandidatePlaced, CandidateWithdrawn, Departed, EarlyReturned
from jembatan_contracts.ids import new_id
from jembatan_kit.clock import Clock
from jembatan_kit.errors import Conflict, NotFound, RuleViolation

from ..adapters.repository import FinancingRepository
from ..domain.commands import (
    AddCostItem,
    CreateFunder,
    GrantSubsidy,
    RecordPayment,
    RemoveCostItem,
    Restructure,
    ScheduleWithinContract,
    WriteOff,
)
from ..domain.guards import refuse_salary_deduction
from ..domain.loan import Funder, Loan, NotYet, Subsidy, Withdrawal
from ..domain.model import LoanTerms, funder_id_for, payment_id_for


@dataclass(frozen=True)
class Refused:
    refusal: RuleViolation


@dataclass(frozen=True)
class RecordedPayment:
    payment_id: uuid.UUID
    created: bool
    """False when the reference was recorded before: the first record stands."""


@dataclass(frozen=True)
class Sweep:
    found: int
    """Due instalments found unannounced (at most the limit asked)."""
    announced: int
    """How many of them this sweep announced; the others were announced by another scheduler,
    paid or paused meanwhile."""


Answer = TypeVar("Answer")


def raise_if_refused(outcome: Answer | Refused) -> Answer:
    """The answer to a command, or its refusal raised (for an endpoint serving one command)."""
    if isinstance(outcome, Refused):
        raise outcome.refusal
    return outcome


def _found(loans: Mapping[uuid.UUID, Loan], loan_id: uuid.UUID) -> Loan:
    loan = loans.get(loan_id)
    if loan is None:
        raise NotFound("loan", loan_id)
    return loan


class _OnALoan(Protocol):
    @property
    def loan_id(self) -> uuid.UUID: ...


Command = TypeVar("Command", bound=_OnALoan)


def _change_each(
    commands: Sequence[Command],
    loans: Mapping[uuid.UUID, Loan],
    change: Callable[[Loan, Command], Answer],
) -> list[Answer | Refused]:
    """`change` applied to each command's loan, in order; a refusal answers that command alone."""
    outcomes: list[Answer | Refused] = []
    for command in commands:
        try:
            outcomes.append(change(_found(loans, command.loan_id), command))
        except RuleViolation as refusal:
            outcomes.append(Refused(refusal))
    return outcomes


# --- the journey's events ----------------------------------------------------------------------


async def open_loans(
    events: Sequence[CandidatePlaced],
    repo: FinancingRepository,
    *,
    terms: LoanTerms,
    clock: Clock,
    default_funder: str,
) -> list[uuid.UUID | Refused]:
    """Open each placement's loan, fronted by the default funder, with the itemised default costs
    of its track in force on the day the contract was signed. A placement whose loan is open
    already (a repeated event) opens nothing. The loan of a candidate whose withdrawal was
    handled before is closed as it opens (`Loan.close_on_withdrawal`)."""
    financed = await repo.financed_placements({event.placement_id for event in events})
    withdrawn = await repo.withdrawals({event.candidate_id for event in events})
    funder_id = funder_id_for(default_funder)
    now, today = clock.now(), clock.today()
    outcomes: list[uuid.UUID | Refused] = []
    opened = 0
    for event in events:
        if event.placement_id in financed:
            outcomes.append(financed[event.placement_id])
            continue
        charged_on = event.contract_signed_on or today
        try:
            items = terms.costs_for(event.track, charged_on)
            loan = Loan.open(
                event, items, terms=terms, charged_on=charged_on, funder_id=funder_id, now=now
            )
            withdrawal = withdrawn.get(event.candidate_id)
            if withdrawal is not None:  # the withdrawal was handled first
                loan.close_on_withdrawal(withdrawal, terms, now)
        except RuleViolation as refusal:
            outcomes.append(Refused(refusal))
            continue
        repo.add(loan)
        financed[event.placement_id] = loan.id
        opened += 1
        outcomes.append(loan.id)
    if opened and not await repo.get_funders({funder_id}):
        repo.add_funder(Funder(funder_id, default_funder, now))
    await repo.save()
    return outcomes


async def fix_schedules(
    events: Sequence[Departed], repo: FinancingRepository, *, terms: LoanTerms, clock: Clock
) -> list[uuid.UUID | Refused]:
    """Fix each departed participant's repayment schedule (`Loan.fix_schedule`). A departure
    whose loan is not open yet waits (`NotYet`): the two events travel through two durables, so
    a departure may well come first."""
    loans = await repo.of_placements({event.placement_id for event in events})
    now, today = clock.now(), clock.today()
    outcomes: list[uuid.UUID | Refused] = []
    for event in events:
        loan = loans.get(event.placement_id)
        try:
            if loan is None:
                raise NotYet(
                    "no_loan_yet",
                    f"placement {event.placement_id} has no loan yet (CandidatePlaced first)",
                )
            loan.fix_schedule(event, terms, today, now)
        except RuleViolation as refusal:
            outcomes.append(Refused(refusal))
            continue
        outcomes.append(loan.id)
    await repo.save()
    return outcomes


async def pause_for_early_returns(
    events: Sequence[EarlyReturned], repo: FinancingRepository, *, clock: Clock
) -> list[uuid.UUID | Refused]:
    """Pause each returned participant's schedule until it is restructured
    (`Loan.pause_for_early_return`)."""
    loans = await repo.of_placements({event.placement_id for event in events})
    now = clock.now()
    outcomes: list[uuid.UUID | Refused] = []
    for event in events:
        loan = loans.get(event.placement_id)
        try:
            if loan is None:
                raise NotYet(
                    "no_schedule_yet",
                    f"placement {event.placement_id} has no repayment schedule yet",
                )
            loan.pause_for_early_return(event, now)
        except RuleViolation as refusal:
            outcomes.append(Refused(refusal))
            continue
        outcomes.append(loan.id)
    await repo.save()
    return outcomes


async def close_loans_of_withdrawn(
    events: Sequence[CandidateWithdrawn],
    repo: FinancingRepository,
    *,
    terms: LoanTerms,
    clock: Clock,
) -> list[uuid.UUID | Refused]:
    """Close the loan of each withdrawn candidate who has not departed
    (`Loan.close_on_withdrawal`); one who departed keeps their schedule. The withdrawal is
    recorded, for a CandidatePlaced handled after it. Answers the candidate's id."""
    loans = await repo.of_candidates({event.candidate_id for event in events})
    now = clock.now()
    outcomes: list[uuid.UUID | Refused] = []
    for event in events:
        withdrawal = Withdrawal.of(event)
        try:
            for loan in loans.get(event.candidate_id, []):
                loan.close_on_withdrawal(withdrawal, terms, now)
        except RuleViolation as refusal:
            outcomes.append(Refused(refusal))
            continue
        repo.add_withdrawal(withdrawal)
        outcomes.append(event.candidate_id)
    await repo.save()
    return outcomes


async def announce_due_instalments(
    repo: FinancingRepository, clock: Clock, limit: int = 200
) -> Sweep:
    """Announce up to `limit` instalments due by today that were not announced yet: one
    RepaymentDue each. Safe with several schedulers on one database: an instalment another one
    announced meanwhile is left to it (`WriteConflicts.announced_elsewhere`)."""
    due = await repo.due_instalments(clock.today(), limit)
    now = clock.now()
    for instalment in due:
        instalment.announce(now)
    conflicts = await repo.save()
    return Sweep(found=len(due), announced=len(due) - len(conflicts.not_claimed))


# --- operators' commands -----------------------------------------------------------------------


async def create_funders(
    commands: Sequence[CreateFunder], repo: FinancingRepository, clock: Clock
) -> list[uuid.UUID | Refused]:
    ids = [funder_id_for(command.name) for command in commands]
    recorded = set(await repo.get_funders(set(ids)))
    now = clock.now()
    outcomes: list[uuid.UUID | Refused] = []
    for command, funder_id in zip(commands, ids, strict=True):
        if funder_id in recorded:
            outcomes.append(Refused(_funder_exists(command.name)))
            continue
        repo.add_funder(Funder(funder_id, command.name, now))
        recorded.add(funder_id)
        outcomes.append(funder_id)
    conflicts = await repo.save()
    return [
        Refused(_funder_exists(command.name))
        if isinstance(outcome, uuid.UUID) and outcome in conflicts.funders_taken
        else outcome
        for command, outcome in zip(commands, outcomes, strict=True)
    ]


def _funder_exists(name: str) -> Conflict:
    return Conflict("funder_exists", f"a funder named {name!r} is already recorded")


async def add_cost_items(
    commands: Sequence[AddCostItem], repo: FinancingRepository, *, terms: LoanTerms, clock: Clock
) -> list[uuid.UUID | Refused]:
    """Charge each item to its loan, while its schedule is not fixed (`Loan.add_cost`)."""
    loans = await repo.get_many({command.loan_id for command in commands}, with_costs=True)
    today = clock.today()

    def change(loan: Loan, command: AddCostItem) -> uuid.UUID:
        loan.add_cost(command.item, terms, today)
        return loan.id

    outcomes = _change_each(commands, loans, change)
    await repo.save()
    return outcomes


async def remove_cost_items(
    commands: Sequence[RemoveCostItem],
    repo: FinancingRepository,
    *,
    terms: LoanTerms,
    clock: Clock,
) -> list[uuid.UUID | Refused]:
    """Take each item off its loan, while its schedule is not fixed (`Loan.remove_cost`)."""
    loans = await repo.get_many({command.loan_id for command in commands}, with_costs=True)
    today = clock.today()

    def change(loan: Loan, command: RemoveCostItem) -> uuid.UUID:
        loan.remove_cost(command.code, terms, today)
        return loan.id

    outcomes = _change_each(commands, loans, change)
    await repo.save()
    return outcomes


async def grant_subsidies(
    commands: Sequence[GrantSubsidy], repo: FinancingRepository, clock: Clock
) -> list[uuid.UUID | Refused]:
    """Record each subsidy on its loan (`Loan.grant_subsidy`); answers the subsidy's id."""
    loans = await repo.get_many({command.loan_id for command in commands})
    now, today = clock.now(), clock.today()
    outcomes: list[uuid.UUID | Refused] = []
    for command in commands:
        subsidy = Subsidy(new_id(), command.provider, command.item, command.amount_idr, today)
        try:
            _found(loans, command.loan_id).grant_subsidy(subsidy, now)
        except RuleViolation as refusal:
            outcomes.append(Refused(refusal))
            continue
        outcomes.append(subsidy.id)
    await repo.save()
    return outcomes


async def record_payments(
    commands: Sequence[RecordPayment], repo: FinancingRepository, clock: Clock
) -> list[RecordedPayment | Refused]:
    """Record each of the participants' own transfers (`Loan.record_payment`); the one that
    pays a loan off settles it."""
    loans = await repo.get_many({command.loan_id for command in commands})
    now, today = clock.now(), clock.today()
    outcomes: list[RecordedPayment | Refused] = []
    for command in commands:
        payment_id = payment_id_for(command.loan_id, command.reference)
        try:
            refuse_salary_deduction(command.channel)  # whichever loan it names
            created = _found(loans, command.loan_id).record_payment(
                payment_id,
                command.reference,
                command.paid_on,
                command.amount_idr,
                command.channel,
                today,
                now,
            )
        except RuleViolation as refusal:
            outcomes.append(Refused(refusal))
            continue
        outcomes.append(RecordedPayment(payment_id, created))
    await repo.save()
    return outcomes


async def restructure_loans(
    commands: Sequence[Restructure],
    repo: FinancingRepository,
    *,
    terms: LoanTerms,
    clock: Clock,
) -> list[uuid.UUID | Refused]:
    """Reschedule the balance of each loan paused by an early return (`Loan.restructure`)."""
    loans = await repo.get_many({command.loan_id for command in commands})
    now, today = clock.now(), clock.today()

    def change(loan: Loan, command: Restructure) -> uuid.UUID:
        loan.restructure(command.first_due_date, command.instalments, terms, today, now)
        return loan.id

    outcomes = _change_each(commands, loans, change)
    await repo.save()
    return outcomes


async def schedule_within_contracts(
    commands: Sequence[ScheduleWithinContract],
    repo: FinancingRepository,
    *,
    terms: LoanTerms,
    clock: Clock,
) -> list[uuid.UUID | Refused]:
    """Fix the chosen schedule of each loan that needs a decision
    (`Loan.schedule_within_contract`)."""
    loans = await repo.get_many({command.loan_id for command in commands})
    now, today = clock.now(), clock.today()

    def change(loan: Loan, command: ScheduleWithinContract) -> uuid.UUID:
        loan.schedule_within_contract(
            command.first_due_date, command.instalments, terms, today, now
        )
        return loan.id

    outcomes = _change_each(commands, loans, change)
    await repo.save()
    return outcomes


async def write_off_loans(
    commands: Sequence[WriteOff],
    repo: FinancingRepository,
    *,
    terms: LoanTerms,
    clock: Clock,
) -> list[uuid.UUID | Refused]:
    """Record each funder's write-off of a loan that needs a decision (`Loan.write_off`);
    answers the write-off's id."""
    loans = await repo.get_many({command.loan_id for command in commands})
    now, today = clock.now(), clock.today()

    def change(loan: Loan, command: WriteOff) -> uuid.UUID:
        write_off_id = new_id()
        loan.write_off(write_off_id, command.amount_idr, terms, today, now)
        return write_off_id

    outcomes = _change_each(commands, loans, change)
    await repo.save()
    return outcomes
