"""A candidate's path on one job order: the `Placement` aggregate. It starts the path
(`shortlist`, `place_directly`), moves it one step at a time along the table in `journey`
(`advance`), refuses a step out of order with the rule it breaks, and records the event each
step causes. Pure: no I/O, time is passed in.

What a placement must know of the candidate's other paths (a slot held elsewhere, a live path on
the same order) it asks `CandidatePaths`, which the service layer keeps current while it applies
a list of commands, so a second row for the same candidate sees the first.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from jembatan_contracts import (
    CandidateInterviewed,
    CandidateOffered,
    CandidatePlaced,
    CandidateShortlisted,
    CandidateWithdrawn,
    CertificateOfEligibilityIssued,
    Departed,
    EarlyReturned,
    EarlyReturnReason,
    Event,
    Track,
    VisaIssued,
)
from jembatan_contracts.ids import new_id
from jembatan_kit.errors import RuleViolation

from .journey import (
    ENDED_STATUSES,
    SLOT_HOLDING_STATUSES,
    PlacementStatus,
    Step,
    ensure_dated_in_order,
    ensure_not_in_future,
    ensure_return_is_early,
    months_worked,
    next_status,
)
from .matching import ensure_fits
from .model import (
    JobOrder,
    ReadyCandidate,
    already_on_order,
    ensure_open_for_candidates,
    one_active_placement,
)
from .rules import PlacementRules


@dataclass(frozen=True)
class ShortlistCandidate:
    """Command: put a ready candidate on the order's path."""

    job_order_id: uuid.UUID
    candidate_id: uuid.UUID
    on: date


@dataclass(frozen=True)
class PlaceCandidate:
    """Command: a contract signed without the steps before it; the slot is taken at once."""

    job_order_id: uuid.UUID
    candidate_id: uuid.UUID


@dataclass(frozen=True)
class AdvancePlacement:
    """Command: one step of a placement's path (`Step`), dated `on`; an early return says why."""

    placement_id: uuid.UUID
    step: Step
    on: date
    reason: EarlyReturnReason | None = None


@dataclass(frozen=True)
class Withdrawal:
    """A candidate withdrew from the programme, as registration announced it
    (CandidateWithdrawn). Kept even for a candidate placement has not heard of yet, so a
    readiness arriving later finds the candidate withdrawn."""

    candidate_id: uuid.UUID
    agency: str
    journey_id: uuid.UUID
    withdrawn_on: date
    reason: str
    heard_at: datetime

    @classmethod
    def announced(cls, event: CandidateWithdrawn, now: datetime) -> Withdrawal:
        return cls(
            event.candidate_id,
            event.agency,
            event.journey_id,
            event.withdrawn_on,
            event.reason.value,
            now,
        )

    def concerns(self, agency: str, journey_id: uuid.UUID) -> bool:
        """Only the agency that registered the candidate withdraws them, in that journey."""
        return (self.agency, self.journey_id) == (agency, journey_id)

    def ensure_concerns(self, candidate: ReadyCandidate) -> None:
        """Refuse a withdrawal naming another agency or journey than the candidate's: a forged
        or broken event."""
        if not self.concerns(candidate.agency, candidate.journey_id):
            raise RuleViolation(
                "journey_mismatch",
                f"CandidateWithdrawn of candidate {self.candidate_id} names agency"
                f" {self.agency} and journey {self.journey_id}, but placement knows the"
                f" candidate as agency {candidate.agency}'s, journey {candidate.journey_id};"
                " a forged or broken event, not handled",
            )


@dataclass(frozen=True)
class PathStep:
    status: PlacementStatus
    happened_on: date
    recorded_at: datetime
    detail: str | None = None


@dataclass(frozen=True)
class PathSummary:
    """What a placement's rules need to know of another path of the candidate."""

    placement_id: uuid.UUID
    candidate_id: uuid.UUID
    job_order_id: uuid.UUID
    status: PlacementStatus


@dataclass(frozen=True)
class StaySummary:
    """A stay in Japan a candidate came back from: its track and the months it counts."""

    candidate_id: uuid.UUID
    track: Track
    months: int


