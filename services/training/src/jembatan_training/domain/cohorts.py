"""Cohorts (classes), their stages and their seats. Pure: no I/O.

A cohort may train in stages at different centres, e.g. three months at BPVP Samarinda and then
three months at BBPVP Bekasi. Stages are given in order and never overlap.

A cohort counts its seats taken; a candidate sits in one cohort at a time, and moving to another
cohort is explicit (`move`): a full target cohort leaves the candidate where they were.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from itertools import pairwise

from jembatan_contracts.ids import new_id
from jembatan_kit.errors import Conflict, RuleViolation

from .certificates import normalise_sector
from .enrolment import MOVED, Enrolment, Seat
from .rules import Refused, RuleCheck, refuse_unless

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


@dataclass
class Cohort:
    cohort_id: uuid.UUID
    agency: str
    training_centre: str
    name: str
    mode: Mode
    capacity: int
    members: int
    """Seats taken now."""
    sector: str | None
    created_at: datetime
    stages: list[Stage] = field(default_factory=list)
    # What changed since it was loaded, for the repository to write.
    is_new: bool = False
    members_change: int = 0

    @classmethod
    def open(cls, command: CreateCohort, now: datetime) -> Cohort:
        try:
            check_cohort(command)
        except Refused as refused:
            raise refused.violation("cohort_refused") from None
        return cls(
            cohort_id=new_id(),
            agency=command.agency,
            training_centre=command.training_centre.strip(),
            name=command.name.strip(),
            mode=command.mode,
            capacity=command.capacity,
            members=0,
            sector=normalise_sector(command.sector) if command.sector else None,
            created_at=now,
            stages=[
                Stage(stage.centre.strip(), stage.starts_on, stage.ends_on)
                for stage in command.stages
            ],
            is_new=True,
        )

    @property
    def seats_left(self) -> int:
        return seats_left(self.capacity, self.members)

    def assign(
        self,
        member: Enrolment,
        now: datetime,
        *,
        move: bool = False,
        current: Cohort | None = None,
    ) -> None:
        """Seat `member`. A member of another cohort is refused unless `move`, in which case
        they leave `current`, the cohort they sit in now, once a seat here is theirs."""
        member.ensure_active()
        if self.sector and self.sector != member.sector:
            raise RuleViolation(
                "cohort_sector",
                f"cohort {self.name} trains for {self.sector}, the candidate for "
                f"{member.sector}: change the candidate's sector first (penjurusan) or choose "
                "a cohort of their sector",
            )
        seat = member.seat
        if seat is not None:
            if seat.cohort_id == self.cohort_id:
                raise Conflict(
                    "already_in_cohort",
                    f"candidate {member.candidate_id} is already in cohort {self.name}",
                )
            if not move:
                raise Conflict(
                    "candidate_in_another_cohort",
                    f"candidate {member.candidate_id} is in another cohort ({seat.cohort_id}); "
                    "send move: true to move them, or let them leave that cohort first",
                    cohort_id=str(seat.cohort_id),
                )
        if self.members >= self.capacity:
            raise Conflict(
                "cohort_full",
                f"cohort {self.name} is full: all {self.capacity} seats are taken",
                capacity=self.capacity,
            )
        if seat is not None:
            assert current is not None and current.cohort_id == seat.cohort_id
            current.release(member, MOVED, now)
        self._count(+1)
        member.take_seat(Seat(new_id(), self.cohort_id, self.name, self.training_centre, now))

    def release(self, member: Enrolment, reason: str, now: datetime) -> None:
        """`member` gives up their seat here (left, moved or withdrawn)."""
        member.give_up_seat(self.cohort_id, reason, now)
        self._count(-1)

    def saved(self) -> None:
        self.is_new = False
        self.members_change = 0

    def _count(self, change: int) -> None:
        self.members += change
        self.members_change += change
