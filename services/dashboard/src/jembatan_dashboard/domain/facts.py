"""What events tell the read model, merged as the read model merges them. Pure: no I/O.

Each fact is merged the same way whether it meets an earlier fact in the same list of events or
one already stored (`adapters/repository.py` writes the second half of the rule):
- a candidate's or a loan's agency, and a candidate's track: the first given stays;
- the day a stage was reached, a loan's settlement: the earliest day told wins;
- a day's score: the later recording wins (on a tie, the one first told stays);
- a drop-out, an announced instalment, a payment, a restructuring: the first told of its key
  stays (told again, it is the same fact).
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


@dataclass
class LoanFacts:
    candidate_id: uuid.UUID
    agency: str
    settled_on: date | None = None


@dataclass(frozen=True)
class InstalmentDue:
    due_date: date
    amount_idr: int
    announced_at: datetime


@dataclass(frozen=True)
class Payment:
    loan_id: uuid.UUID
    amount_idr: int
    instalment_numbers: tuple[int, ...]
    recorded_at: datetime
    paid_on: date


@dataclass(frozen=True)
class Restructuring:
    loan_id: uuid.UUID
    restructured_at: datetime
    first_due_date: date


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

    def drop_out(self, event_id: uuid.UUID, drop_out: DropOut) -> None:
        self.drop_outs.setdefault(event_id, drop_out)

    def score(self, candidate_id: uuid.UUID, day: date, score: Score) -> None:
        known = self.scores.get((candidate_id, day))
        if known is None or known.recorded_at < score.recorded_at:
            self.scores[(candidate_id, day)] = score

    def loan(
        self,
        loan_id: uuid.UUID,
        candidate_id: uuid.UUID,
        agency: str,
        settled_on: date | None = None,
    ) -> None:
        facts = self.loans.setdefault(loan_id, LoanFacts(candidate_id, agency))
        if settled_on is not None and (facts.settled_on is None or settled_on < facts.settled_on):
            facts.settled_on = settled_on

    def instalment_due(self, loan_id: uuid.UUID, number: int, due: InstalmentDue) -> None:
        self.instalments_due.setdefault((loan_id, number), due)

    def payment(self, payment_id: uuid.UUID, payment: Payment) -> None:
        self.payments.setdefault(payment_id, payment)

    def restructuring(self, event_id: uuid.UUID, restructuring: Restructuring) -> None:
        self.restructurings.setdefault(event_id, restructuring)