class CandidatePaths:
    """The paths some candidates are on, as loaded and as changed since, and the stays in
    Japan they came back from."""

    def __init__(
        self, paths: Iterable[PathSummary] = (), stays: Iterable[StaySummary] = ()
    ) -> None:
        self._of: dict[uuid.UUID, dict[uuid.UUID, PathSummary]] = {}
        for path in paths:
            self._of.setdefault(path.candidate_id, {})[path.placement_id] = path
        self._served: dict[tuple[uuid.UUID, Track], int] = {}
        for stay in stays:
            key = (stay.candidate_id, stay.track)
            self._served[key] = self._served.get(key, 0) + stay.months

    def update(self, placement: Placement) -> None:
        self._of.setdefault(placement.candidate_id, {})[placement.id] = PathSummary(
            placement.id, placement.candidate_id, placement.job_order_id, placement.status
        )

    def placement_ids(self) -> set[uuid.UUID]:
        return {placement_id for paths in self._of.values() for placement_id in paths}

    def ensure_holds_no_slot(self, candidate_id: uuid.UUID) -> None:
        """A candidate holds at most one slot: contracted, or already in Japan."""
        for path in self._of.get(candidate_id, {}).values():
            if path.status in SLOT_HOLDING_STATUSES:
                raise one_active_placement(candidate_id, path.placement_id)

    def ensure_within_track_total(
        self, candidate_id: uuid.UUID, order: JobOrder, rules: PlacementRules, day: date
    ) -> None:
        """Where a track limits the time in Japan in all (SSW (i): 5 years), the months the
        candidate already spent there on it and the order's contract stay within it."""
        longest = rules.contract_length_on(order.track, day)
        if longest.max_months_in_all is None:
            return
        served = self._served.get((candidate_id, order.track), 0)
        if served + order.contract_months > longest.max_months_in_all:
            raise RuleViolation(
                "track_total_exceeded",
                f"candidate {candidate_id} has spent {served} months in Japan on"
                f" {order.track.value} already: the {order.contract_months}-month contract of"
                f" job order {order.id} would make {served + order.contract_months}, more than"
                f" the {longest.max_months_in_all} months allowed in all ({longest.beyond})",
                {
                    "candidate_id": str(candidate_id),
                    "months_served": served,
                    "contract_months": order.contract_months,
                    "max_months_in_all": longest.max_months_in_all,
                },
            )

    def ensure_not_on_order(self, candidate_id: uuid.UUID, job_order_id: uuid.UUID) -> None:
        """One path at a time on an order; a failed interview or an early return ends it."""
        for path in self._of.get(candidate_id, {}).values():
            if path.job_order_id == job_order_id and path.status not in ENDED_STATUSES:
                raise already_on_order(candidate_id, job_order_id, path.placement_id)


_recording = itertools.count()
"""Numbers the events placements record, so the events of several placements are staged in the
order they happened (`Placement.event_order`)."""


