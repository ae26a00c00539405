"""The loan of one placement, as an aggregate: it owns its rules and records the events it causes
(`Loan.events`). Opened on CandidatePlaced with the itemised costs of its track; while open, its
costs and subsidies may change; the departure fixes its repayment schedule; the participant's own
transfers pay it off (the last settles it); an early return pauses it until it is restructured.

Pure: no I/O and no clock (the caller passes today and now). The schedule arithmetic is in
`model.py`, the protective rules in `guards.py`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from jembatan_contracts import (
    CandidatePlaced,
    CandidateWithdrawn,
    Departed,
    EarlyReturned,
    Event,
    InstalmentAllocation,
    LoanOpened,
    LoanRestructured,
    LoanSettled,
    LoanWrittenOff,
    PaymentRecorded,
    RepaymentDue,
    RepaymentScheduleFixed,
    ScheduleNeedsDecision,
    Track,
    WriteOffReason,
)
from jembatan_kit.errors import Conflict, NotFound, RuleViolation

from .costs import CostItem, principal_of
from .guards import (
    ChargeRules,
    InstalmentCap,
    UnaffordableInstalment,
    check_cost_item,
    check_cost_items,
    check_cost_list,
    refuse_future_date,
    refuse_repayment_before_month_three,
    refuse_salary_deduction,
    refuse_subsidy_above_charges,
)
from .model import (
    Instalment,
    InstalmentState,
    LoanStatus,
    LoanTerms,
    RepaymentChannel,
    ScheduleDecision,
    allocate_payment,
    due_dates_until,
    event_id_for,
    first_due_date,
    instalment_id_for,
    largest_instalment,
    loan_id_for,
    repayment_schedule,
    restructured_schedule,
    schedule_decision,
    smallest_reduction,
)


class NotYet(RuleViolation):
    """Cannot be done yet: an earlier event it depends on has not been handled. Asked again
    later, it may succeed (the consumer redelivers it)."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(rule, message, status_code=409)


class JourneyMismatch(RuleViolation):
    """An event names a placement's loan but another agency, journey or candidate than the loan
    holds: forged or broken, and waiting will not change it."""

    def __init__(self, message: str) -> None:
        super().__init__("journey_mismatch", message)


@dataclass(frozen=True)
class CostLine:
    """A cost item as charged on a loan: its place in the list and the day it was charged."""

    position: int
    item: CostItem
    charged_on: date | None


@dataclass(frozen=True)
class Subsidy:
    id: uuid.UUID
    provider: str
    item: str
    amount_idr: int
    granted_on: date


@dataclass(frozen=True)
class WriteOff:
    """What the funder took off what the participant owes: the funder's loss."""

    id: uuid.UUID
    amount_idr: int
    reason: WriteOffReason
    written_off_on: date
    recorded_at: datetime


@dataclass(frozen=True)
class Withdrawal:
    """A candidate's withdrawal, as registration announced it (CandidateWithdrawn)."""

    candidate_id: uuid.UUID
    agency: str
    journey_id: uuid.UUID
    withdrawn_on: date

    @classmethod
    def of(cls, event: CandidateWithdrawn) -> Withdrawal:
        return cls(event.candidate_id, event.agency, event.journey_id, event.withdrawn_on)


@dataclass(frozen=True)
class Payment:
    id: uuid.UUID
    reference: str
    paid_on: date
    amount_idr: int
    channel: str
    instalment_numbers: tuple[int, ...]
    recorded_at: datetime


@dataclass
class ScheduledInstalment:
    number: int
    due_date: date
    amount_idr: int
    paid_idr: int = 0
    superseded_at: datetime | None = None
    """Set when a restructuring replaced this instalment; it never falls due."""

    @property
    def state(self) -> InstalmentState:
        return InstalmentState(self.number, self.due_date, self.amount_idr, self.paid_idr)


@dataclass
class Restructuring:
    """Opened by an early return; decided when the balance is rescheduled."""

    id: uuid.UUID
    return_date: date
    reason: str
    opened_at: datetime
    first_due_date: date | None = None
    instalments: int | None = None
    decided_at: datetime | None = None


