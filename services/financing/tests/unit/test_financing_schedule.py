"""The repayment schedule: when instalments fall due and how the principal is split."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jembatan_financing.domain.model import (
    add_months,
    first_due_date,
    instalment_count,
    repayment_schedule,
    split_principal,
)
from jembatan_kit.errors import RuleViolation

principals = st.integers(min_value=1, max_value=10**12)
counts = st.integers(min_value=1, max_value=120)
departures = st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31))


@pytest.mark.parametrize(
    ("departure", "first_due"),
    [
        (date(2027, 1, 15), date(2027, 4, 15)),
        (date(2026, 11, 30), date(2027, 2, 28)),
        (date(2027, 11, 30), date(2028, 2, 29)),
        (date(2027, 10, 31), date(2028, 1, 31)),
        (date(2027, 12, 31), date(2028, 3, 31)),
        (date(2027, 5, 31), date(2027, 8, 31)),
        (date(2027, 6, 30), date(2027, 9, 30)),
    ],
)
def test_first_instalment_falls_due_three_calendar_months_after_departure(
    departure: date, first_due: date
) -> None:
    assert first_due_date(departure) == first_due


def test_later_instalments_count_from_departure_so_a_short_month_does_not_drift() -> None:
    schedule = repayment_schedule(3_000_000, date(2026, 11, 30), 5, 12)
    assert [i.due_date for i in schedule] == [
        date(2027, 2, 28),
        date(2027, 3, 30),
        date(2027, 4, 30),
    ]


@given(departures)
def test_first_due_is_three_calendar_months_later_day_clamped(departure: date) -> None:
    due = first_due_date(departure)
    months_later = (due.year - departure.year) * 12 + due.month - departure.month
    assert months_later == 3
    if due.day != departure.day:
        # Only a shorter month moves the day, and then to that month's last day.
        assert due.day < departure.day
        assert (due + timedelta(days=1)).month != due.month


@given(principals, counts)
def test_instalments_sum_to_the_principal(principal: int, count: int) -> None:
    assert sum(split_principal(principal, count)) == principal


@given(principals, counts)
def test_all_instalments_are_equal_but_the_last_which_takes_the_remainder(
    principal: int, count: int
) -> None:
    amounts = split_principal(principal, count)
    assert len(amounts) == count
    assert len(set(amounts[:-1])) <= 1
    assert 0 <= amounts[-1] - amounts[0] < count


@given(principals, departures, st.integers(min_value=1, max_value=120), st.integers(1, 60))
def test_a_schedule_is_monthly_positive_and_never_starts_before_month_three(
    principal: int, departure: date, contract_months: int, max_instalments: int
) -> None:
    schedule = repayment_schedule(principal, departure, contract_months, max_instalments)
    assert sum(i.amount_idr for i in schedule) == principal
    assert all(i.amount_idr > 0 for i in schedule)
    assert [i.number for i in schedule] == list(range(1, len(schedule) + 1))
    assert schedule[0].due_date == first_due_date(departure)
    for index, instalment in enumerate(schedule):
        assert instalment.due_date == add_months(departure, 3 + index)
        assert isinstance(instalment.amount_idr, int)


@pytest.mark.parametrize(
    ("contract_months", "maximum", "principal", "expected"),
    [
        (36, 12, 12_500_000, 12),  # a 3-year TITP contract: capped at the configured 12
        (12, 12, 30_000_000, 10),  # a 1-year SSW contract: months 3 to 12
        (3, 12, 30_000_000, 1),
        (1, 12, 30_000_000, 1),  # contract shorter than the grace period: still one instalment
        (36, 12, 5, 5),  # never more instalments than rupiah
    ],
)
def test_instalment_count(
    contract_months: int, maximum: int, principal: int, expected: int
) -> None:
    assert instalment_count(contract_months, maximum, principal) == expected


def test_a_schedule_needs_something_to_repay() -> None:
    with pytest.raises(RuleViolation) as refused:
        repayment_schedule(0, date(2027, 1, 15), 36, 12)
    assert refused.value.rule == "nothing_to_repay"


def test_an_even_split() -> None:
    assert split_principal(12_500_000, 12) == [1_041_666] * 11 + [1_041_674]
