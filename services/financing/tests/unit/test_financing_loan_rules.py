"""The rules that protect participants: itemised costs, no forbidden charges, whole rupiah."""

from __future__ import annotations

import uuid

import pytest
from pydantic import ValidationError

from jembatan_contracts import Track
from jembatan_financing.config import FinancingSettings
from jembatan_financing.domain.model import (
    CostItem,
    LoanTerms,
    check_cost_items,
    event_id_for,
    instalment_id_for,
    loan_id_for,
    principal_of,
)
from jembatan_kit.errors import RuleViolation

FLIGHT = CostItem("flight", "Flight to Japan", 5_500_000)


@pytest.mark.parametrize("code", ["deposit", "penalty", "forced_savings", "Forced_Savings"])
def test_deposits_penalties_and_forced_savings_are_refused(code: str) -> None:
    with pytest.raises(RuleViolation) as refused:
        check_cost_items([FLIGHT, CostItem(code, "Kept until the contract ends", 2_000_000)])
    assert refused.value.rule == "forbidden_charge"
    assert "may not be charged to a participant" in refused.value.message


@pytest.mark.parametrize(
    ("item", "rule"),
    [
        (CostItem("visa", "Visa", 0), "cost_item_amount"),
        (CostItem("visa", "Visa", -1), "cost_item_amount"),
        (CostItem("visa", "Visa", 500_000.0), "cost_item_amount"),  # type: ignore[arg-type]
        (CostItem("visa", "  ", 500_000), "cost_item_undescribed"),
        (CostItem("flight", "Second flight", 1), "duplicate_cost_item"),
    ],
)
def test_each_cost_item_is_named_positive_and_whole_rupiah(item: CostItem, rule: str) -> None:
    with pytest.raises(RuleViolation) as refused:
        check_cost_items([FLIGHT, item])
    assert refused.value.rule == rule


def test_a_loan_needs_at_least_one_cost_item() -> None:
    with pytest.raises(RuleViolation) as refused:
        check_cost_items([])
    assert refused.value.rule == "no_cost_items"


def test_terms_with_a_forbidden_default_charge_are_refused() -> None:
    with pytest.raises(RuleViolation):
        LoanTerms({Track.SSW: (FLIGHT, CostItem("deposit", "Deposit", 1_000_000))})


def test_terms_without_costs_for_a_track_say_so() -> None:
    terms = LoanTerms({Track.SSW: (FLIGHT,)})
    with pytest.raises(RuleViolation) as refused:
        terms.costs_for(Track.TITP)
    assert refused.value.rule == "no_default_costs"


def test_default_costs_are_within_the_typical_ranges() -> None:
    terms = FinancingSettings().loan_terms()
    assert 10_000_000 <= principal_of(terms.costs_for(Track.TITP)) <= 15_000_000
    assert 25_000_000 <= principal_of(terms.costs_for(Track.SSW)) <= 35_000_000


def test_default_costs_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "DEFAULT_COSTS",
        '{"SSW": [{"code": "flight", "description": "Flight", "amount_idr": 7000000}]}',
    )
    terms = FinancingSettings().loan_terms()
    assert terms.costs_for(Track.SSW) == (CostItem("flight", "Flight", 7_000_000),)


def test_fractional_rupiah_in_the_configuration_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "DEFAULT_COSTS",
        '{"SSW": [{"code": "flight", "description": "Flight", "amount_idr": 7000000.5}]}',
    )
    with pytest.raises(ValidationError):
        FinancingSettings()


def test_ids_are_deterministic_so_repeats_produce_the_same_rows_and_events() -> None:
    placement = uuid.uuid4()
    assert loan_id_for(placement) == loan_id_for(placement)
    loan = loan_id_for(placement)
    assert instalment_id_for(loan, 1) != instalment_id_for(loan, 2)
    assert event_id_for("repayment-due", loan) != event_id_for("loan-opened", loan)
