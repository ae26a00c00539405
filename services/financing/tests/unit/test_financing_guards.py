"""Every protective rule refuses a breach with its rule code and a reason an operator can act on."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jembatan_contracts import Track
from jembatan_financing.domain.costs import CostItem
from jembatan_financing.domain.guards import (
    check_cost_items,
    instalment_cap,
    refuse_salary_deduction,
    refuse_subsidy_above_charges,
)
from jembatan_financing.domain.model import (
    InstalmentState,
    LoanTerms,
    allocate_payment,
    arrears_as_of,
    first_due_date,
    repayment_schedule,
    restructured_schedule,
)
from jembatan_financing.domain.terms import Affordability, ExchangeRate
from jembatan_kit.errors import RuleViolation

RATE = ExchangeRate(date(2026, 1, 2), Decimal("107.50"), "test")
QUARTER = Affordability(date(2024, 1, 1), 25)
FLIGHT = CostItem("flight", "Flight to Japan", 6_000_000)


def _refused(call: object, *args: object, **kwargs: object) -> RuleViolation:
    with pytest.raises(RuleViolation) as refused:
        call(*args, **kwargs)  # type: ignore[operator]
    return refused.value


@pytest.mark.parametrize("code", ["placement_fee", "support_costs", "recruitment_fee"])
def test_ssw_workers_are_not_charged_what_the_japanese_side_bears(code: str) -> None:
    rules = LoanTerms().charge_rules(Track.SSW, "private_lpk", date(2026, 11, 1))
    item = CostItem(code, "Fee", 3_000_000)
    refused = _refused(check_cost_items, [FLIGHT, item], rules, "loan")
    assert refused.rule == "ssw_employer_borne_cost"
    assert "may not be charged" in refused.message and "receiving organisation" in refused.message
    titp = LoanTerms().charge_rules(Track.TITP, "private_lpk", date(2026, 11, 1))
    refused = _refused(check_cost_items, [FLIGHT, item], titp, "loan")
    assert refused.rule == "charge_not_allowed"  # TITP: not a category it may be charged for


def test_repayment_only_by_own_transfer() -> None:
    refused = _refused(refuse_salary_deduction, "salary_deduction")
    assert refused.rule == "no_salary_deduction"
    assert "never by deduction from the wage" in refused.message
    refuse_salary_deduction("own_transfer")


def test_an_instalment_above_the_share_of_the_wage_is_refused() -> None:
    cap = instalment_cap(100_000, QUARTER, RATE)
    assert cap.amount_idr == 2_687_500  # 25% of JPY100,000 at Rp107.50
    refused = _refused(repayment_schedule, 30_000_000, date(2027, 1, 15), 5, 12, cap)
    assert refused.rule == "instalment_above_affordability_cap"
    assert "spread the balance over more instalments" in refused.message


def test_more_instalments_rather_than_breaching_the_cap() -> None:
    cap = instalment_cap(100_000, QUARTER, RATE)
    schedule = repayment_schedule(30_000_000, date(2027, 1, 15), 36, 6, cap)
    assert len(schedule) == 12  # beyond the usual 6, within the 36-month contract
    assert max(i.amount_idr for i in schedule) <= cap.amount_idr


def test_subsidies_cannot_exceed_the_charges() -> None:
    assert _refused(refuse_subsidy_above_charges, 2, 1).rule == "subsidy_exceeds_charges"


def test_a_restructured_schedule_keeps_the_rules() -> None:
    cap = instalment_cap(100_000, QUARTER, RATE)
    departure = date(2027, 1, 15)
    early = _refused(restructured_schedule, 1_000_000, departure, date(2027, 3, 1), 2, 4, cap)
    assert early.rule == "repayment_before_month_three"
    too_big = _refused(restructured_schedule, 9_000_000, departure, date(2027, 9, 1), 2, 4, cap)
    assert too_big.rule == "instalment_above_affordability_cap"
    schedule = restructured_schedule(9_000_000, departure, date(2027, 9, 1), 4, 4, cap)
    assert [i.number for i in schedule] == [4, 5, 6, 7]
    assert sum(i.amount_idr for i in schedule) == 9_000_000


def test_shipped_costs_obey_the_guards_and_are_dated() -> None:
    terms = LoanTerms()
    assert terms.costs_for(Track.SSW, date(2026, 11, 25))
    with pytest.raises(RuleViolation) as refused:
        terms.costs_for(Track.SSW, date(2020, 1, 1))
    assert refused.value.rule == "no_default_costs"


def test_over_payment_is_credit_toward_the_next_instalments() -> None:
    schedule = [InstalmentState(n, date(2027, n, 1), 100, 0) for n in (1, 2, 3)]
    assert allocate_payment(schedule, 150) == ([(1, 100), (2, 50)], 0)
    assert allocate_payment(schedule, 400) == ([(1, 100), (2, 100), (3, 100)], 100)


@pytest.mark.parametrize(
    ("today", "bucket"),
    [
        (date(2027, 1, 1), "current"),
        (date(2027, 1, 2), "1-30"),
        (date(2027, 2, 1), "31-60"),
        (date(2027, 3, 3), "61-90"),
        (date(2027, 4, 2), "90+"),
    ],
)
def test_arrears_buckets(today: date, bucket: str) -> None:
    schedule = [InstalmentState(1, date(2027, 1, 1), 100, 40)]
    arrears = arrears_as_of(schedule, today)
    assert arrears.bucket == bucket
    assert arrears.amount_idr == (0 if bucket == "current" else 60)


@given(
    st.integers(min_value=1, max_value=200_000_000),
    st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31)),
    st.integers(min_value=1, max_value=60),
    st.integers(min_value=1, max_value=24),
    st.integers(min_value=10_000, max_value=400_000),
)
def test_no_instalment_is_ever_above_the_cap(
    principal: int, departure: date, contract_months: int, maximum: int, wage_jpy: int
) -> None:
    cap = instalment_cap(wage_jpy, QUARTER, RATE)
    try:
        schedule = repayment_schedule(principal, departure, contract_months, maximum, cap)
    except RuleViolation as refused:
        assert refused.rule == "instalment_above_affordability_cap"
        # Refused only when even one instalment per contract month from month 3 is too much.
        assert -(-principal // max(1, contract_months - 2)) > cap.amount_idr
        return
    assert sum(i.amount_idr for i in schedule) == principal
    assert all(i.amount_idr <= cap.amount_idr for i in schedule)
    assert schedule[0].due_date == first_due_date(departure)
    assert len(schedule) <= max(1, contract_months - 2)
