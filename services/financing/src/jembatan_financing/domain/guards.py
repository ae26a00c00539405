"""The rules that protect participants, in one place. Each refusal names its rule with a stable
code and says what to change. Pure: the caller passes the dated terms in force."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from jembatan_contracts import Track
from jembatan_kit.errors import RuleViolation

from .costs import CostItem, principal_of
from .terms import (
    Affordability,
    AllowedCharges,
    ChargeMaximum,
    EmployerBorneCosts,
    ExchangeRate,
    PrincipalMaximum,
)

FORBIDDEN_WORDS: dict[str, str] = {
    "deposit": "a deposit",
    "deposito": "a deposit",
    "jaminan": "a deposit or guarantee",
    "guarantee": "a deposit or guarantee",
    "collateral": "a deposit or guarantee",
    "agunan": "a deposit or guarantee",
    "penalty": "a penalty",
    "penalti": "a penalty",
    "denda": "a penalty",
    "sanksi": "a penalty",
    "savings": "forced savings",
    "tabungan": "forced savings",
    "simpanan": "forced savings",
}
"""Words that name, in English or Indonesian, a charge the TITP Act (art. 47-48) forbids for every
participant. Only the allowed categories are ever charged (`refuse_charge_outside_categories`);
these words are looked for in a charge's code and description as well, so a deposit is refused as
one even when filed under an allowed category."""

OWN_TRANSFER = "own_transfer"
"""The only repayment channel: never a deduction from the wage in Japan (TITP rules and Japan's
Labour Standards Act art. 24 require the full wage to be paid to the worker)."""

NO_INTEREST = (
    "This loan carries no interest: you repay what was charged, less subsidies, and nothing more."
)
"""What the participant's statement says of interest: the funder fronts the costs (dana
talangan, seed 000) and none is charged."""


@dataclass(frozen=True, eq=False)
class ChargeRules:
    """The rules in force for the charges of one loan: what its track may be charged for, up to
    how much each and in all. Compared by identity: `LoanTerms.charge_rules` answers the same
    object for the same track, channel and day."""

    track: Track
    allowed: AllowedCharges | None
    employer_borne: EmployerBorneCosts | None
    maxima: dict[str, ChargeMaximum]
    principal_maximum: PrincipalMaximum
    channel: str


@functools.lru_cache(maxsize=4096)
def _words(text: str) -> frozenset[str]:
    """The words of a cost item's code or description; the same few items are checked for
    every loan, so their words are kept."""
    return frozenset(re.findall(r"[a-z]+", text.casefold()))


def refuse_forbidden_charge(item: CostItem, context: str = "cost items") -> None:
    named = sorted((_words(item.code) | _words(item.description)) & FORBIDDEN_WORDS.keys())
    if named:
        raise RuleViolation(
            "forbidden_charge",
            f"{context}: {item.code!r} ({item.description!r}) is {FORBIDDEN_WORDS[named[0]]}, "
            "which may not be charged to a participant (TITP Act art. 47-48: no deposits, "
            "guarantees, penalties or forced savings); remove it",
            {"code": item.code, "words": named},
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


def refuse_charge_outside_categories(
    item: CostItem, track: Track, allowed: AllowedCharges | None, context: str = "cost items"
) -> None:
    if allowed is None:
        raise RuleViolation(
            "charge_not_allowed",
            f"{context}: no categories of charges are configured for {track}, so nothing may be "
            "charged; add them to the financing terms",
            {"code": item.code},
        )
    if item.code not in allowed.categories:
        raise RuleViolation(
            "charge_not_allowed",
            f"{context}: {item.code!r} is not a cost a {track} participant may be charged for. "
            f"Only these are, by code: {', '.join(allowed.categories)} (in force since "
            f"{allowed.valid_from.isoformat()}; {allowed.source}); file the cost under one of "
            "them or do not charge it",
            {"code": item.code, "allowed": list(allowed.categories)},
        )


def refuse_charge_above_maximum(
    item: CostItem, maximum: ChargeMaximum | None, context: str = "cost items"
) -> None:
    if maximum is not None and item.amount_idr > maximum.max_idr:
        raise RuleViolation(
            "charge_above_maximum",
            f"{context}: {item.code!r} of Rp{item.amount_idr:,} is above the most a participant "
            f"may be charged for it, Rp{maximum.max_idr:,} ({maximum.source})",
            {"code": item.code, "max_idr": maximum.max_idr},
        )


def refuse_principal_above_maximum(
    principal_idr: int, rules: ChargeRules, context: str = "cost items"
) -> None:
    maximum = rules.principal_maximum
    if principal_idr > maximum.max_idr:
        raise RuleViolation(
            "principal_above_maximum",
            f"{context}: charges of Rp{principal_idr:,} in all are above the most a {rules.track} "
            f"participant placed via {rules.channel} may be charged, Rp{maximum.max_idr:,} "
            f"(in force since {maximum.valid_from.isoformat()}; {maximum.source})",
            {"principal_idr": principal_idr, "max_idr": maximum.max_idr},
        )


def check_cost_item(item: CostItem, rules: ChargeRules, context: str = "cost items") -> None:
    """One charge: named and described, positive whole rupiah, of an allowed category, within
    its maximum, and neither forbidden nor borne by the Japanese side."""
    refuse_forbidden_charge(item, context)
    refuse_employer_borne_cost(item, rules.track, rules.employer_borne)
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
    refuse_charge_outside_categories(item, rules.track, rules.allowed, context)
    refuse_charge_above_maximum(item, rules.maxima.get(item.code), context)


def check_cost_list(
    items: Iterable[CostItem], rules: ChargeRules, context: str = "cost items"
) -> None:
    """The charges of a loan together: at least one, each listed once, within the maximum
    principal of the loan's track and channel."""
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
    refuse_principal_above_maximum(principal_of(items), rules, context)


