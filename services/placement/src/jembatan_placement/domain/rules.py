"""The dated rules in `data/rules.toml`: the longest contract per track and Japan's minimum wage
by prefecture. This module only reads them and picks the entry in force on a day; the rules that
use them are `model.check_job_order` and `CandidatePaths.ensure_within_track_total`."""

from __future__ import annotations

import math
import tomllib
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources
from typing import Any

from jembatan_contracts import Track
from jembatan_kit.dated import D, in_force, required


@dataclass(frozen=True)
class ContractLength:
    track: Track
    valid_from: date
    max_months: int
    """The longest contract one job order may offer."""
    max_months_in_all: int | None
    """The longest a candidate may work in Japan on the track in all, over every contract."""
    source: str
    beyond: str
    """What to tell an operator asking for more."""


@dataclass(frozen=True)
class WageFloor:
    monthly_jpy: int
    hourly_jpy: int
    monthly_hours: int
    where: str
    """The prefecture, or the national floor when the prefecture is not in the table."""
    fiscal_year: str
    source: str

    def explained(self) -> str:
        return (
            f"{self.where}'s minimum wage ({self.fiscal_year}) of {self.hourly_jpy:,} JPY an hour"
            f" over a full-time month of {self.monthly_hours} hours: {self.monthly_jpy:,} JPY"
        )


@dataclass(frozen=True)
class MinimumWage:
    valid_from: date
    fiscal_year: str
    monthly_hours: int
    hourly_jpy: Mapping[str, int]
    """By `prefecture_key`."""
    national_floor_jpy_per_hour: int
    source: str
    national_floor_source: str

    def floor_for(self, prefecture: str) -> WageFloor:
        hourly = self.hourly_jpy.get(prefecture_key(prefecture))
        if hourly is None:
            return WageFloor(
                self._monthly(self.national_floor_jpy_per_hour),
                self.national_floor_jpy_per_hour,
                self.monthly_hours,
                f"the national floor (no figure for {prefecture.strip()!r})",
                self.fiscal_year,
                self.national_floor_source,
            )
        return WageFloor(
            self._monthly(hourly),
            hourly,
            self.monthly_hours,
            prefecture.strip(),
            self.fiscal_year,
            self.source,
        )

    def _monthly(self, hourly: int) -> int:
        return math.ceil(hourly * self.monthly_hours)


@dataclass(frozen=True)
class PlacementRules:
    contract_lengths: tuple[ContractLength, ...]
    minimum_wages: tuple[MinimumWage, ...]

    def contract_length_on(self, track: Track, day: date) -> ContractLength:
        entries = [entry for entry in self.contract_lengths if entry.track is track]
        return _required(in_force(entries, day), f"{track.value} contract length", day)

    def minimum_wage_on(self, day: date) -> MinimumWage:
        return _required(in_force(self.minimum_wages, day), "minimum wage", day)


def prefecture_key(name: str) -> str:
    """Prefectures compare without case, long vowels or suffix: `Ōsaka-fu` is `osaka`,
    `Aichi Prefecture` is `aichi`, `Tōkyō-to` is `tokyo`."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    words = plain.replace("prefecture", " ").replace("-", " ").split()
    if len(words) > 1 and words[-1] in ("ken", "fu", "to"):
        words = words[:-1]
    return "".join(words)


def _required(entry: D | None, what: str, day: date) -> D:
    return required(entry, what, day, rule="rules_not_configured", where="placement's dated rules")


def parse_rules(document: dict[str, Any]) -> PlacementRules:
    return PlacementRules(
        contract_lengths=tuple(
            ContractLength(
                Track(raw["track"]),
                raw["valid_from"],
                int(raw["max_months"]),
                raw.get("max_months_in_all"),
                raw["source"],
                raw["beyond"],
            )
            for raw in document.get("contract_length", [])
        ),
        minimum_wages=tuple(
            MinimumWage(
                raw["valid_from"],
                raw["fiscal_year"],
                int(raw["monthly_hours"]),
                {prefecture_key(name): int(hourly) for name, hourly in raw["hourly_jpy"].items()},
                int(raw["national_floor_jpy_per_hour"]),
                raw["source"],
                raw["national_floor_source"],
            )
            for raw in document.get("minimum_wage", [])
        ),
    )


@cache
def shipped_rules() -> PlacementRules:
    data = resources.files(__package__).joinpath("data/rules.toml").read_text("utf-8")
    return parse_rules(tomllib.loads(data))
