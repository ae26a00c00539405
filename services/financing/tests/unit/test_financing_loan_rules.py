"""The rules that protect participants: itemised costs, no forbidden charges, whole rupiah."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from pydantic import ValidationError

from jembatan_contracts import Track
from jembatan_contracts.ids import new_id
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
RULES = LoanTerms().charge_rules(Track.TITP, "im_japan", date(2026, 11, 1))


@pytest.mark.parametrize(
    "code",
    [
        "deposit",
        "penalty",
        "forced_savings",
        "Forced_Savings",
        "security_deposit",
        "uang_jaminan",
        "penalty_fee",
        "biaya_denda",
        "savings",
        "tabungan_wajib",
    ],
)
def test_deposits_penalties_and_forced_savings_are_refused(code: str) -> None:
    with pytest.raises(RuleViolation) as refused:
        check_cost_items([FLIGHT, CostItem(code, "Kept until the contract ends", 2_000_000)], RULES)
    assert refused.value.rule == "forbidden_charge"
    assert "may not be charged to a participant" in refused.value.message
    assert "TITP Act art. 47-48" in refused.value.message


@pytest.mark.parametrize(
    "description", ["Uang jaminan", "Security deposit", "Denda pelanggaran", "Tabungan wajib"]
)
def test_a_forbidden_charge_filed_under_an_allowed_category_is_refused(description: str) -> None:
    with pytest.raises(RuleViolation) as refused:
        check_cost_items([FLIGHT, CostItem("training", description, 1_000_000)], RULES)
    assert refused.value.rule == "forbidden_charge"


@pytest.mark.parametrize("code", ["uniform", "administration", "sponsor_fee", "bond"])
def test_anything_outside_the_allowed_categories_is_refused(code: str) -> None:
    with pytest.raises(RuleViolation) as refused:
        check_cost_items([FLIGHT, CostItem(code, "A fee", 1_000_000)], RULES)
    assert refused.value.rule == "charge_not_allowed"
    assert "training, medical, documents" in refused.value.message


def test_the_principal_above_its_maximum_is_refused_naming_it() -> None:
    huge = CostItem("training", "Training", 430_000_000)
    with pytest.raises(RuleViolation) as refused:
        check_cost_items([huge], RULES)
    assert refused.value.rule == "principal_above_maximum"
    assert "Rp15,000,000" in refused.value.message and "IM Japan" in refused.value.message
    private = LoanTerms().charge_rules(Track.TITP, "private_lpk", date(2026, 11, 1))
    check_cost_items([CostItem("training", "Training", 35_000_000)], private)


def test_a_loan_without_a_recorded_channel_is_held_to_the_lowest_maximum() -> None:
    rules = LoanTerms().charge_rules(Track.TITP, None, date(2026, 11, 1))
    assert (rules.channel, rules.principal_maximum.max_idr) == ("im_japan", 15_000_000)


def test_a_public_maximum_applies_from_its_date() -> None:
    passport = CostItem("passport", "Passport", 1_200_000)
    terms = LoanTerms()
    with pytest.raises(RuleViolation) as refused:
        check_cost_items([passport], terms.charge_rules(Track.SSW, "private_lpk", date(2025, 1, 1)))
    assert refused.value.rule == "charge_above_maximum"
    check_cost_items([passport], terms.charge_rules(Track.SSW, "private_lpk", date(2024, 6, 1)))


def test_the_channel_is_told_by_the_supervising_organisation() -> None:
    terms = LoanTerms()
    day = date(2026, 11, 1)
    assert terms.dated.channel_of(Track.TITP, " im japan ", day) == "im_japan"
    assert terms.dated.channel_of(Track.TITP, "JOE Cooperative", day) == "private_lpk"
    assert terms.dated.channel_of(Track.SSW, "IM Japan", day) == "private_lpk"


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
        check_cost_items([FLIGHT, item], RULES)
    assert refused.value.rule == rule


def test_a_loan_needs_at_least_one_cost_item() -> None:
    with pytest.raises(RuleViolation) as refused:
        check_cost_items([], RULES)
    assert refused.value.rule == "no_cost_items"


def test_terms_with_a_forbidden_default_charge_are_refused() -> None:
    with pytest.raises(RuleViolation) as refused:
        LoanTerms({Track.SSW: (FLIGHT, CostItem("deposit", "Deposit", 1_000_000))})
    assert refused.value.rule == "forbidden_charge"


def test_terms_with_default_costs_above_a_channels_maximum_are_refused() -> None:
    with pytest.raises(RuleViolation) as refused:
        LoanTerms({Track.TITP: (FLIGHT, CostItem("training", "Training", 10_000_000))})
    assert refused.value.rule == "principal_above_maximum"
    assert "via im_japan" in refused.value.message


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


def test_loans_sort_as_their_placements_were_made_and_their_parts_beside_them() -> None:
    placements = [new_id() for _ in range(50)]
    loans = [loan_id_for(placement) for placement in placements]

    # By the millisecond their placements were made in: loans of one millisecond sit together.
    assert [loan.bytes[:6] for loan in loans] == sorted(loan.bytes[:6] for loan in loans)
    for loan in loans:
        parts = [instalment_id_for(loan, n) for n in range(1, 61)] + [
            event_id_for(what, loan) for what in ("loan-opened", "schedule-fixed")
        ]
        assert {part.bytes[:6] for part in parts} == {loan.bytes[:6]}
        assert len(set(parts)) == len(parts)
    assert len({instalment_id_for(loan, 1) for loan in loans}) == len(loans)
