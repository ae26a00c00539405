"""A candidate in training, the enrolment: the aggregate every change to one candidate goes
through. Pure: no I/O; the moment is passed in.

It owns the rules of a candidate's training (nothing is recorded after a withdrawal, a result is
recorded once, readiness is announced once and the sector is then fixed) and records the events
its changes cause in `events`. The repository loads it with the parts a use case needs (results,
cohort seat, days scored), writes what changed and stages `events` in the outbox.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import TypeVar

from jembatan_contracts import (
    CandidateIdentityCleared,
    CandidateReadyForPlacement,
    CandidateRegistered,
    CandidateWithdrawn,
    CertificatePassed,
    DailyScoreRecorded,
    DuplicateRegistrationFound,
    Event,
    IdentityCheck,
    Track,
)
from jembatan_contracts.ids import new_id
from jembatan_kit.errors import Conflict, RuleViolation

from .certificates import ExamResult, RecordResult, ResultRefused, grade, normalise_sector
from .daily_scores import DailyScore, check_daily_score
from .penjurusan import SectorChange, change_sector
from .readiness import Readiness, assess_readiness
from .rules import Refused

LEFT = "left"
MOVED = "moved"
WITHDRAWN = "withdrawn"
"""Why a candidate left a cohort."""


@dataclass(frozen=True)
class RecordedResult:
    result_id: uuid.UUID
    result: ExamResult
    recorded_at: datetime


@dataclass(frozen=True)
class Seat:
    """The candidate's place in a cohort (a cohort membership)."""

    membership_id: uuid.UUID
    cohort_id: uuid.UUID
    cohort_name: str
    training_centre: str
    joined_at: datetime


@dataclass(frozen=True)
class Departure:
    """A seat given up: the membership ends, kept as history."""

    membership_id: uuid.UUID
    cohort_id: uuid.UUID
    left_at: datetime
    reason: str


@dataclass(frozen=True)
class ScoreWritten:
    score: DailyScore
    recorded_at: datetime
    replaces: bool
    """True when the candidate already had a score that day."""


@dataclass(frozen=True)
class Recorded:
    result_id: uuid.UUID
    passed: bool
    became_ready: bool
    readiness: Readiness


@dataclass(frozen=True)
class SectorChanged:
    sector: str
    became_ready: bool
    readiness: Readiness


class NotLoaded(Enum):
    """A part of the enrolment the repository was not asked to load."""

    PART = "not loaded"


T = TypeVar("T")


def _loaded(part: T | NotLoaded, name: str) -> T:
    if isinstance(part, NotLoaded):
        raise RuntimeError(f"the enrolment's {name} were not loaded for this use case")
    return part


