"""Loans in arrears, from what financing announces (`RepaymentDue`), what participants pay
(`PaymentRecorded`), restructurings and early returns. Pure: no I/O.

Financing announces an instalment on its due date with what is still owed on it (earlier credit
already counted), and allocates a payment to the oldest unpaid instalments first. So taking the
loan's facts in the order of their business dates (due dates, payment dates; on one day the
announcement first) gives what is still owed on each announced instalment, whatever order the
events arrived in and whichever clock stamped them. A payment made on the due date but before
the announcement, and only part of the instalment, is counted twice (financing already netted
it): arrears may then be understated by that part. The buckets are financing's reporting buckets.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from jembatan_contracts import ArrearsBucket, bucket_for

ARREARS_BUCKETS = (
    ArrearsBucket.DAYS_1_30,
    ArrearsBucket.DAYS_31_60,
    ArrearsBucket.DAYS_61_90,
    ArrearsBucket.DAYS_OVER_90,
)


@dataclass(frozen=True)
class Announced:
    """An instalment financing announced as due, with what was owed on it then."""

    number: int
    due_date: date
    amount_idr: int


@dataclass(frozen=True)
class Paid:
    amount_idr: int
    instalment_numbers: tuple[int, ...]
    paid_on: date


@dataclass(frozen=True)
class Arrears:
    amount_idr: int
    days_past_due: int
    bucket: ArrearsBucket


def paused_on(returned_on: date | None, restructured_from: Sequence[date]) -> date | None:
    """The day an early return paused the loan: the return date, unless the loan was
    restructured since (a new schedule starting on or after the return)."""
    if returned_on is None or any(day >= returned_on for day in restructured_from):
        return None
    return returned_on


def arrears_of_loan(
    announced: Iterable[Announced],
    payments: Iterable[Paid],
    restructured_from: Sequence[date],
    today: date,
    paused_on: date | None = None,
) -> Arrears:
    """What is unpaid after its due date on one loan, and for how long the oldest of it.

    A restructuring supersedes the instalments due before its new schedule starts
    (`restructured_from`, the new first due dates); a loan paused by an early return (and not
    restructured since) accrues no arrears after the return date.
    """
    owed: dict[int, int] = {}
    due_on: dict[int, date] = {}
    facts: list[tuple[date, int, Announced | Paid]] = [(a.due_date, 0, a) for a in announced]
    facts += [(p.paid_on, 1, p) for p in payments]
    for _, _, fact in sorted(facts, key=lambda f: (f[0], f[1])):
        if isinstance(fact, Announced):
            owed[fact.number] = fact.amount_idr
            due_on[fact.number] = fact.due_date
            continue
        left = fact.amount_idr
        for number in sorted(fact.instalment_numbers):
            if number in owed and left > 0:
                take = min(owed[number], left)
                owed[number] -= take
                left -= take
    superseded_before = max(restructured_from, default=None)
    as_of = min(today, paused_on) if paused_on is not None else today
    overdue = [
        number
        for number, amount in owed.items()
        if amount > 0
        and due_on[number] < as_of
        and (superseded_before is None or due_on[number] >= superseded_before)
    ]
    if not overdue:
        return Arrears(0, 0, ArrearsBucket.CURRENT)
    days = (as_of - min(due_on[number] for number in overdue)).days
    return Arrears(sum(owed[number] for number in overdue), days, bucket_for(days))
