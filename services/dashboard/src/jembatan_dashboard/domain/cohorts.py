"""Cohorts against the daily-score target. Pure: no I/O.

As training's early warning does, each member's figure is the average of their most recent
daily scores (the window); a cohort's average is the mean of its members' averages, and the
cohort is below target when that mean is under the daily target.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class CohortScore:
    cohort_id: uuid.UUID
    cohort_name: str
    training_centre: str
    average: float
    members: int
    members_below: int
    target: int


def recent_average(scores: Mapping[date, int], window: int) -> float | None:
    recent = [scores[day] for day in sorted(scores, reverse=True)[:window]]
    return sum(recent) / len(recent) if recent else None


@dataclass(frozen=True)
class ScoredDay:
    cohort_id: uuid.UUID
    cohort_name: str
    training_centre: str
    candidate_id: uuid.UUID
    day: date
    score: int


def cohorts_below_target(
    scored: Iterable[ScoredDay], target: int, window: int
) -> list[CohortScore]:
    """Cohorts whose members' recent averages average below `target`, lowest first."""
    by_cohort: dict[uuid.UUID, dict[uuid.UUID, dict[date, int]]] = {}
    names: dict[uuid.UUID, tuple[str, str]] = {}
    for row in scored:
        by_cohort.setdefault(row.cohort_id, {}).setdefault(row.candidate_id, {})[row.day] = (
            row.score
        )
        names[row.cohort_id] = (row.cohort_name, row.training_centre)
    below: list[CohortScore] = []
    for cohort_id, members in by_cohort.items():
        averages: Sequence[float] = [
            a for a in (recent_average(s, window) for s in members.values()) if a is not None
        ]
        if not averages:
            continue
        mean = sum(averages) / len(averages)
        if mean < target:
            name, centre = names[cohort_id]
            below.append(
                CohortScore(
                    cohort_id,
                    name,
                    centre,
                    round(mean, 1),
                    len(averages),
                    sum(1 for a in averages if a < target),
                    target,
                )
            )
    return sorted(below, key=lambda c: (c.average, c.cohort_name, str(c.cohort_id)))
