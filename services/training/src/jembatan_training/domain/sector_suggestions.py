"""Penjurusan suggestions: the sectors a candidate could train for, ranked from what training
knows of them, each with its reasons. Pure: no I/O. A suggestion is advice for the trainer,
who applies one through `change_sector` (with a reason); nothing here changes a candidate.

What counts, and how much (the points of each reason, summed per sector):
- the candidate's interest: the sector they chose at registration (+3);
- ability shown in the sector: an SSW skill test passed there (+4), failed there (-2 each);
- readiness: whether the certificates the candidate's track needs in that sector are all in
  (+2), or how many are still missing (-1 each; `readiness.assess_readiness` decides);
- the caregiver sector's extra Japanese test (SSW): recent daily scores at or above the daily
  target make it likely (+1), below the target a hurdle (-1);
- a penjurusan earlier that steered the candidate away from the sector (-3: the trainer's
  judgement since outweighs the interest declared at registration);
- the cohort the candidate sits in trains for the sector (+1);
- demand in Japan: the sector is among the training centre's sectors in demand (+1).
Ties keep the candidate where they are, then go by the sector's name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from jembatan_contracts import TestKind, Track

from .certificates import ExamResult, normalise_sector
from .daily_scores import RecentAverage
from .penjurusan import SectorChange
from .readiness import CAREGIVER, assess_readiness

Facts = dict[str, str | int | float]

DECLARED_INTEREST = 3
SKILL_TEST_PASSED = 4
SKILL_TEST_FAILED = -2
CERTIFICATES_COMPLETE = 2
CERTIFICATE_MISSING = -1
DAILY_SCORES_SUIT_LANGUAGE = 1
STEERED_AWAY = -3
COHORT_SECTOR = 1
IN_DEMAND = 1


@dataclass(frozen=True)
class SuggestionReason:
    """One reason, as a stable code, the points it gives, the facts behind it and English
    words (the console words the code in its own languages from the facts)."""

    code: str
    points: int
    text: str
    facts: Facts = field(default_factory=dict)


@dataclass(frozen=True)
class SectorSuggestion:
    sector: str
    points: int
    current: bool
    """The sector the candidate trains for now."""
    reasons: list[SuggestionReason]


@dataclass(frozen=True)
class CandidateFacts:
    """What training knows of a candidate that bears on their sector."""

    track: Track
    sector: str
    """The sector they train for now."""
    history: Sequence[SectorChange]
    """From `penjurusan.sector_history`: the registration's preferred sector first."""
    results: Sequence[ExamResult]
    recent_scores: RecentAverage | None = None
    cohort_sector: str | None = None


def suggest_sectors(
    candidate: CandidateFacts, daily_target: int, sectors_in_demand: Sequence[str]
) -> list[SectorSuggestion]:
    """Every sector training knows a reason for, best first."""
    current = normalise_sector(candidate.sector)
    declared = normalise_sector(candidate.history[0].sector) if candidate.history else current
    demand = [normalise_sector(sector) for sector in sectors_in_demand if sector.strip()]
    skill_tests = [r for r in candidate.results if r.test is TestKind.SSW_SKILL and r.sector]
    sectors = {current, declared, *demand}
    sectors.update(normalise_sector(r.sector or "") for r in skill_tests)
    if candidate.cohort_sector:
        sectors.add(normalise_sector(candidate.cohort_sector))

    suggestions = []
    for sector in sectors:
        reasons = _reasons(candidate, sector, declared, demand, daily_target)
        suggestions.append(
            SectorSuggestion(sector, sum(r.points for r in reasons), sector == current, reasons)
        )
    return sorted(suggestions, key=lambda s: (-s.points, not s.current, s.sector))


def _reasons(
    candidate: CandidateFacts, sector: str, declared: str, demand: list[str], daily_target: int
) -> list[SuggestionReason]:
    reasons: list[SuggestionReason] = []
    if sector == declared:
        reasons.append(
            SuggestionReason(
                "declared_interest",
                DECLARED_INTEREST,
                f"the candidate chose {sector} at registration",
                {"sector": sector},
            )
        )
    for result in candidate.results:
        if result.test is not TestKind.SSW_SKILL or normalise_sector(result.sector or "") != sector:
            continue
        facts: Facts = {"sector": sector, "taken_on": result.taken_on.isoformat()}
        if result.passed:
            reasons.append(
                SuggestionReason(
                    "skill_test_passed",
                    SKILL_TEST_PASSED,
                    f"passed the SSW skill test in {sector} on {result.taken_on.isoformat()}",
                    facts,
                )
            )
        else:
            reasons.append(
                SuggestionReason(
                    "skill_test_failed",
                    SKILL_TEST_FAILED,
                    f"failed the SSW skill test in {sector} on {result.taken_on.isoformat()}",
                    facts,
                )
            )
    reasons.append(_readiness_reason(candidate, sector))
    if candidate.track is Track.SSW and sector == CAREGIVER and candidate.recent_scores:
        reasons.append(_daily_scores_reason(candidate.recent_scores, daily_target))
    for change in candidate.history[1:]:
        if change.previous_sector == sector:
            reasons.append(
                SuggestionReason(
                    "steered_away",
                    STEERED_AWAY,
                    f"steered away from {sector} on {change.changed_at.date().isoformat()}: "
                    f"{change.reason}",
                    {
                        "sector": sector,
                        "changed_on": change.changed_at.date().isoformat(),
                        "reason": change.reason,
                    },
                )
            )
    if candidate.cohort_sector and normalise_sector(candidate.cohort_sector) == sector:
        reasons.append(
            SuggestionReason(
                "cohort_sector",
                COHORT_SECTOR,
                f"the candidate's cohort trains for {sector}",
                {"sector": sector},
            )
        )
    if sector in demand:
        reasons.append(
            SuggestionReason(
                "in_demand",
                IN_DEMAND,
                f"{sector} is among the sectors in demand in Japan",
                {"sector": sector},
            )
        )
    return reasons


def _readiness_reason(candidate: CandidateFacts, sector: str) -> SuggestionReason:
    readiness = assess_readiness(candidate.track, sector, candidate.results)
    track = candidate.track.value
    if readiness.ready:
        return SuggestionReason(
            "certificates_complete",
            CERTIFICATES_COMPLETE,
            f"every certificate {track} needs in {sector} is in: ready for placement there",
            {"sector": sector, "track": track},
        )
    missing = [rule.rule for rule in readiness.missing]
    return SuggestionReason(
        "certificates_missing",
        CERTIFICATE_MISSING * len(missing),
        f"{len(missing)} certificate(s) {track} needs in {sector} still missing: "
        + "; ".join(rule.description for rule in readiness.missing),
        {"sector": sector, "track": track, "count": len(missing), "missing": ", ".join(missing)},
    )


def _daily_scores_reason(recent: RecentAverage, target: int) -> SuggestionReason:
    facts: Facts = {"average": round(recent.average, 1), "days": recent.scores, "target": target}
    if recent.average >= target:
        return SuggestionReason(
            "daily_scores_at_target",
            DAILY_SCORES_SUIT_LANGUAGE,
            f"recent daily scores average {recent.average:.1f} over {recent.scores} day(s), at "
            f"or above the target of {target}: the caregivers' extra nursing-care Japanese "
            "test is within reach",
            facts,
        )
    return SuggestionReason(
        "daily_scores_below_target",
        -DAILY_SCORES_SUIT_LANGUAGE,
        f"recent daily scores average {recent.average:.1f} over {recent.scores} day(s), below "
        f"the target of {target}: the caregivers' extra nursing-care Japanese test may be hard",
        facts,
    )
