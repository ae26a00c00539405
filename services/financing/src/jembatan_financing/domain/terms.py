"""The dated terms in `data/terms.toml`: default costs per track, the costs an SSW worker may not
be charged, the affordability share and the rupiah-yen rate. This module only reads them and picks
the entry in force on a day."""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from importlib import resources
from typing import Any, Protocol, TypeVar

from jembatan_contracts import Track
from jembatan_kit.errors import RuleViolation

from .costs import CostItem


class _Dated(Protocol):
    @property
    def valid_from(self) -> date: ...


D = TypeVar("D", bound=_Dated)


@dataclass(frozen=True)
class DefaultCosts:
    track: Track
    valid_from: date
    items: tuple[CostItem, ...]


@dataclass(frozen=True)
class EmployerBorneCosts:
    """Costs the Japanese side bears under SSW; the worker may not be charged them."""

    valid_from: date
    source: str
    items: dict[str, str]


@dataclass(frozen=True)
class Affordability:
    valid_from: date
    max_share_of_wage_percent: int


@dataclass(frozen=True)
class ExchangeRate:
    valid_from: date
    idr_per_jpy: Decimal
    source: str

    def to_idr(self, amount_jpy: int) -> int:
        return int((self.idr_per_jpy * amount_jpy).to_integral_value(ROUND_HALF_UP))

    def to_jpy(self, amount_idr: int) -> int:
        return int((Decimal(amount_idr) / self.idr_per_jpy).to_integral_value(ROUND_HALF_UP))


@dataclass(frozen=True)
class DatedTerms:
    costs: tuple[DefaultCosts, ...]
    ssw_employer_borne: tuple[EmployerBorneCosts, ...]
    affordability: tuple[Affordability, ...]
    exchange_rates: tuple[ExchangeRate, ...]

    def costs_on(self, track: Track, day: date) -> DefaultCosts | None:
        return in_force([c for c in self.costs if c.track == track], day)

    def ssw_employer_borne_on(self, day: date) -> EmployerBorneCosts | None:
        return in_force(self.ssw_employer_borne, day)

    def affordability_on(self, day: date) -> Affordability:
        return _required(in_force(self.affordability, day), "affordability share", day)

    def exchange_rate_on(self, day: date) -> ExchangeRate:
        return _required(in_force(self.exchange_rates, day), "rupiah-yen exchange rate", day)


def in_force(entries: Sequence[D], day: date) -> D | None:
    """The latest entry that started on or before `day`."""
    started = [entry for entry in entries if entry.valid_from <= day]
    return max(started, key=lambda entry: entry.valid_from, default=None)


def _required(entry: D | None, what: str, day: date) -> D:
    if entry is None:
        raise RuleViolation(
            "terms_not_configured",
            f"no {what} is configured for {day.isoformat()}; add one to the financing terms",
        )
    return entry


def parse_terms(document: dict[str, Any]) -> DatedTerms:
    return DatedTerms(
        costs=tuple(
            DefaultCosts(
                Track(raw["track"]),
                raw["valid_from"],
                tuple(CostItem(**item) for item in raw["items"]),
            )
            for raw in document.get("costs", [])
        ),
        ssw_employer_borne=tuple(
            EmployerBorneCosts(
                raw["valid_from"],
                raw["source"],
                {item["code"]: item["description"] for item in raw["items"]},
            )
            for raw in document.get("ssw_employer_borne", [])
        ),
        affordability=tuple(
            Affordability(raw["valid_from"], int(raw["max_share_of_wage_percent"]))
            for raw in document.get("affordability", [])
        ),
        exchange_rates=tuple(
            ExchangeRate(raw["valid_from"], Decimal(raw["idr_per_jpy"]), raw["source"])
            for raw in document.get("exchange_rate", [])
        ),
    )


@cache
def shipped_terms() -> DatedTerms:
    data = resources.files(__package__).joinpath("data/terms.toml").read_text("utf-8")
    return parse_terms(tomllib.loads(data))