class Enrolment:
    def __init__(
        self,
        *,
        candidate_id: uuid.UUID,
        journey_id: uuid.UUID,
        agency: str,
        track: Track,
        sector: str,
        registered_on: date,
        enrolled_at: datetime,
        ready_at: datetime | None = None,
        withdrawn_on: date | None = None,
        withdrawal_reason: str | None = None,
        national_hold: str | None = None,
        national_hold_at: datetime | None = None,
        results: list[RecordedResult] | NotLoaded = NotLoaded.PART,
        seat: Seat | NotLoaded | None = NotLoaded.PART,
        scored_days: set[date] | NotLoaded = NotLoaded.PART,
    ) -> None:
        self.candidate_id = candidate_id
        self.journey_id = journey_id
        self.agency = agency
        self.track = track
        self.sector = sector
        self.registered_on = registered_on
        self.enrolled_at = enrolled_at
        self.ready_at = ready_at
        self.withdrawn_on = withdrawn_on
        self.withdrawal_reason = withdrawal_reason
        self.national_hold = national_hold
        """Why readiness for placement waits for the national identity index: `provisional`
        (registered while the index could not be asked), `duplicate` or `suspended` (the
        person has another active registration); None once cleared."""
        self.national_hold_at = national_hold_at
        """When registration said so: its events about the hold arrive on separate consumers,
        so an older word arriving later is not taken."""
        self._results = results
        self._seat = seat
        self._scored_days = scored_days
        # What changed since it was loaded, for the repository to write.
        self.is_new = False
        self.row_changed = False
        self.new_results: list[RecordedResult] = []
        self.sector_changes: list[SectorChange] = []
        self.departures: list[Departure] = []
        self.arrivals: list[Seat] = []
        self.scores_written: list[ScoreWritten] = []
        self.events: list[Event] = []

    @classmethod
    def enrol(cls, registered: CandidateRegistered, now: datetime) -> Enrolment:
        """The candidate enrolled for their preferred sector, as registration announced them."""
        enrolment = cls(
            candidate_id=registered.candidate_id,
            journey_id=registered.journey_id,
            agency=registered.agency,
            track=registered.track,
            sector=normalise_sector(registered.preferred_sector),
            registered_on=registered.registered_on,
            enrolled_at=now,
            national_hold=None
            if registered.identity_check is IdentityCheck.CLEARED
            else registered.identity_check.value,
            national_hold_at=registered.occurred_at,
            results=[],
            seat=None,
            scored_days=set(),
        )
        enrolment.is_new = True
        return enrolment

    @property
    def results(self) -> list[RecordedResult]:
        return _loaded(self._results, "results")

    @property
    def seat(self) -> Seat | None:
        return _loaded(self._seat, "cohort seat")

    @property
    def scored_days(self) -> set[date]:
        return _loaded(self._scored_days, "days scored")

    @property
    def cohort_id(self) -> uuid.UUID | None:
        """The cohort the candidate sits in now."""
        return self.seat.cohort_id if self.seat else None

    def ensure_active(self) -> None:
        """Refuse any change once the candidate has withdrawn."""
        if self.withdrawn_on is not None:
            raise Conflict(
                "candidate_withdrawn",
                f"candidate {self.candidate_id} withdrew on {self.withdrawn_on.isoformat()} "
                f"({self.withdrawal_reason}): no results, scores, cohort places or sector "
                "changes are recorded for them any more",
                candidate_id=str(self.candidate_id),
                withdrawn_on=self.withdrawn_on.isoformat(),
            )

    def readiness(self) -> Readiness:
        """Readiness for placement on the candidate's current sector."""
        return assess_readiness(self.track, self.sector, [r.result for r in self.results])

    def record_result(self, command: RecordResult, now: datetime) -> Recorded:
        """Grade and keep a test result: a pass is a `CertificatePassed`, and the first time
        the results make the candidate ready, a `CandidateReadyForPlacement`."""
        self.ensure_active()
        try:
            result = grade(command, now.date())
        except ResultRefused as refused:
            raise refused.violation("result_refused") from None
        if any(result == earlier.result for earlier in self.results):
            raise Conflict(
                "result_already_recorded",
                f"this {result.test.value} result of {result.taken_on.isoformat()} from "
                f"{result.issuer} is already recorded for candidate {self.candidate_id}",
            )
        recorded = RecordedResult(new_id(), result, now)
        self.results.append(recorded)
        self.new_results.append(recorded)
        if result.passed:
            self.events.append(self._certificate_passed(recorded))
        readiness, became_ready = self._reassess(now)
        return Recorded(recorded.result_id, result.passed, became_ready, readiness)

    def change_sector(self, sector: str, reason: str, now: datetime) -> SectorChanged:
        """Penjurusan: steer the candidate to `sector`. Readiness is judged again on the new
        sector, so results already in (e.g. that sector's skill test) may make them ready now."""
        self.ensure_active()
        if self.ready_at is not None:
            raise Conflict(
                "sector_change_after_ready",
                f"candidate {self.candidate_id} was declared ready for placement in "
                f"{self.sector} on {self.ready_at.date().isoformat()} and placement has been "
                "told; the sector can no longer change in training",
            )
        try:
            change = change_sector(self.sector, sector, reason, now)
        except Refused as refused:
            raise refused.violation("sector_change_refused") from None
        self.sector = change.sector
        self.row_changed = True
        self.sector_changes.append(change)
        readiness, became_ready = self._reassess(now)
        return SectorChanged(change.sector, became_ready, readiness)

    def record_daily_score(self, score: DailyScore, now: datetime) -> bool:
        """Keep the day's score, replacing one of the same day, and publish it with the
        candidate's current cohort; True when it replaced one."""
        self.ensure_active()
        try:
            check_daily_score(score, now.date())
        except Refused as refused:
            raise refused.violation("daily_score_refused") from None
        replaces = score.day in self.scored_days
        self.scored_days.add(score.day)
        self.scores_written.append(ScoreWritten(score, now, replaces))
        seat = self.seat
        self.events.append(
            DailyScoreRecorded(
                agency=self.agency,
                journey_id=self.journey_id,
                occurred_at=now,
                candidate_id=self.candidate_id,
                day=score.day,
                score=score.score,
                cohort_id=seat.cohort_id if seat else None,
                cohort_name=seat.cohort_name if seat else None,
                training_centre=seat.training_centre if seat else None,
            )
        )
        return replaces

    def withdraw(self, withdrawn: CandidateWithdrawn) -> bool:
        """The enrolment ends (its cohort seat is given up by the cohort, `Cohort.release`);
        False when it had ended already. Only the agency that registered the candidate
        withdraws them: the event is checked against the enrolment, as the root of the journey
        (`CandidateRegistered`) is vouched for by its sender."""
        if withdrawn.agency != self.agency:
            raise RuleViolation(
                "journey_mismatch",
                f"CandidateWithdrawn of candidate {self.candidate_id} names agency"
                f" {withdrawn.agency} but the candidate was registered by agency {self.agency};"
                " a forged or broken event, not handled",
            )
        if self.withdrawn_on is not None:
            return False
        self.withdrawn_on = withdrawn.withdrawn_on
        self.withdrawal_reason = withdrawn.reason.value
        self.row_changed = True
        return True

    def hold_for_identity(self, found: DuplicateRegistrationFound) -> bool:
        """The national identity index found another active registration of the person: no
        readiness is declared while it stands. False when already held so (or withdrawn)."""
        hold = "suspended" if found.suspended else "duplicate"
        if found.agency != self.agency or self._told_before(found.occurred_at):
            return False
        self.national_hold, self.national_hold_at = hold, found.occurred_at
        self.row_changed = True
        return True

    def clear_identity(self, cleared: CandidateIdentityCleared, now: datetime) -> bool:
        """The national identity index cleared the person: readiness is judged again, and
        announced if the results are in. False when nothing was held (or the word is older)."""
        if cleared.agency != self.agency or self._told_before(cleared.occurred_at):
            return False
        held = self.national_hold is not None
        self.national_hold, self.national_hold_at = None, cleared.occurred_at
        self.row_changed = True
        if held and self.withdrawn_on is None:
            self._reassess(now)
        return held

    def _told_before(self, moment: datetime) -> bool:
        """Whether registration said something about the hold after `moment` already."""
        return self.national_hold_at is not None and moment <= self.national_hold_at

    def ensure_seated_in(self, cohort_id: uuid.UUID) -> Seat:
        seat = self.seat
        if seat is None or seat.cohort_id != cohort_id:
            raise not_in_cohort(self.candidate_id, cohort_id)
        return seat

    def take_seat(self, seat: Seat) -> None:
        """Called by `Cohort.assign`, which counts its seats."""
        assert self.seat is None, "a candidate sits in one cohort at a time"
        self._seat = seat
        self.arrivals.append(seat)

    def give_up_seat(self, cohort_id: uuid.UUID, reason: str, now: datetime) -> None:
        """Called by `Cohort.release`, which counts its seats."""
        seat = self.ensure_seated_in(cohort_id)
        self._seat = None
        self.departures.append(Departure(seat.membership_id, seat.cohort_id, now, reason))

    def saved(self) -> None:
        """The repository has written the changes and staged the events."""
        self.is_new = False
        self.row_changed = False
        self.new_results = []
        self.sector_changes = []
        self.departures = []
        self.arrivals = []
        self.scores_written = []
        self.events = []

    def _reassess(self, now: datetime) -> tuple[Readiness, bool]:
        """Judge readiness on the current sector; announce it the first time only."""
        readiness = self.readiness()
        became_ready = readiness.ready and self.ready_at is None and self.national_hold is None
        if became_ready:
            self.ready_at = now
            self.row_changed = True
            self.events.append(self._ready_for_placement(readiness))
        return readiness, became_ready

    def _certificate_passed(self, recorded: RecordedResult) -> CertificatePassed:
        result = recorded.result
        return CertificatePassed(
            agency=self.agency,
            journey_id=self.journey_id,
            candidate_id=self.candidate_id,
            certificate_id=recorded.result_id,
            test=result.test,
            level=result.level,
            score=result.score,
            sector=result.sector,
            issuer=result.issuer,
            passed_on=result.taken_on,
        )

    def _ready_for_placement(self, readiness: Readiness) -> CandidateReadyForPlacement:
        assert readiness.language_level is not None  # every track needs Japanese at N4
        return CandidateReadyForPlacement(
            agency=self.agency,
            journey_id=self.journey_id,
            candidate_id=self.candidate_id,
            track=self.track,
            sector=self.sector,
            language_level=readiness.language_level,
            satisfied_rules=[rule.in_words() for rule in readiness.met],
        )


def enrolled(enrolments: Mapping[uuid.UUID, Enrolment], candidate_id: uuid.UUID) -> Enrolment:
    """The candidate's enrolment among those loaded, or the refusal: not enrolled."""
    enrolment = enrolments.get(candidate_id)
    if enrolment is None:
        raise RuleViolation(
            "candidate_not_enrolled",
            f"candidate {candidate_id} is not enrolled in training: results, scores and cohort "
            "places are recorded only for candidates registered by an agency (check the "
            "candidate id, or wait until the registration has reached training)",
            {"candidate_id": str(candidate_id)},
            status_code=404,
        )
    return enrolment


def not_in_cohort(candidate_id: uuid.UUID, cohort_id: uuid.UUID) -> RuleViolation:
    return RuleViolation(
        "not_in_cohort",
        f"candidate {candidate_id} is not a member of cohort {cohort_id}",
        status_code=404,
    )