@dataclass(eq=False)
class Loan:
    id: uuid.UUID
    placement_id: uuid.UUID
    candidate_id: uuid.UUID
    agency: str
    journey_id: uuid.UUID
    track: Track
    contract_months: int
    principal_idr: int
    status: LoanStatus
    opened_at: datetime
    funder_id: uuid.UUID | None
    monthly_wage_jpy: int | None
    repayment_channel: RepaymentChannel = RepaymentChannel.OWN_TRANSFER
    channel: str | None = None
    """How the participant was placed (`im_japan`, `private_lpk`): the maximum principal
    depends on it. None on loans opened before it was recorded."""
    departure_date: date | None = None
    schedule_fixed_at: datetime | None = None
    paused_on: date | None = None
    settled_at: datetime | None = None
    closed_on: date | None = None
    """The day the candidate withdrew, for a loan closed because they never departed."""
    refund_due_idr: int = 0
    cost_lines: list[CostLine] | None = None
    """None when not loaded: only the use cases that change the costs load them."""
    subsidies: list[Subsidy] = field(default_factory=list)
    write_offs: list[WriteOff] = field(default_factory=list)
    payments: list[Payment] = field(default_factory=list)
    instalments: list[ScheduledInstalment] = field(default_factory=list)
    """Every instalment, superseded ones included, by number."""
    open_restructuring: Restructuring | None = None
    events: list[Event] = field(default_factory=list)

    # --- opening -----------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        placed: CandidatePlaced,
        items: Sequence[CostItem],
        *,
        terms: LoanTerms,
        charged_on: date,
        funder_id: uuid.UUID,
        now: datetime,
    ) -> Loan:
        """The placement's loan, fronted by `funder_id`, with the itemised `items`, charged by
        the rules in force on `charged_on`."""
        channel = terms.channel_of(placed, charged_on)
        check_cost_items(
            items,
            terms.charge_rules(placed.track, channel, charged_on),
            f"placement {placed.placement_id}",
        )
        loan = cls(
            id=loan_id_for(placed.placement_id),
            placement_id=placed.placement_id,
            candidate_id=placed.candidate_id,
            agency=placed.agency,
            journey_id=placed.journey_id,
            track=placed.track,
            contract_months=placed.contract_months,
            principal_idr=principal_of(items),
            status=LoanStatus.OPEN,
            opened_at=now,
            funder_id=funder_id,
            monthly_wage_jpy=placed.monthly_wage_jpy,
            channel=channel,
            cost_lines=[
                CostLine(position, item, charged_on) for position, item in enumerate(items, start=1)
            ],
        )
        loan.events.append(
            LoanOpened(
                event_id=event_id_for("loan-opened", loan.id),
                agency=placed.agency,
                journey_id=placed.journey_id,
                loan_id=loan.id,
                candidate_id=placed.candidate_id,
                placement_id=placed.placement_id,
                principal_idr=loan.principal_idr,
            )
        )
        return loan

    # --- what is owed ------------------------------------------------------------------------

    @property
    def subsidised_idr(self) -> int:
        return sum(subsidy.amount_idr for subsidy in self.subsidies)

    @property
    def paid_idr(self) -> int:
        return sum(payment.amount_idr for payment in self.payments)

    @property
    def written_off_idr(self) -> int:
        return sum(write_off.amount_idr for write_off in self.write_offs)

    @property
    def owed_idr(self) -> int:
        """Charges less subsidies and what the funder wrote off."""
        return self.principal_idr - self.subsidised_idr - self.written_off_idr

    @property
    def balance_idr(self) -> int:
        """What is owed less payments; below zero is an over-payment."""
        return self.owed_idr - self.paid_idr

    def active_schedule(self) -> list[InstalmentState]:
        return [i.state for i in self.instalments if i.superseded_at is None]

    # --- events of the journey ---------------------------------------------------------------

    def refuse_other_journey(self, event: Departed | EarlyReturned) -> None:
        """Placement publishes a placement's events with the agency, journey and candidate of
        its CandidatePlaced, which opened this loan; an event naming the placement but another
        of them was not published so."""
        self._refuse_mismatch(
            f"{event.event_type} of placement {event.placement_id}",
            event.agency,
            event.journey_id,
            event.candidate_id,
        )

    def _refuse_mismatch(
        self, what_event: str, agency: str, journey_id: uuid.UUID, candidate_id: uuid.UUID
    ) -> None:
        for what, held, claimed in (
            ("agency", self.agency, agency),
            ("journey", self.journey_id, journey_id),
            ("candidate", self.candidate_id, candidate_id),
        ):
            if held != claimed:
                raise JourneyMismatch(
                    f"{what_event} names {what} {claimed} but its loan (opened on"
                    f" CandidatePlaced) has {what} {held}; a forged or broken event, not handled"
                )

    def close_on_withdrawal(self, withdrawal: Withdrawal, terms: LoanTerms, now: datetime) -> None:
        """The candidate withdrew: a loan of one who has not departed is closed. What the dated
        terms still ask of them (nothing by default: they never earn the wage it is repaid
        from) stays its balance; the rest is written off, the funder's loss. A participant who
        departed keeps their schedule."""
        self._refuse_mismatch(
            f"CandidateWithdrawn of candidate {withdrawal.candidate_id}",
            withdrawal.agency,
            withdrawal.journey_id,
            withdrawal.candidate_id,
        )
        if self.status != LoanStatus.OPEN:
            return
        owed = self.owed_idr
        share = terms.dated.withdrawal_before_departure_on(withdrawal.withdrawn_on)
        loss = owed - owed * share.participant_share_percent // 100
        self.status = LoanStatus.CLOSED
        self.closed_on = withdrawal.withdrawn_on
        if loss > 0:
            self._write_off(
                event_id_for("never-departed", self.id),
                loss,
                WriteOffReason.NEVER_DEPARTED,
                withdrawal.withdrawn_on,
                now,
            )

    def fix_schedule(
        self, departed: Departed, terms: LoanTerms, today: date, now: datetime
    ) -> None:
        """Fix the repayment schedule from the departure date: what is owed after subsidies, from
        the 3rd month, within the contract and the affordability cap. When no schedule within
        the contract meets the cap, the loan waits for an operator's decision
        (`ScheduleNeedsDecision`); when nothing is owed, it is settled. Either way its costs
        are frozen from now on. A loan past this point is left alone."""
        self.refuse_other_journey(departed)
        if self.status != LoanStatus.OPEN:
            return
        self.departure_date = departed.departure_date
        self.contract_months = departed.contract_months
        self.monthly_wage_jpy = departed.monthly_wage_jpy
        owed = self.owed_idr
        if owed <= 0:
            self._settle(departed.departure_date, refund_due=0, now=now)
            return
        cap = terms.cap_for(departed.monthly_wage_jpy, today)
        try:
            schedule = repayment_schedule(
                owed, departed.departure_date, departed.contract_months, terms.max_instalments, cap
            )
        except UnaffordableInstalment as refusal:
            self._await_decision(refusal.rule, cap, now)
            return
        self._fix(schedule, now)

    def _fix(self, schedule: Sequence[Instalment], now: datetime) -> None:
        self._add_instalments(schedule)
        self.status = LoanStatus.REPAYING
        self.schedule_fixed_at = now
        self.events.append(
            RepaymentScheduleFixed(
                event_id=event_id_for("schedule-fixed", self.id),
                agency=self.agency,
                journey_id=self.journey_id,
                loan_id=self.id,
                candidate_id=self.candidate_id,
                first_due_date=schedule[0].due_date,
                instalments=len(schedule),
                principal_idr=sum(i.amount_idr for i in schedule),
            )
        )

    def _await_decision(self, reason: str, cap: InstalmentCap, now: datetime) -> None:
        """No schedule meets the rules: record it, with the figures an operator decides on (as
        tried: one instalment a month from the 3rd month to the contract's end)."""
        assert self.departure_date is not None and self.monthly_wage_jpy is not None
        owed = self.owed_idr
        tried = max(1, self.contract_months - 2)
        self.status = LoanStatus.NEEDS_DECISION
        self.events.append(
            ScheduleNeedsDecision(
                event_id=event_id_for("schedule-needs-decision", self.id),
                occurred_at=now,
                agency=self.agency,
                journey_id=self.journey_id,
                loan_id=self.id,
                candidate_id=self.candidate_id,
                reason=reason,
                departure_date=self.departure_date,
                contract_months=self.contract_months,
                monthly_wage_jpy=self.monthly_wage_jpy,
                owed_idr=owed,
                instalment_cap_idr=cap.amount_idr,
                share_of_wage_percent=cap.share_percent,
                instalments_within_contract=tried,
                smallest_instalment_idr=largest_instalment(owed, tried),
                shortfall_idr=smallest_reduction(owed, tried, cap.amount_idr),
            )
        )

    # --- the ways out of a schedule that needs a decision ------------------------------------

    def decision(self, terms: LoanTerms, today: date) -> ScheduleDecision:
        """Where the loan stands today: the longest schedule within the contract that can still
        start, and what a subsidy or write-off must take off for it to fit."""
        self._refuse_unless_awaiting_decision()
        assert self.departure_date is not None and self.monthly_wage_jpy is not None
        return schedule_decision(
            self.balance_idr,
            self.departure_date,
            self.contract_months,
            terms.cap_for(self.monthly_wage_jpy, today),
            today,
        )

    def schedule_within_contract(
        self,
        first_due: date | None,
        instalments: int | None,
        terms: LoanTerms,
        today: date,
        now: datetime,
    ) -> None:
        """The operator's schedule for a loan awaiting a decision: from `first_due` (by default
        the earliest: the 3rd month after departure, or today if later), `instalments` monthly
        (by default as many as end by the contract's end), each within the cap."""
        standing = self.decision(terms, today)
        assert self.departure_date is not None
        first = first_due or standing.first_due_date
        if first < today:
            raise RuleViolation(
                "first_due_in_the_past",
                f"the schedule must start today ({today.isoformat()}) or later",
            )
        refuse_repayment_before_month_three(first, first_due_date(self.departure_date))
        most = due_dates_until(first, standing.contract_end)
        count = instalments or most
        if count > most or most == 0:
            raise RuleViolation(
                "schedule_beyond_contract",
                f"from {first.isoformat()}, at most {most} monthly instalments fall due by the "
                f"end of the {self.contract_months}-month contract "
                f"({standing.contract_end.isoformat()}), not {count}; a subsidy or a write-off "
                "by the funder is the way out",
                {"most": most, "contract_end": standing.contract_end.isoformat()},
            )
        schedule = restructured_schedule(
            self.balance_idr, self.departure_date, first, count, 1, standing.cap
        )
        self._fix(schedule, now)

    def write_off(
        self,
        write_off_id: uuid.UUID,
        amount_idr: int | None,
        terms: LoanTerms,
        today: date,
        now: datetime,
    ) -> None:
        """The funder takes `amount_idr` off what the participant owes (by default the least
        that lets the longest schedule within the contract fit the cap): the funder's loss. A
        balance written off in full settles the loan."""
        standing = self.decision(terms, today)
        if amount_idr is None:
            amount_idr = standing.shortfall_idr
            if amount_idr == 0:
                raise Conflict(
                    "write_off_not_needed",
                    f"loan {self.id}: {standing.instalments} instalments of at most "
                    f"Rp{standing.smallest_instalment_idr:,} from "
                    f"{standing.first_due_date.isoformat()} already fit the cap of "
                    f"Rp{standing.cap.amount_idr:,}; fix that schedule instead",
                )
        if not 0 < amount_idr <= self.balance_idr:
            raise RuleViolation(
                "write_off_amount",
                f"a write-off is between Rp1 and what is owed, Rp{self.balance_idr:,}; not "
                f"Rp{amount_idr:,}",
            )
        self._write_off(write_off_id, amount_idr, WriteOffReason.UNAFFORDABLE_SCHEDULE, today, now)

    def _write_off(
        self,
        write_off_id: uuid.UUID,
        amount_idr: int,
        reason: WriteOffReason,
        today: date,
        now: datetime,
    ) -> None:
        self.write_offs.append(WriteOff(write_off_id, amount_idr, reason, today, now))
        self.events.append(
            LoanWrittenOff(
                event_id=event_id_for("loan-written-off", write_off_id),
                occurred_at=now,
                agency=self.agency,
                journey_id=self.journey_id,
                loan_id=self.id,
                candidate_id=self.candidate_id,
                reason=reason,
                written_off_on=today,
                written_off_idr=amount_idr,
                balance_idr=max(self.balance_idr, 0),
            )
        )
        if self.status == LoanStatus.NEEDS_DECISION and self.balance_idr <= 0:
            self._settle(today, refund_due=0, now=now)

    def _refuse_unless_awaiting_decision(self) -> None:
        if self.status != LoanStatus.NEEDS_DECISION:
            raise Conflict(
                "no_decision_pending",
                f"loan {self.id} is {self.status}: only a loan whose schedule needs a decision "
                "is scheduled or written off this way",
            )

    def pause_for_early_return(self, returned: EarlyReturned, now: datetime) -> None:
        """Pause the schedule (nothing more falls due) and open a restructuring of the balance.
        A loan already paused, or settled, is left alone."""
        self.refuse_other_journey(returned)
        if self.status == LoanStatus.OPEN:
            raise NotYet(
                "no_schedule_yet",
                f"placement {returned.placement_id} has no repayment schedule yet",
            )
        if self.status not in (LoanStatus.REPAYING, LoanStatus.NEEDS_DECISION):
            return
        self.status = LoanStatus.PAUSED
        self.paused_on = returned.return_date
        self.open_restructuring = Restructuring(
            id=event_id_for(f"restructuring/{returned.return_date.isoformat()}", self.id),
            return_date=returned.return_date,
            reason=returned.reason.value,
            opened_at=now,
        )

    # --- costs and subsidies, while the schedule is not yet fixed ----------------------------

    def add_cost(self, item: CostItem, terms: LoanTerms, today: date) -> None:
        """Charge `item` by the rules in force today; the items charged before stand."""
        lines = self._open_cost_lines()
        rules = terms.charge_rules(self.track, self.channel, today)
        check_cost_item(item, rules, f"loan {self.id}")
        self._check_costs([*(line.item for line in lines), item], rules)
        position = max((line.position for line in lines), default=0) + 1
        lines.append(CostLine(position, item, today))
        self.principal_idr = principal_of(line.item for line in lines)

    def remove_cost(self, code: str, terms: LoanTerms, today: date) -> None:
        lines = self._open_cost_lines()
        if code not in {line.item.code for line in lines}:
            raise NotFound("cost item", code)
        kept = [line for line in lines if line.item.code != code]
        self._check_costs(
            [line.item for line in kept], terms.charge_rules(self.track, self.channel, today)
        )
        self.cost_lines = kept
        self.principal_idr = principal_of(line.item for line in kept)

    def grant_subsidy(self, subsidy: Subsidy, now: datetime) -> None:
        """A subsidy (e.g. Kemnaker-funded BLK training, a cooperative's education subsidy)
        reduces what the participant owes; it is recorded before the schedule is fixed, or as
        a way out of a schedule that needs a decision (one that leaves nothing owed settles
        the loan)."""
        if self.status not in (LoanStatus.OPEN, LoanStatus.NEEDS_DECISION):
            raise Conflict(
                "schedule_fixed",
                f"loan {self.id} is {self.status}: subsidies are granted before the repayment "
                "schedule is fixed",
            )
        reductions = self.subsidised_idr + self.written_off_idr + subsidy.amount_idr
        refuse_subsidy_above_charges(reductions, self.principal_idr)
        self.subsidies.append(subsidy)
        if self.status == LoanStatus.NEEDS_DECISION and self.balance_idr <= 0:
            self._settle(subsidy.granted_on, refund_due=0, now=now)

    def _open_cost_lines(self) -> list[CostLine]:
        if self.status == LoanStatus.CLOSED:
            raise Conflict(
                "loan_closed",
                f"loan {self.id} was closed on {self.closed_on}: the candidate withdrew before "
                "departing",
            )
        if self.status != LoanStatus.OPEN:
            raise Conflict(
                "costs_frozen",
                f"loan {self.id} is {self.status}: the costs are frozen once the participant "
                f"departs (departed on {self.departure_date})",
            )
        if self.cost_lines is None:
            raise RuntimeError(f"loan {self.id} was loaded without its cost items")
        return self.cost_lines

    def _check_costs(self, items: list[CostItem], rules: ChargeRules) -> None:
        check_cost_list(items, rules, f"loan {self.id}")
        refuse_subsidy_above_charges(
            self.subsidised_idr + self.written_off_idr, principal_of(items)
        )

    # --- payments and settlement -------------------------------------------------------------

    def record_payment(
        self,
        payment_id: uuid.UUID,
        reference: str,
        paid_on: date,
        amount_idr: int,
        channel: str,
        today: date,
        now: datetime,
    ) -> bool:
        """Apply the participant's own transfer to the oldest unpaid instalments; the balance
        paid off settles the loan, an over-payment beyond it to be refunded. The same reference
        is the same payment: recorded once, and a repeat changes nothing. Returns whether the
        payment is new."""
        refuse_salary_deduction(channel)
        refuse_future_date("paid_on", paid_on, today)
        earlier = next((p for p in self.payments if p.id == payment_id), None)
        if earlier is not None:
            if (earlier.amount_idr, earlier.paid_on) != (amount_idr, paid_on):
                raise Conflict(
                    "payment_reference_reused",
                    f"reference {reference!r} was recorded as Rp{earlier.amount_idr:,} paid on "
                    f"{earlier.paid_on.isoformat()}; a different transfer needs its own reference",
                )
            return False
        if self.status in (LoanStatus.OPEN, LoanStatus.NEEDS_DECISION):
            raise Conflict("no_schedule_yet", f"loan {self.id} has no repayment schedule yet")
        if self.status == LoanStatus.SETTLED:
            raise Conflict("loan_settled", f"loan {self.id} is settled; nothing is owed")
        if self.status == LoanStatus.CLOSED:
            raise Conflict(
                "loan_closed",
                f"loan {self.id} was closed on {self.closed_on}: the candidate withdrew before "
                "departing, and no schedule is repaid",
            )
        applied, _credit = allocate_payment(self.active_schedule(), amount_idr)
        active = {i.number: i for i in self.instalments if i.superseded_at is None}
        for number, amount in applied:
            active[number].paid_idr += amount
        numbers = tuple(number for number, _ in applied)
        self.payments.append(
            Payment(payment_id, reference, paid_on, amount_idr, channel, numbers, now)
        )
        balance = self.balance_idr
        self.events.append(
            PaymentRecorded(
                event_id=event_id_for("payment-recorded", payment_id),
                agency=self.agency,
                journey_id=self.journey_id,
                loan_id=self.id,
                candidate_id=self.candidate_id,
                payment_id=payment_id,
                paid_on=paid_on,
                amount_idr=amount_idr,
                instalment_numbers=list(numbers),
                balance_idr=max(balance, 0),
                allocations=[
                    InstalmentAllocation(instalment_number=number, amount_idr=amount)
                    for number, amount in applied
                ],
            )
        )
        if balance <= 0:
            self._settle(paid_on, refund_due=-balance, now=now)
        return True

    def _settle(self, settled_on: date, refund_due: int, now: datetime) -> None:
        """Nothing is owed any more; an over-payment beyond the balance is refunded."""
        self.status = LoanStatus.SETTLED
        self.settled_at = now
        self.refund_due_idr = refund_due
        self.events.append(
            LoanSettled(
                event_id=event_id_for("loan-settled", self.id),
                agency=self.agency,
                journey_id=self.journey_id,
                loan_id=self.id,
                candidate_id=self.candidate_id,
                settled_on=settled_on,
                paid_idr=self.paid_idr,
                refund_due_idr=refund_due,
            )
        )

    # --- restructuring -----------------------------------------------------------------------

    def restructure(
        self,
        first_due_date: date,
        instalment_count: int,
        terms: LoanTerms,
        today: date,
        now: datetime,
    ) -> None:
        """A new schedule for the remaining balance from the chosen date; the unpaid instalments
        of the old schedule are superseded. The protective rules apply as to any schedule."""
        opened = self.open_restructuring
        if self.status != LoanStatus.PAUSED or opened is None:
            raise Conflict(
                "no_open_restructuring",
                f"loan {self.id} is {self.status}: only a loan paused by an early return is "
                "restructured",
            )
        if first_due_date < today:
            raise RuleViolation(
                "first_due_in_the_past",
                f"the new schedule must start today ({today.isoformat()}) or later",
            )
        cap = terms.cap_for(self.monthly_wage_jpy, today) if self.monthly_wage_jpy else None
        assert self.departure_date is not None  # a paused loan has departed
        schedule = restructured_schedule(
            self.balance_idr,
            self.departure_date,
            first_due_date,
            instalment_count,
            max((i.number for i in self.instalments), default=0) + 1,
            cap,
        )
        for instalment in self.instalments:
            if instalment.superseded_at is None and instalment.paid_idr < instalment.amount_idr:
                instalment.superseded_at = now
        self._add_instalments(schedule)
        opened.first_due_date = first_due_date
        opened.instalments = len(schedule)
        opened.decided_at = now
        self.open_restructuring = None
        self.status = LoanStatus.REPAYING
        self.events.append(
            LoanRestructured(
                event_id=event_id_for("loan-restructured", opened.id),
                agency=self.agency,
                journey_id=self.journey_id,
                loan_id=self.id,
                candidate_id=self.candidate_id,
                first_due_date=first_due_date,
                instalments=len(schedule),
                balance_idr=sum(i.amount_idr for i in schedule),
            )
        )

    def _add_instalments(self, schedule: Sequence[Instalment]) -> None:
        self.instalments += [
            ScheduledInstalment(i.number, i.due_date, i.amount_idr) for i in schedule
        ]


