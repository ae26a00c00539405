"""Who may register for which track, decided by the rule set in force on the selection date,
and which selection dates a registration may name (the selection window).

The rules live in `data/eligibility.toml` (one obvious place); this module only applies them and
explains every check in words an operator can act on.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from importlib import resources
from typing import Any

from jembatan_contracts import Track


@dataclass(frozen=True)
class RuleCheck:
    rule: str
    passed: bool
    requirement: str
    finding: str

    @property
    def message(self) -> str:
        return f"{self.requirement}; {self.finding}"


@dataclass(frozen=True)
class TrackRules:
    min_age_years: float
    max_age_years: float | None
    min_age_years_by_education: dict[str, float]
    education: frozenset[str]
    sectors: frozenset[str]


@dataclass(frozen=True)
class RuleSet:
    id: str
    title: str
    valid_from: date
    valid_to: date | None
    tracks: dict[Track, TrackRules] = field(default_factory=dict)

    def applies_on(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


def parse_rule_sets(document: dict[str, Any]) -> list[RuleSet]:
    rule_sets = []
    for raw in document["rule_set"]:
        tracks = {
            Track(name): TrackRules(
                min_age_years=float(rules["min_age_years"]),
                max_age_years=float(rules["max_age_years"]) if "max_age_years" in rules else None,
                min_age_years_by_education={
                    level: float(age)
                    for level, age in rules.get("min_age_years_by_education", {}).items()
                },
                education=frozenset(rules["education"]),
                sectors=frozenset(rules["sectors"]),
            )
            for name, rules in raw["tracks"].items()
        }
        rule_sets.append(
            RuleSet(raw["id"], raw["title"], raw["valid_from"], raw.get("valid_to"), tracks)
        )
    return rule_sets


@dataclass(frozen=True)
class SelectionWindow:
    """How far back a selection date named by the caller may lie, from `valid_from` on."""

    valid_from: date
    max_days_back: int
    source: str


def parse_selection_windows(document: dict[str, Any]) -> list[SelectionWindow]:
    return [
        SelectionWindow(raw["valid_from"], int(raw["max_days_back"]), raw["source"])
        for raw in document.get("selection_window", [])
    ]


@cache
def _shipped_document() -> dict[str, Any]:
    data = resources.files(__package__).joinpath("data/eligibility.toml").read_text("utf-8")
    return tomllib.loads(data)


@cache
def shipped_rule_sets() -> tuple[RuleSet, ...]:
    return tuple(parse_rule_sets(_shipped_document()))


@cache
def shipped_selection_windows() -> tuple[SelectionWindow, ...]:
    return tuple(parse_selection_windows(_shipped_document()))


NO_WINDOW = SelectionWindow(date.min, 0, "no selection window in force: only today")


def selection_window_on(
    today: date, windows: tuple[SelectionWindow, ...] | None = None
) -> SelectionWindow:
    in_force = [w for w in (windows or shipped_selection_windows()) if w.valid_from <= today]
    return max(in_force, key=lambda w: w.valid_from, default=NO_WINDOW)


def check_selection_date(
    selection_date: date, today: date, windows: tuple[SelectionWindow, ...] | None = None
) -> RuleCheck:
    """The selection date a caller names must be one they cannot pick at will: not after the
    service's today, and at most the window's days before it."""
    window = selection_window_on(today, windows)
    earliest = today - timedelta(days=window.max_days_back)
    days_back = (today - selection_date).days
    if days_back < 0:
        finding = f"it is {selection_date.isoformat()}, {_days(-days_back)} in the future"
    elif days_back == 0:
        finding = "it is today"
    else:
        finding = f"it is {selection_date.isoformat()}, {_days(days_back)} back"
    in_force = f" (window since {window.valid_from.isoformat()})" if window is not NO_WINDOW else ""
    return RuleCheck(
        "selection_date_window",
        earliest <= selection_date <= today,
        f"the selection date must be from {earliest.isoformat()} to today "
        f"({today.isoformat()}): never in the future, at most {_days(window.max_days_back)} "
        f"back{in_force}",
        finding,
    )


def _days(count: int) -> str:
    return f"{count} day" if count == 1 else f"{count} days"


def rule_set_on(day: date, rule_sets: tuple[RuleSet, ...] | None = None) -> RuleSet | None:
    in_force = [rs for rs in (rule_sets or shipped_rule_sets()) if rs.applies_on(day)]
    return max(in_force, key=lambda rs: rs.valid_from, default=None)


def age_in_months(birth_date: date, day: date) -> int:
    months = (day.year - birth_date.year) * 12 + (day.month - birth_date.month)
    return months - (1 if day.day < birth_date.day else 0)


def _years(months: float) -> str:
    whole, rest = divmod(round(months), 12)
    return f"{whole} years" + (f" {rest} months" if rest else "")


def check_eligibility(
    track: Track,
    birth_date: date,
    education: str,
    sector: str,
    selection_date: date,
    rule_sets: tuple[RuleSet, ...] | None = None,
) -> list[RuleCheck]:
    rule_set = rule_set_on(selection_date, rule_sets)
    if rule_set is None or track not in rule_set.tracks:
        return [
            RuleCheck(
                "track_open",
                False,
                f"track {track} must have eligibility rules in force",
                f"none on {selection_date.isoformat()}",
            )
        ]
    rules = rule_set.tracks[track]
    age = age_in_months(birth_date, selection_date)
    minimum = rules.min_age_years_by_education.get(education, rules.min_age_years) * 12
    on = f"on the selection date {selection_date.isoformat()} (rules {rule_set.id})"
    is_aged = f"the candidate is {_years(age)}"
    checks = [
        RuleCheck(
            "minimum_age",
            age >= minimum,
            f"{track} candidates with {education} education must be at least "
            f"{_years(minimum)} old {on}",
            is_aged,
        )
    ]
    if rules.max_age_years is not None:
        # "Up to 26" admits every day of the 26th year.
        limit = (rules.max_age_years + 1) * 12
        checks.append(
            RuleCheck(
                "maximum_age",
                age < limit,
                f"{track} candidates must be at most {_years(rules.max_age_years * 12)} old {on}",
                is_aged,
            )
        )
    checks.append(
        RuleCheck(
            "education",
            education in rules.education,
            f"{track} needs education {', '.join(sorted(rules.education))}",
            f"the candidate has {education}",
        )
    )
    checks.append(
        RuleCheck(
            "sector_for_track",
            sector in rules.sectors,
            f"the sector must be open to {track}: {', '.join(sorted(rules.sectors))}",
            f"the candidate chose {sector}",
        )
    )
    return checks
