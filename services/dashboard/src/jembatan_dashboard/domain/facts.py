"""What events tell the read model, merged as the read model merges them. Pure: no I/O.

Each fact is merged the same way whether it meets an earlier fact in the same list of events or
one already stored (`adapters/repository.py` writes the second half of the rule):
- a candidate's or a loan's agency, and a candidate's track: the first given stays;
- the day a stage was reached, the day a loan's schedule was fixed, it was settled or closed:
  the earliest day told wins;
- a day's score, a candidate's national identity check: the later told wins (on a tie, the one
  first told stays);
- a drop-out, an announced instalment, a payment, a restructuring, a write-off, a schedule
  awaiting a decision: the first told of its key stays (told again, it is the same fact).
So any list of events gives the same facts as its events told one at a time, in order.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime

from .stages import DropOutKind

DAY_COLUMNS = (
    "registered_on",
    "in_training_on",
    "certified_on",
    "ready_on",
    "placed_on",
    "departed_on",
    "repaying_on",
    "settled_on",
    "withdrawn_on",
    "returned_on",
)
"""The days the read model keeps for each candidate: the first day of each stage
(domain/stages.py), and of a withdrawal or an early return."""


@dataclass
class CandidateFacts:
    agency: str
    track: str | None = None
    days: dict[str, date] = field(default_factory=dict)
    """Of `DAY_COLUMNS`, those told: the earliest day of each."""


@dataclass(frozen=True)
class DropOut:
    candidate_id: uuid.UUID
    agency: str
    kind: DropOutKind
    reason: str
    day: date


@dataclass(frozen=True)
class Score:
    agency: str
    score: int
    cohort_id: uuid.UUID | None
    cohort_name: str | None
    training_centre: str | None
    recorded_at: datetime


LOAN_DAY_COLUMNS = ("settled_on", "schedule_fixed_on", "closed_on")
"""The days the read model keeps for each loan: when it was settled, when its repayment schedule
was fixed, when it was closed without one (its candidate never departed)."""


@dataclass
class LoanFacts:
    candidate_id: uuid.UUID
    agency: str
    settled_on: date | None = None
    schedule_fixed_on: date | None = None
    closed_on: date | None = None


@dataclass(frozen=True)
class InstalmentDue:
    due_date: date
    amount_idr: int
    """What was still owed on the instalment when it was announced."""
    announced_at: datetime
    scheduled_amount_idr: int | None = None
    """The instalment's scheduled amount; None when told by a RepaymentDue before 1.1."""


@dataclass(frozen=True)
class Payment:
    loan_id: uuid.UUID
    amount_idr: int
    instalment_numbers: tuple[int, ...]
    recorded_at: datetime
    paid_on: date
    allocations: tuple[tuple[int, int], ...] | None = None
    """(instalment number, amount) paid of each instalment; None when told by a PaymentRecorded
    before 1.1."""


@dataclass(frozen=True)
class Restructuring:
    loan_id: uuid.UUID
    restructured_at: datetime
    first_due_date: date


@dataclass(frozen=True)
class WriteOff:
    """What the funder wrote off of a loan: its loss."""

    loan_id: uuid.UUID
    reason: str
    amount_idr: int
    written_off_on: date


@dataclass(frozen=True)
class DecisionNeeded:
    """A loan no repayment schedule within the contract fits, as it stood when financing asked
    for a decision."""

    reason: str
    departure_date: date
    owed_idr: int
    shortfall_idr: int
    recorded_at: datetime


@dataclass(frozen=True)
class NationalCheck:
    """Where the national identity index stands on a candidate, as registration told it:
    provisional, duplicate, suspended or cleared."""

    agency: str
    check: str
    told_at: datetime


@dataclass
class Facts:
    """The facts of a list of events, each key once, merged in the order they were told."""

    candidates: dict[uuid.UUID, CandidateFacts] = field(default_factory=dict)
    drop_outs: dict[uuid.UUID, DropOut] = field(default_factory=dict)
    """By the id of the event that told it."""
    scores: dict[tuple[uuid.UUID, date], Score] = field(default_factory=dict)
    """By candidate and day scored."""
    loans: dict[uuid.UUID, LoanFacts] = field(default_factory=dict)
    instalments_due: dict[tuple[uuid.UUID, int], InstalmentDue] = field(default_factory=dict)
    """By loan and instalment number."""
    payments: dict[uuid.UUID, Payment] = field(default_factory=dict)
    restructurings: dict[uuid.UUID, Restructuring] = field(default_factory=dict)
    """By the id of the event that told it."""
    write_offs: dict[uuid.UUID, WriteOff] = field(default_factory=dict)
    """By the id of the event that told it."""
    decisions_needed: dict[uuid.UUID, DecisionNeeded] = field(default_factory=dict)
    """By loan."""
    national_checks: dict[uuid.UUID, NationalCheck] = field(default_factory=dict)
    """By candidate: the later told wins."""

    def candidate(
        self, candidate_id: uuid.UUID, agency: str, track: str | None = None, **days: date
    ) -> None:
        """A candidate of `agency`, on `track` if given, who reached each of `days` (keywords of
        `DAY_COLUMNS`) on that day."""
        facts = self.candidates.setdefault(candidate_id, CandidateFacts(agency))
        if facts.track is None:
            facts.track = track
        for column, day in days.items():
            if column not in DAY_COLUMNS:
                raise ValueError(f"the read model keeps no day {column!r}")
            known = facts.days.get(column)
            if known is None or day < known:
                facts.days[column] = day

    def national_check(self, candidate_id: uuid.UUID, told: NationalCheck) -> None:
        known = self.national_checks.get(candidate_id)
        if known is None or known.told_at < told.told_at:
            self.national_checks[candidate_id] = told

    def drop_out(self, event_id: uuid.UUID, drop_out: DropOut) -> None:
        self.drop_outs.setdefault(event_id, drop_out)

    def score(self, candidate_id: uuid.UUID, day: date, score: Score) -> None:
        known = self.scores.get((candidate_id, day))
        if known is None or known.recorded_at < score.recorded_at:
            self.scores[(candidate_id, day)] = score

    def loan(self, loan_id: uuid.UUID, candidate_id: uuid.UUID, agency: str, **days: date) -> None:
        """A loan of `candidate_id`, of `agency`, that reached each of `days` (keywords of
        `LOAN_DAY_COLUMNS`) on that day."""
        facts = self.loans.setdefault(loan_id, LoanFacts(candidate_id, agency))
        for column, day in days.items():
            if column not in LOAN_DAY_COLUMNS:
                raise ValueError(f"the read model keeps no loan day {column!r}")
            known = getattr(facts, column)
            if known is None or day < known:
                setattr(facts, column, day)

    def instalment_due(self, loan_id: uuid.UUID, number: int, due: InstalmentDue) -> None:
        self.instalments_due.setdefault((loan_id, number), due)

    def payment(self, payment_id: uuid.UUID, payment: Payment) -> None:
        self.payments.setdefault(payment_id, payment)

    def restructuring(self, event_id: uuid.UUID, restructuring: Restructuring) -> None:
        self.restructurings.setdefault(event_id, restructuring)

    def write_off(self, event_id: uuid.UUID, write_off: WriteOff) -> None:
        self.write_offs.setdefault(event_id, write_off)

    def decision_needed(self, loan_id: uuid.UUID, decision: DecisionNeeded) -> None:
        self.decisions_needed.setdefault(loan_id, decision)
