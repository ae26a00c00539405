"""Daily scores and the early warning for candidates falling behind. Pure: no I/O.

A candidate is flagged when the average of their most recent scores (the window) is below the
daily target; the target and window are settings, seed 004 gives 80 as the daily target.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from .rules import RuleCheck, refuse_unless

MAX_SCORE = 100


@dataclass(frozen=True)
class DailyScore:
    day: date
    score: int


def check_daily_score(score: DailyScore, today: date) -> None:
    refuse_unless(
        [
            RuleCheck(
                "daily_score_range",
                0 <= score.score <= MAX_SCORE,
                f"a daily score is from 0 to {MAX_SCORE} (got {score.score})",
            ),
            RuleCheck(
                "day_not_in_future",
                score.day <= today,
                f"the day {score.day.isoformat()} is after today ({today.isoformat()})",
            ),
        ]
    )


@dataclass(frozen=True)
class RecentAverage:
    average: float
    scores: int


def recent_average(scores: Sequence[DailyScore], window: int) -> RecentAverage | None:
    """Average of the `window` most recent days scored; None without any score."""
    recent = sorted(scores, key=lambda s: s.day, reverse=True)[:window]
    if not recent:
        return None
    return RecentAverage(sum(s.score for s in recent) / len(recent), len(recent))


@dataclass(frozen=True)
class EarlyWarning:
    candidate_id: uuid.UUID
    average: float
    scores: int


def early_warnings(
    scores_by_candidate: Mapping[uuid.UUID, Sequence[DailyScore]], target: int, window: int
) -> list[EarlyWarning]:
    """Candidates whose recent average is below target, lowest average first."""
    warnings = []
    for candidate_id, scores in scores_by_candidate.items():
        recent = recent_average(scores, window)
        if recent is not None and recent.average < target:
            warnings.append(EarlyWarning(candidate_id, recent.average, recent.scores))
    return sorted(warnings, key=lambda w: (w.average, str(w.candidate_id)))