@dataclass(eq=False)
class Placement:
    id: uuid.UUID
    order: JobOrder
    candidate_id: uuid.UUID
    journey_id: uuid.UUID
    agency: str
    status: PlacementStatus
    started_at: datetime
    last_step_on: date
    """The day of the latest step: no step is dated before it."""
    placed_at: datetime | None = None
    departure_date: date | None = None
    new_steps: list[PathStep] = field(default_factory=list)
    """The steps taken since the placement was loaded (or started)."""
    events: list[Event] = field(default_factory=list)
    event_order: list[int] = field(default_factory=list)

    @property
    def job_order_id(self) -> uuid.UUID:
        return self.order.id

    @property
    def holds_slot(self) -> bool:
        return self.status in SLOT_HOLDING_STATUSES

    @classmethod
    def shortlist(
        cls,
        order: JobOrder,
        candidate: ReadyCandidate,
        paths: CandidatePaths,
        on: date,
        now: datetime,
        rules: PlacementRules,
    ) -> Placement:
        """Shortlisting takes no slot: an employer may shortlist more candidates than it has."""
        ensure_not_in_future(Step.SHORTLIST, on, now)
        candidate.ensure_not_withdrawn()
        ensure_fits(candidate, order)
        ensure_open_for_candidates(order)
        paths.ensure_holds_no_slot(candidate.candidate_id)
        paths.ensure_not_on_order(candidate.candidate_id, order.id)
        paths.ensure_within_track_total(candidate.candidate_id, order, rules, now.date())
        placement = cls._start(order, candidate, PlacementStatus.SHORTLISTED, on, now)
        placement._record(
            CandidateShortlisted(
                **placement._envelope(),
                placement_id=placement.id,
                candidate_id=placement.candidate_id,
                job_order_id=order.id,
                track=order.track,
                sector=order.sector,
                shortlisted_on=on,
            )
        )
        return placement

    @classmethod
    def place_directly(
        cls,
        order: JobOrder,
        candidate: ReadyCandidate,
        paths: CandidatePaths,
        now: datetime,
        rules: PlacementRules,
    ) -> Placement:
        """A contract signed without the steps before it, today: the slot is taken at once."""
        candidate.ensure_not_withdrawn()
        paths.ensure_holds_no_slot(candidate.candidate_id)
        ensure_fits(candidate, order)
        ensure_open_for_candidates(order)
        paths.ensure_not_on_order(candidate.candidate_id, order.id)
        paths.ensure_within_track_total(candidate.candidate_id, order, rules, now.date())
        order.take_slot()
        placement = cls._start(order, candidate, PlacementStatus.PLACED, now.date(), now)
        placement.placed_at = now
        placement._record(placement._placed(now.date()))
        return placement

    def advance(
        self,
        step: Step,
        on: date,
        now: datetime,
        paths: CandidatePaths,
        rules: PlacementRules,
        reason: EarlyReturnReason | None = None,
    ) -> None:
        """Take `step`, dated `on`, or refuse it naming the rule it breaks. Signing the contract
        takes one of the order's slots (financing hears of it as CandidatePlaced); an early
        return says why (`reason`)."""
        target = next_status(self.id, self.status, step)
        ensure_not_in_future(step, on, now)
        detail = None
        if step is Step.OFFER:
            ensure_open_for_candidates(self.order)
        elif step is Step.SIGN_CONTRACT:
            paths.ensure_holds_no_slot(self.candidate_id)
            ensure_open_for_candidates(self.order)
            paths.ensure_within_track_total(self.candidate_id, self.order, rules, on)
        if step is Step.RETURN_EARLY:
            if reason is None:
                raise ValueError("an early return needs its reason")
            assert self.departure_date is not None  # departed: the table in `journey` says so
            ensure_dated_in_order(step, on, self.departure_date)
            ensure_return_is_early(self.departure_date, on, self.order.contract_months)
            detail = reason.value
        else:
            ensure_dated_in_order(step, on, self.last_step_on)
        if step is Step.SIGN_CONTRACT:
            self.order.take_slot()
            self.placed_at = now
        elif step is Step.DEPART:
            self.departure_date = on
        self._step(target, on, now, detail)
        self._record(self._event_of(step, on, reason))

    def withdraw(self, withdrawal: Withdrawal, now: datetime) -> bool:
        """The candidate withdrew: a path not yet in Japan ends (`withdrawn`) and gives back
        the slot it held. A departed candidate keeps the placement as it is (an early return
        records a return), and an ended path stays ended. False when nothing changed."""
        if self.status in ENDED_STATUSES or self.status is PlacementStatus.DEPARTED:
            return False
        if self.holds_slot:
            self.order.give_back_slot()
        self._step(PlacementStatus.WITHDRAWN, withdrawal.withdrawn_on, now, withdrawal.reason)
        return True

    @classmethod
    def _start(
        cls,
        order: JobOrder,
        candidate: ReadyCandidate,
        status: PlacementStatus,
        on: date,
        now: datetime,
    ) -> Placement:
        placement = cls(
            id=new_id(),
            order=order,
            candidate_id=candidate.candidate_id,
            journey_id=candidate.journey_id,
            agency=candidate.agency,
            status=status,
            started_at=now,
            last_step_on=on,
        )
        placement.new_steps.append(PathStep(status, on, now))
        return placement

    def _step(self, status: PlacementStatus, on: date, now: datetime, detail: str | None) -> None:
        self.status = status
        self.last_step_on = max(self.last_step_on, on)
        self.new_steps.append(PathStep(status, on, now, detail))

    def _record(self, event: Event) -> None:
        self.events.append(event)
        self.event_order.append(next(_recording))

    def _envelope(self) -> dict[str, Any]:
        """Placement events travel under the candidate's agency and journey."""
        return {"agency": self.agency, "journey_id": self.journey_id}

    def _placed(self, signed_on: date) -> CandidatePlaced:
        return CandidatePlaced(
            **self._envelope(),
            placement_id=self.id,
            candidate_id=self.candidate_id,
            job_order_id=self.order.id,
            track=self.order.track,
            sector=self.order.sector,
            supervising_organisation=self.order.supervising_organisation,
            monthly_wage_jpy=self.order.monthly_wage_jpy,
            contract_months=self.order.contract_months,
            contract_signed_on=signed_on,
        )

    def _event_of(self, step: Step, on: date, reason: EarlyReturnReason | None) -> Event:
        ids = {"placement_id": self.id, "candidate_id": self.candidate_id}
        terms = {
            "monthly_wage_jpy": self.order.monthly_wage_jpy,
            "contract_months": self.order.contract_months,
        }
        envelope = self._envelope()
        if step in (Step.PASS_INTERVIEW, Step.FAIL_INTERVIEW):
            return CandidateInterviewed(
                **envelope,
                **ids,
                job_order_id=self.order.id,
                interviewed_on=on,
                passed=step is Step.PASS_INTERVIEW,
            )
        if step is Step.OFFER:
            return CandidateOffered(
                **envelope, **ids, job_order_id=self.order.id, offered_on=on, **terms
            )
        if step is Step.SIGN_CONTRACT:
            return self._placed(on)
        if step is Step.ISSUE_COE:
            return CertificateOfEligibilityIssued(**envelope, **ids, issued_on=on)
        if step is Step.ISSUE_VISA:
            return VisaIssued(**envelope, **ids, issued_on=on)
        if step is Step.DEPART:
            return Departed(**envelope, **ids, departure_date=on, **terms)
        if step is Step.RETURN_EARLY and reason is not None and self.departure_date is not None:
            return EarlyReturned(
                **envelope,
                **ids,
                return_date=on,
                reason=reason,
                months_worked=months_worked(self.departure_date, on),
            )
        raise ValueError(f"step {step} starts a path; it does not advance one")
