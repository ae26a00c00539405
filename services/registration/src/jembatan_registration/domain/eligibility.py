"""Who may register for which track, decided by the rule set in force on the selection date.

The rules live in `data/eligibility.toml` (one obvious place); this module only applies them and
explains every check in words an operator can act on.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import date
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


@cache
def shipped_rule_sets() -> tuple[RuleSet, ...]:
    data = resources.files(__package__).joinpath("data/eligibility.toml").read_text("utf-8")
    return tuple(parse_rule_sets(tomllib.loads(data)))


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
