"""Who applies in a scenario run and what becomes of each of them, decided up front from the
seed: the same scenario, size and seed always give the same people and the same outcomes,
whatever order the services answer in.

Shares are turned into exact counts (largest remainder), so a run of 34 Kalimantan Timur
applicants splits into online and offline as the opening's 170 to 97 did, and a pass rate of
0.9 fails one candidate in ten, not a random number of them.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from .definitions import Scenario
from .people import Person, make_person

SMA_LIKE = frozenset({"SMA", "MA"})
"""TITP takes general high-school graduates from 19 years and 6 months (eligibility.toml)."""
TITP_SMA_MIN_AGE = 19.5
N3_SHARE_OF_PASSES = 0.15
"""Of those who pass Japanese, the share who reach N3 rather than N4."""


@dataclass(frozen=True)
class Applicant:
    number: int
    person: Person
    education: str
    preferred_sector: str
    mode: str
    meant_eligible: bool
    """False for the applicants generated outside the track's ages; registration decides."""
    steered_to: str | None
    steer_reason: str | None
    daily_scores: tuple[int, ...]
    japanese_level: str
    """N3 or N4 for those who pass; N5 for those who fall short of the N4 minimum."""
    passes_skill_test: bool
    passes_interview: bool
    months_willing_to_stay: int | None
    pays_first_instalment: bool

    @property
    def sector(self) -> str:
        """The sector after penjurusan."""
        return self.steered_to or self.preferred_sector


def apportion(total: int, weights: Mapping[str, float]) -> list[str]:
    """`total` labels in proportion to `weights`, by largest remainder (ties: first listed)."""
    weight_sum = sum(weights.values())
    quotas = {key: total * weight / weight_sum for key, weight in weights.items()}
    counts = {key: math.floor(quota) for key, quota in quotas.items()}
    by_remainder = sorted(quotas, key=lambda key: quotas[key] - counts[key], reverse=True)
    for key in by_remainder[: total - sum(counts.values())]:
        counts[key] += 1
    return [key for key, count in counts.items() for _ in range(count)]


def pick(rng: random.Random, items: Sequence[int], share: float) -> set[int]:
    """round(share x len(items)) of the items, chosen at random."""
    return set(rng.sample(list(items), round(share * len(items))))


def shuffled(rng: random.Random, labels: list[str]) -> list[str]:
    rng.shuffle(labels)
    return labels


def build_roster(scenario: Scenario, size: int, seed: int, selection_date: date) -> list[Applicant]:
    rng = random.Random(f"{scenario.name}/{seed}")
    numbers = range(size)
    ineligible = pick(rng, numbers, scenario.ineligible_share)
    educations = shuffled(rng, apportion(size, scenario.education))
    sectors = shuffled(rng, apportion(size, scenario.sectors))
    modes = shuffled(rng, apportion(size, scenario.modes))
    steering = _steer(rng, sectors, scenario)
    eligible = [number for number in numbers if number not in ineligible]
    japanese_passes = pick(rng, eligible, scenario.language_pass_rate)
    n3 = pick(rng, sorted(japanese_passes), N3_SHARE_OF_PASSES)
    skill_passes = pick(rng, eligible, scenario.skill_pass_rate)
    interview_passes = pick(rng, eligible, scenario.interview_pass_rate)
    first_payers = pick(rng, eligible, scenario.first_payment_share)
    roster = []
    for number in numbers:
        education = educations[number]
        person = _person(rng, scenario, selection_date, education, number in ineligible)
        steered_to, reason = steering.get(number, (None, None))
        roster.append(
            Applicant(
                number=number + 1,
                person=person,
                education=education,
                preferred_sector=sectors[number],
                mode=modes[number],
                meant_eligible=number not in ineligible,
                steered_to=steered_to,
                steer_reason=reason,
                daily_scores=_daily_scores(rng, scenario),
                japanese_level=(
                    ("N3" if number in n3 else "N4") if number in japanese_passes else "N5"
                ),
                passes_skill_test=number in skill_passes,
                passes_interview=number in interview_passes,
                months_willing_to_stay=(
                    rng.randrange(scenario.commitment_months[0], scenario.commitment_months[1] + 1)
                    if scenario.commitment_months
                    else None
                ),
                pays_first_instalment=number in first_payers,
            )
        )
    return roster


def _steer(
    rng: random.Random, sectors: list[str], scenario: Scenario
) -> dict[int, tuple[str, str]]:
    """Penjurusan: each rule takes its share of those still in the sector it steers from."""
    steered: dict[int, tuple[str, str]] = {}
    for rule in scenario.steering:
        pool = [
            number
            for number, sector in enumerate(sectors)
            if sector == rule.from_sector and number not in steered
        ]
        for number in pick(rng, pool, rule.share):
            steered[number] = (rule.to_sector, rule.reason)
    return steered


def _person(
    rng: random.Random, scenario: Scenario, on: date, education: str, ineligible: bool
) -> Person:
    if ineligible:
        # Too old for the TITP track; too young for SSW (which has no upper age).
        low, high = (
            (scenario.max_age_years + 1.5, scenario.max_age_years + 4)
            if scenario.track == "TITP"
            else (16.5, 17.8)
        )
    else:
        low = TITP_SMA_MIN_AGE + 0.1 if scenario.track == "TITP" and education in SMA_LIKE else 18.1
        high = scenario.max_age_years
    return make_person(rng, scenario.regions, on, low, high, scenario.female_share)


def _daily_scores(rng: random.Random, scenario: Scenario) -> tuple[int, ...]:
    if not scenario.daily_score_days:
        return ()
    ability = rng.gauss(scenario.daily_score_mean, 4)
    return tuple(
        max(0, min(100, round(rng.gauss(ability, 4)))) for _ in range(scenario.daily_score_days)
    )


def weekdays_before(day: date, count: int) -> list[date]:
    """The `count` working days (Monday to Friday) before `day`, oldest first."""
    days: list[date] = []
    current = day
    while len(days) < count:
        current -= timedelta(days=1)
        if current.weekday() < 5:
            days.append(current)
    return sorted(days)
