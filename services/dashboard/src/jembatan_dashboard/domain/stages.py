"""A candidate's journey as the dashboard counts it: eight stages in order, and the drop-outs.

The read model keeps, for each candidate, the first day each stage was reached. Everything else
is derived when the figures are asked for, so the order in which events arrive (each event type
has its own consumer) never changes a figure, and replaying the streams gives the same figures.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from enum import StrEnum


class Stage(StrEnum):
    REGISTERED = "registered"
    IN_TRAINING = "in_training"
    CERTIFIED = "certified"
    READY = "ready"
    PLACED = "placed"
    DEPARTED = "departed"
    REPAYING = "repaying"
    SETTLED = "settled"


STAGES: tuple[Stage, ...] = tuple(Stage)
"""In journey order. Reaching a stage implies every stage before it (the funnel never widens)."""


def furthest_stage(reached: Mapping[Stage, date | None]) -> Stage | None:
    """The last stage in journey order that has a date; None before registration is known."""
    found = None
    for stage in STAGES:
        if reached.get(stage) is not None:
            found = stage
    if found is not None and reached.get(Stage.REGISTERED) is None:
        return None  # events of a candidate whose registration has not arrived yet
    return found


def has_reached(furthest: Stage | None, stage: Stage) -> bool:
    return furthest is not None and STAGES.index(furthest) >= STAGES.index(stage)


def stage_before(reached: Mapping[Stage, date | None], day: date) -> Stage | None:
    """The furthest stage reached on or before `day`: where a candidate stood when leaving."""
    return furthest_stage(
        {stage: when for stage, when in reached.items() if when is not None and when <= day}
    )


class DropOutKind(StrEnum):
    WITHDRAWN = "withdrawn"
    """The candidate withdrew (`CandidateWithdrawn`, with the reason given)."""
    INTERVIEW_FAILED = "interview_failed"
    """An employer's interview was not passed; the candidate may be matched again."""
    EARLY_RETURN = "early_return"
    """The worker came home before the contract's end (`EarlyReturned`, with the reason)."""


def stage_left_at(kind: DropOutKind, reached: Mapping[Stage, date | None], day: date) -> Stage:
    """The stage a candidate dropped out at: ready, for a failed interview; departed, for an
    early return; for a withdrawal on `day`, the furthest stage reached by then (registered if
    none is known yet)."""
    if kind == DropOutKind.INTERVIEW_FAILED:
        return Stage.READY
    if kind == DropOutKind.EARLY_RETURN:
        return Stage.DEPARTED
    return stage_before(reached, day) or Stage.REGISTERED
