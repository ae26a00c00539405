"""The dated terms in `data/terms.toml`: default costs per track, what a participant may be charged
for and up to how much, how a placement's channel is told, the costs an SSW worker may not be
charged, the affordability share and the rupiah-yen rate. This module only reads them and picks
the entry in force on a day."""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from importlib import resources
from typing import Any

from jembatan_contracts import Track
from jembatan_kit.dated import D, Dated, in_force, required

from .costs import CostItem


@dataclass(frozen=True)
class DefaultCosts:
    track: Track
    valid_from: date
    items: tuple[CostItem, ...]


PRIVATE_LPK = "private_lpk"
"""The channel of a placement no `Channel` entry names: via a private LPK."""


@dataclass(frozen=True)
class AllowedCharges:
    """The categories a participant of `track` may be charged for: a cost item's code is one of
    them, by code; the values describe them."""

    track: Track
    valid_from: date
    source: str
    categories: dict[str, str]


@dataclass(frozen=True)
class ChargeMaximum:
    """The most one item of `category` may cost, from a public figure."""

    category: str
    valid_from: date
    max_idr: int
    source: str


@dataclass(frozen=True)
class Channel:
    """A placement of `track` by one of `supervising_organisations` goes by channel `code`."""

    track: Track
    valid_from: date
    code: str
    supervising_organisations: frozenset[str]


@dataclass(frozen=True)
class PrincipalMaximum:
    """The most a participant of `track` placed through `channel` may be charged in all."""

    track: Track
    channel: str
    valid_from: date
    max_idr: int
    source: str


@dataclass(frozen=True)
class WithdrawalBeforeDeparture:
    """What a candidate who withdraws before departing still owes: this share of it."""

    valid_from: date
    participant_share_percent: int
    source: str

    def __post_init__(self) -> None:
        if not 0 <= self.participant_share_percent <= 100:
            raise ValueError(
                "participant_share_percent is a share of what is owed: 0 to 100, not "
                f"{self.participant_share_percent}"
            )


NOTHING_OWED_ON_WITHDRAWAL = WithdrawalBeforeDeparture(
    date.min, 0, "protective default: nothing is asked of a participant who never departed"
)


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
    allowed_charges: tuple[AllowedCharges, ...] = ()
    charge_maxima: tuple[ChargeMaximum, ...] = ()
    channels: tuple[Channel, ...] = ()
    principal_maxima: tuple[PrincipalMaximum, ...] = ()
    withdrawals_before_departure: tuple[WithdrawalBeforeDeparture, ...] = ()

    def costs_on(self, track: Track, day: date) -> DefaultCosts | None:
        return in_force([c for c in self.costs if c.track == track], day)

    def allowed_charges_on(self, track: Track, day: date) -> AllowedCharges | None:
        return in_force([a for a in self.allowed_charges if a.track == track], day)

    def charge_maxima_on(self, day: date) -> dict[str, ChargeMaximum]:
        """The maximum in force of each category that has one."""
        categories = {m.category for m in self.charge_maxima}
        found = {
            category: in_force([m for m in self.charge_maxima if m.category == category], day)
            for category in categories
        }
        return {category: m for category, m in found.items() if m is not None}

    def channels_of(self, track: Track, day: date) -> list[str]:
        """Every channel a placement of `track` may go by on `day`."""
        named = {c.code for c in self.channels if c.track == track and c.valid_from <= day}
        return sorted(named | {PRIVATE_LPK})

    def channel_of(self, track: Track, supervising_organisation: str, day: date) -> str:
        name = supervising_organisation.strip().casefold()
        for code in self.channels_of(track, day):
            entry = in_force([c for c in self.channels if c.track == track and c.code == code], day)
            if entry and name in {n.casefold() for n in entry.supervising_organisations}:
                return entry.code
        return PRIVATE_LPK

    def principal_maximum_on(self, track: Track, channel: str, day: date) -> PrincipalMaximum:
        entries = [m for m in self.principal_maxima if m.track == track and m.channel == channel]
        what = f"maximum principal for {track} via {channel}"
        return _required(in_force(entries, day), what, day)

    def withdrawal_before_departure_on(self, day: date) -> WithdrawalBeforeDeparture:
        """The share still owed on withdrawal, or nothing if none is configured."""
        return in_force(self.withdrawals_before_departure, day) or NOTHING_OWED_ON_WITHDRAWAL

    def change_dates(self) -> list[date]:
        """Every day on which some entry takes over: between two of them nothing changes."""
        entries: list[Sequence[Dated]] = [
            self.costs,
            self.ssw_employer_borne,
            self.allowed_charges,
            self.charge_maxima,
            self.channels,
            self.principal_maxima,
        ]
        return sorted({entry.valid_from for kind in entries for entry in kind})

    def ssw_employer_borne_on(self, day: date) -> EmployerBorneCosts | None:
        return in_force(self.ssw_employer_borne, day)

    def affordability_on(self, day: date) -> Affordability:
        return _required(in_force(self.affordability, day), "affordability share", day)

    def exchange_rate_on(self, day: date) -> ExchangeRate:
        return _required(in_force(self.exchange_rates, day), "rupiah-yen exchange rate", day)


def _required(entry: D | None, what: str, day: date) -> D:
    return required(entry, what, day, rule="terms_not_configured", where="the financing terms")


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
        allowed_charges=tuple(
            AllowedCharges(
                Track(raw["track"]),
                raw["valid_from"],
                raw["source"],
                {item["code"]: item["description"] for item in raw["categories"]},
            )
            for raw in document.get("allowed_charges", [])
        ),
        charge_maxima=tuple(
            ChargeMaximum(raw["category"], raw["valid_from"], int(raw["max_idr"]), raw["source"])
            for raw in document.get("charge_maximum", [])
        ),
        channels=tuple(
            Channel(
                Track(raw["track"]),
                raw["valid_from"],
                raw["code"],
                frozenset(raw["supervising_organisations"]),
            )
            for raw in document.get("channel", [])
        ),
        principal_maxima=tuple(
            PrincipalMaximum(
                Track(raw["track"]),
                raw["channel"],
                raw["valid_from"],
                int(raw["max_idr"]),
                raw["source"],
            )
            for raw in document.get("principal_maximum", [])
        ),
        withdrawals_before_departure=tuple(
            WithdrawalBeforeDeparture(
                raw["valid_from"], int(raw["participant_share_percent"]), raw["source"]
            )
            for raw in document.get("withdrawal_before_departure", [])
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