def check_cost_items(
    items: Iterable[CostItem], rules: ChargeRules, context: str = "cost items"
) -> None:
    """Every charge by itself (`check_cost_item`) and all of them together (`check_cost_list`)."""
    items = tuple(items)
    if _obey(items, rules):
        return
    for item in items:
        check_cost_item(item, rules, context)
    check_cost_list(items, rules, context)


@functools.lru_cache(maxsize=1024)
def _obey(items: tuple[CostItem, ...], rules: ChargeRules) -> bool:
    """Whether `items` obey `rules`: the same default costs are checked against the same rules
    for every loan of a day, so the answer is kept."""
    try:
        for item in items:
            check_cost_item(item, rules)
        check_cost_list(items, rules)
    except RuleViolation:
        return False
    return True


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
    """Subsidies (with what the funder wrote off) never exceed the charges."""
    if subsidies_idr > charges_idr:
        raise RuleViolation(
            "subsidy_exceeds_charges",
            f"subsidies and write-offs of Rp{subsidies_idr:,} would exceed the charges of "
            f"Rp{charges_idr:,}; a subsidy only reduces what the participant owes",
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


class UnaffordableInstalment(RuleViolation):
    """An instalment above the share of the wage it may take. At departure it is an expected
    outcome: the loan then waits for an operator's decision rather than failing."""


def refuse_unaffordable_instalment(amount_idr: int, cap: InstalmentCap) -> None:
    if amount_idr > cap.amount_idr:
        raise UnaffordableInstalment(
            "instalment_above_affordability_cap",
            f"an instalment of Rp{amount_idr:,} exceeds {cap.share_percent}% of the monthly wage "
            f"of JPY{cap.wage_jpy:,} (Rp{cap.amount_idr:,} at Rp{cap.rate.idr_per_jpy} per yen "
            f"of {cap.rate.valid_from.isoformat()}); spread the balance over more instalments",
            {"amount_idr": amount_idr, "cap_idr": cap.amount_idr},
        )