@dataclass(eq=False)
class DueInstalment:
    """An instalment due by today that nobody was told of yet, with what its RepaymentDue names
    of its loan."""

    loan_id: uuid.UUID
    number: int
    due_date: date
    amount_idr: int
    paid_idr: int
    agency: str
    journey_id: uuid.UUID
    candidate_id: uuid.UUID
    announced_at: datetime | None = None
    events: list[Event] = field(default_factory=list)

    @property
    def id(self) -> uuid.UUID:
        return instalment_id_for(self.loan_id, self.number)

    def announce(self, now: datetime) -> None:
        """Tell the participant it is due: what is still owed on it (credit from an earlier
        over-payment counts)."""
        if self.announced_at is not None:
            return
        self.announced_at = now
        self.events.append(
            RepaymentDue(
                event_id=event_id_for("repayment-due", self.id),
                occurred_at=now,
                agency=self.agency,
                journey_id=self.journey_id,
                loan_id=self.loan_id,
                candidate_id=self.candidate_id,
                instalment_number=self.number,
                due_date=self.due_date,
                amount_idr=self.amount_idr - self.paid_idr,
                scheduled_amount_idr=self.amount_idr,
            )
        )


@dataclass(frozen=True)
class Funder:
    id: uuid.UUID
    name: str
    created_at: datetime
