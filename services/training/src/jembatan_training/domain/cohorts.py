"""Cohorts (classes) and their stages. Pure: no I/O.

A cohort may train in stages at different centres, e.g. three months at BPVP Samarinda and then
three months at BBPVP Bekasi. Stages are given in order and never overlap.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from itertools import pairwise

from .rules import RuleCheck, refuse_unless

DEFAULT_CAPACITY = 16
"""Classes of 16, as the public training centres run them."""


class Mode(StrEnum):
    ONLINE = "online"
    OFFLINE = "offline"


@dataclass(frozen=True)
class Stage:
    centre: str
    starts_on: date
    ends_on: date


@dataclass(frozen=True)
class CreateCohort:
    """Command: a training centre opens a class."""

    agency: str
    training_centre: str
    name: str
    mode: Mode
    stages: list[Stage]
    capacity: int = DEFAULT_CAPACITY
    sector: str | None = None


def check_cohort(command: CreateCohort) -> None:
    """Raise `Refused` naming every rule the new cohort breaks."""
    checks = [
        RuleCheck(
            "training_centre_present",
            bool(command.training_centre.strip()),
            "training_centre must not be empty",
        ),
        RuleCheck("cohort_name_present", bool(command.name.strip()), "name must not be empty"),
        RuleCheck(
            "cohort_capacity",
            command.capacity >= 1,
            f"capacity must be at least 1 seat (got {command.capacity})",
        ),
        RuleCheck(
            "cohort_stages_present",
            bool(command.stages),
            "a cohort needs at least one stage: where it trains, from when until when",
        ),
    ]
    checks += stage_checks(command.stages)
    refuse_unless(checks)


def stage_checks(stages: list[Stage]) -> list[RuleCheck]:
    checks = []
    for number, stage in enumerate(stages, start=1):
        checks.append(
            RuleCheck(
                "stage_centre_present",
                bool(stage.centre.strip()),
                f"stage {number} needs the centre it takes place at",
            )
        )
        checks.append(
            RuleCheck(
                "stage_dates",
                stage.starts_on <= stage.ends_on,
                f"stage {number} ends ({stage.ends_on.isoformat()}) before it starts "
                f"({stage.starts_on.isoformat()})",
            )
        )
    for number, (earlier, later) in enumerate(pairwise(stages), start=2):
        checks.append(
            RuleCheck(
                "stages_in_order",
                later.starts_on > earlier.ends_on,
                f"stage {number} starts on {later.starts_on.isoformat()}, before stage "
                f"{number - 1} ends on {earlier.ends_on.isoformat()}: give the stages in order, "
                "without overlap",
            )
        )
    return checks


def seats_left(capacity: int, members: int) -> int:
    return max(capacity - members, 0)
