"""The rules that protect participants, in one place. Each refusal names its rule with a stable
code and says what to change. Pure: the caller passes the dated terms in force."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from jembatan_contracts import Track
from jembatan_kit.errors import RuleViolation

from .costs import CostItem
from .terms import Affordability, EmployerBorneCosts, ExchangeRate

FORBIDDEN_CHARGES: dict[str, str] = {
    "deposit": "a deposit",
    "guarantee_deposit": "a deposit",
    "jaminan": "a deposit",
    "penalty": "a penalty",
    "breach_penalty": "a penalty",
    "denda": "a penalty",
    "forced_savings": "forced savings",
    "tabungan_wajib": "forced savings",
}
"""Charges the TITP Act (art. 47-48) forbids for every participant, by cost code."""

OWN_TRANSFER = "own_transfer"
"""The only repayment channel: never a deduction from the wage in Japan (TITP rules and Japan's
Labour Standards Act art. 24 require the full wage to be paid to the worker)."""


def refuse_forbidden_charge(item: CostItem, context: str = "cost items") -> None:
    kind = FORBIDDEN_CHARGES.get(item.code.lower())
    if kind is not None:
        raise RuleViolation(
            "forbidden_charge",
            f"{context}: {item.code!r} is {kind}, which may not be charged to a participant "
            "(TITP Act art. 47-48: no deposits, penalties or forced savings); remove it",
            {"code": item.code},
        )


def refuse_employer_borne_cost(
    item: CostItem, track: Track, employer_borne: EmployerBorneCosts | None
) -> None:
    if track != Track.SSW or employer_borne is None:
        return
    borne = employer_borne.items.get(item.code.lower())
    if borne is not None:
        raise RuleViolation(
            "ssw_employer_borne_cost",
            f"{item.code!r} is the {borne}: under SSW the Japanese side bears it and the worker "
            f"may not be charged ({employer_borne.source}, in force since "
            f"{employer_borne.valid_from.isoformat()}); bill the receiving organisation instead",
            {"code": item.code},
        )


def check_cost_items(
    items: Iterable[CostItem],
    context: str = "cost items",
    track: Track | None = None,
    employer_borne: EmployerBorneCosts | None = None,
) -> None:
    """Every charge is itemised, named, positive, whole rupiah, and none is forbidden."""
    items = tuple(items)
    if not items:
        raise RuleViolation("no_cost_items", f"{context}: a loan needs at least one cost item")
    codes = [item.code for item in items]
    duplicated = sorted({code for code in codes if codes.count(code) > 1})
    if duplicated:
        raise RuleViolation(
            "duplicate_cost_item",
            f"{context}: each cost is listed once; repeated: {', '.join(duplicated)}",
            {"codes": duplicated},
        )
    for item in items:
        refuse_forbidden_charge(item, context)
        if track is not None:
            refuse_employer_borne_cost(item, track, employer_borne)
        if not item.description.strip():
            raise RuleViolation(
                "cost_item_undescribed",
                f"{context}: cost item {item.code!r} needs a description the participant can read",
                {"code": item.code},
            )
        if type(item.amount_idr) is not int or item.amount_idr <= 0:
            raise RuleViolation(
                "cost_item_amount",
                f"{context}: cost item {item.code!r} must be a positive whole number of rupiah, "
                f"not {item.amount_idr!r}",
                {"code": item.code},
            )


def refuse_salary_deduction(channel: str) -> None:
    if channel != OWN_TRANSFER:
        raise RuleViolation(
            "no_salary_deduction",
            f"repayment by {channel!r} is refused: the participant repays only by their own "
            f"transfer ({OWN_TRANSFER}), never by deduction from the wage in Japan "
            "(Labour Standards Act art. 24)",
            {"channel": channel},
        )


def refuse_future_date(name: str, day: date, today: date) -> None:
    """A fact is recorded once it happened: never dated after today by the service's clock."""
    if day > today:
        raise RuleViolation(
            f"{name}_in_the_future",
            f"{name} {day.isoformat()} is after today ({today.isoformat()}, by this service's "
            "clock): record it once it has happened",
            {name: day.isoformat(), "today": today.isoformat()},
        )


def refuse_repayment_before_month_three(first_due: date, earliest: date) -> None:
    if first_due < earliest:
        raise RuleViolation(
            "repayment_before_month_three",
            f"the first instalment may fall due on {earliest.isoformat()} at the earliest "
            f"(the 3rd month after departure), not {first_due.isoformat()}",
            {"earliest": earliest.isoformat()},
        )


def refuse_subsidy_above_charges(subsidies_idr: int, charges_idr: int) -> None:
    if subsidies_idr > charges_idr:
        raise RuleViolation(
            "subsidy_exceeds_charges",
            f"subsidies of Rp{subsidies_idr:,} would exceed the charges of Rp{charges_idr:,}; "
            "a subsidy only reduces what the participant owes",
        )


@dataclass(frozen=True)
class InstalmentCap:
    """The largest instalment a participant can be asked for: a share of the monthly wage."""

    amount_idr: int
    share_percent: int
    wage_jpy: int
    rate: ExchangeRate


def instalment_cap(
    wage_jpy: int, affordability: Affordability, rate: ExchangeRate
) -> InstalmentCap:
    wage_idr = rate.to_idr(wage_jpy)
    return InstalmentCap(
        amount_idr=wage_idr * affordability.max_share_of_wage_percent // 100,
        share_percent=affordability.max_share_of_wage_percent,
        wage_jpy=wage_jpy,
        rate=rate,
    )


def refuse_unaffordable_instalment(amount_idr: int, cap: InstalmentCap) -> None:
    if amount_idr > cap.amount_idr:
        raise RuleViolation(
            "instalment_above_affordability_cap",
            f"an instalment of Rp{amount_idr:,} exceeds {cap.share_percent}% of the monthly wage "
            f"of JPY{cap.wage_jpy:,} (Rp{cap.amount_idr:,} at Rp{cap.rate.idr_per_jpy} per yen "
            f"of {cap.rate.valid_from.isoformat()}); spread the balance over more instalments",
            {"amount_idr": amount_idr, "cap_idr": cap.amount_idr},
        )
