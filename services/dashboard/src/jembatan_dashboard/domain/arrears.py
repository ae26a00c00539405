"""Loans in arrears, from what financing announces (`RepaymentDue`), what participants pay
(`PaymentRecorded`), restructurings and early returns. Pure: no I/O.

Financing allocates a payment to the oldest unpaid instalments first and announces an instalment
when it falls due with what is still owed on it (earlier credit already counted). So replaying the
loan's facts in the order financing recorded them (its `occurred_at`) gives what is still owed on
each announced instalment. The buckets are financing's reporting buckets.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum


class ArrearsBucket(StrEnum):
    CURRENT = "current"
    DAYS_1_30 = "1-30"
    DAYS_31_60 = "31-60"
    DAYS_61_90 = "61-90"
    DAYS_OVER_90 = "90+"


ARREARS_BUCKETS = (
    ArrearsBucket.DAYS_1_30,
    ArrearsBucket.DAYS_31_60,
    ArrearsBucket.DAYS_61_90,
    ArrearsBucket.DAYS_OVER_90,
)


def bucket_for(days_past_due: int) -> ArrearsBucket:
    if days_past_due <= 0:
        return ArrearsBucket.CURRENT
    if days_past_due <= 30:
        return ArrearsBucket.DAYS_1_30
    if days_past_due <= 60:
        return ArrearsBucket.DAYS_31_60
    if days_past_due <= 90:
        return ArrearsBucket.DAYS_61_90
    return ArrearsBucket.DAYS_OVER_90


@dataclass(frozen=True)
class Announced:
    """An instalment financing announced as due, with what was owed on it then."""

    number: int
    due_date: date
    amount_idr: int
    at: datetime


@dataclass(frozen=True)
class Paid:
    amount_idr: int
    instalment_numbers: tuple[int, ...]
    at: datetime


@dataclass(frozen=True)
class Arrears:
    amount_idr: int
    days_past_due: int
    bucket: ArrearsBucket


def arrears_of_loan(
    announced: Iterable[Announced],
    payments: Iterable[Paid],
    restructured_at: Sequence[datetime],
    today: date,
    paused_on: date | None = None,
) -> Arrears:
    """What is unpaid after its due date on one loan, and for how long the oldest of it.

    A restructuring supersedes whatever was unpaid when it happened; a loan paused by an early
    return (and not restructured since) accrues no arrears after the return date.
    """
    outstanding: dict[int, Announced] = {}
    owed: dict[int, int] = {}
    facts: list[tuple[datetime, int, object]] = [(a.at, 0, a) for a in announced]
    facts += [(p.at, 1, p) for p in payments]
    facts += [(at, 2, None) for at in restructured_at]
    for _, _, fact in sorted(facts, key=lambda f: (f[0], f[1])):
        if isinstance(fact, Announced):
            outstanding[fact.number] = fact
            owed[fact.number] = fact.amount_idr
        elif isinstance(fact, Paid):
            left = fact.amount_idr
            for number in sorted(fact.instalment_numbers):
                if number in owed and left > 0:
                    take = min(owed[number], left)
                    owed[number] -= take
                    left -= take
        else:
            outstanding.clear()
            owed.clear()
    as_of = min(today, paused_on) if paused_on is not None else today
    overdue = [i for n, i in outstanding.items() if owed[n] > 0 and i.due_date < as_of]
    if not overdue:
        return Arrears(0, 0, ArrearsBucket.CURRENT)
    days = (as_of - min(i.due_date for i in overdue)).days
    return Arrears(sum(owed[i.number] for i in overdue), days, bucket_for(days))
