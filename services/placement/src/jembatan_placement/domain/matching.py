"""Which ready candidates suit a job order, best first. The one place the ranking rule lives.

A candidate who does not fit the order (sector, track, language minimum, required certificates) is
excluded with the reason. The others are scored with `WEIGHTS`, and every point is explained.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from jembatan_contracts import TestKind
from jembatan_kit.errors import RuleViolation

from .model import JobOrder, LanguageLevel, ReadyCandidate, RuleCheck, normalise_sector


@dataclass(frozen=True)
class Weights:
    per_language_level_above_minimum: float = 2.0
    per_daily_score_point_from_target: float = 0.1
    daily_score_target: float = 80.0
    """Seed 004: the daily target in training is 80."""
    per_year_committed_beyond_contract: float = 1.0
    """Employers favour candidates who commit to stay longer (seed 004)."""
    per_month_waiting: float = 1.0
    """A month is 30 days; the longer a ready candidate has waited, the sooner their turn."""


WEIGHTS = Weights()


@dataclass(frozen=True)
class Factor:
    description: str
    points: float

    def in_words(self) -> str:
        return f"{self.description} ({self.points:+g})"


@dataclass(frozen=True)
class Match:
    candidate: ReadyCandidate
    fits: list[str]
    factors: list[Factor]

    @property
    def score(self) -> float:
        return round(sum(factor.points for factor in self.factors), 2)

    @property
    def explanation(self) -> str:
        return "; ".join([*self.fits, *(factor.in_words() for factor in self.factors)])


@dataclass(frozen=True)
class Exclusion:
    candidate: ReadyCandidate
    rule: str
    reason: str


@dataclass(frozen=True)
class Ranking:
    matches: list[Match]
    excluded: list[Exclusion]


def fit_checks(candidate: ReadyCandidate, order: JobOrder) -> list[RuleCheck]:
    """The rules a candidate must meet to be considered for the order at all."""
    sector, wanted = normalise_sector(candidate.sector), normalise_sector(order.sector)
    level = LanguageLevel.parse(candidate.language_level)
    minimum = order.minimum_language_level
    missing = sorted(
        test.value for test in order.required_certificates if not _holds(candidate, test, wanted)
    )
    return [
        RuleCheck(
            "sector_mismatch",
            sector == wanted,
            f"sector {wanted} fits"
            if sector == wanted
            else f"candidate {candidate.candidate_id} is ready for sector {candidate.sector!r}, "
            f"but job order {order.id} is for sector {order.sector!r}",
        ),
        RuleCheck(
            "track_mismatch",
            candidate.track == order.track,
            f"track {order.track} fits"
            if candidate.track == order.track
            else f"candidate {candidate.candidate_id} is on the {candidate.track} track, "
            f"but job order {order.id} is for {order.track}",
        ),
        RuleCheck(
            "language_below_minimum",
            level is not None and level.rank >= minimum.rank,
            f"Japanese {level} meets the {minimum} minimum"
            if level is not None and level.rank >= minimum.rank
            else f"Japanese {candidate.language_level} is below the order's {minimum} minimum",
        ),
        RuleCheck(
            "certificate_missing",
            not missing,
            f"holds {', '.join(sorted(test.value for test in order.required_certificates))}"
            if not missing
            else f"required certificate(s) not passed: {', '.join(missing)}",
        ),
    ]


def ensure_fits(candidate: ReadyCandidate, order: JobOrder) -> None:
    """Raise the first fit rule the candidate breaks."""
    for check in fit_checks(candidate, order):
        if not check.passed:
            raise RuleViolation(check.rule, check.message)


def rank(
    order: JobOrder,
    candidates: Iterable[ReadyCandidate],
    today: date,
    unavailable: Mapping[uuid.UUID, tuple[str, str]] | None = None,
    weights: Weights = WEIGHTS,
) -> Ranking:
    """Rank `candidates` for `order`. `unavailable` maps candidates who cannot be offered for
    reasons outside the fit (e.g. already placed elsewhere) to (rule, reason)."""
    unavailable = unavailable or {}
    matches: list[Match] = []
    excluded: list[Exclusion] = []
    for candidate in candidates:
        if candidate.candidate_id in unavailable:
            excluded.append(Exclusion(candidate, *unavailable[candidate.candidate_id]))
            continue
        checks = fit_checks(candidate, order)
        failed = next((check for check in checks if not check.passed), None)
        if failed is not None:
            excluded.append(Exclusion(candidate, failed.rule, failed.message))
            continue
        fits = [check.message for check in checks if _said_as_fit(check, order)]
        matches.append(Match(candidate, fits, _factors(candidate, order, today, weights)))
    matches.sort(key=lambda m: (-m.score, m.candidate.ready_on, str(m.candidate.candidate_id)))
    return Ranking(matches, excluded)


def _said_as_fit(check: RuleCheck, order: JobOrder) -> bool:
    """Language is explained with its points; certificates only when the order asks for some."""
    if check.rule == "language_below_minimum":
        return False
    return check.rule != "certificate_missing" or bool(order.required_certificates)


def _factors(
    candidate: ReadyCandidate, order: JobOrder, today: date, weights: Weights
) -> list[Factor]:
    return [
        _language(candidate, order, weights),
        _daily_scores(candidate, weights),
        _commitment(candidate, order, weights),
        _waiting(candidate, today, weights),
    ]


def _language(candidate: ReadyCandidate, order: JobOrder, weights: Weights) -> Factor:
    level = LanguageLevel.parse(candidate.language_level)
    assert level is not None  # the fit checks excluded unknown levels
    minimum = order.minimum_language_level
    above = level.rank - minimum.rank
    relation = "meets" if above == 0 else "above"
    return Factor(
        f"Japanese {level} {relation} the {minimum} minimum",
        _points(above * weights.per_language_level_above_minimum),
    )


def _daily_scores(candidate: ReadyCandidate, weights: Weights) -> Factor:
    average = candidate.daily_score_average
    if average is None:
        return Factor("no daily scores known", 0.0)
    return Factor(
        f"daily score average {average:g} against the target {weights.daily_score_target:g}",
        _points((average - weights.daily_score_target) * weights.per_daily_score_point_from_target),
    )


def _commitment(candidate: ReadyCandidate, order: JobOrder, weights: Weights) -> Factor:
    months = candidate.months_willing_to_stay
    if months is None:
        return Factor("no commitment recorded", 0.0)
    beyond = months - order.contract_months
    if beyond >= 0:
        described = f"{beyond} beyond the {order.contract_months}-month contract"
    else:
        described = f"{-beyond} short of the {order.contract_months}-month contract"
    return Factor(
        f"commits to {months} months, {described}",
        _points(beyond / 12 * weights.per_year_committed_beyond_contract),
    )


def _waiting(candidate: ReadyCandidate, today: date, weights: Weights) -> Factor:
    days = max((today - candidate.ready_on).days, 0)
    return Factor(f"waiting {days} days", _points(days / 30 * weights.per_month_waiting))


def _points(value: float) -> float:
    return round(value, 2) + 0.0  # + 0.0 turns -0.0 into 0.0


def _holds(candidate: ReadyCandidate, test: TestKind, sector: str) -> bool:
    """A sector skill test counts only in the order's sector."""
    return any(
        held.test is test
        and (test is not TestKind.SSW_SKILL or normalise_sector(held.sector or "") == sector)
        for held in candidate.certificates
    )
