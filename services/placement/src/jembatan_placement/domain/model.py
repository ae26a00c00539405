"""Placement's vocabulary and the rules of job orders. Pure: no I/O, time is passed in."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from jembatan_contracts import TestKind, Track
from jembatan_contracts.ids import new_id
from jembatan_kit.errors import Conflict, RuleViolation

from .rules import PlacementRules


class JobOrderStatus(StrEnum):
    OPEN = "open"
    FILLED = "filled"
    CLOSED = "closed"


class LanguageLevel(StrEnum):
    """JLPT levels, lowest first. JFT-Basic A2 counts as N4."""

    N5 = "N5"
    N4 = "N4"
    N3 = "N3"
    N2 = "N2"
    N1 = "N1"

    @property
    def rank(self) -> int:
        return list(LanguageLevel).index(self)

    @classmethod
    def parse(cls, level: str) -> LanguageLevel | None:
        try:
            return cls(level.strip().upper())
        except ValueError:
            return None


DEFAULT_MINIMUM_LANGUAGE_LEVEL = LanguageLevel.N4


@dataclass(frozen=True)
class OpenJobOrder:
    """Command: a supervising organisation opens a job order for a Japanese employer."""

    employer: str
    supervising_organisation: str
    prefecture: str
    sector: str
    track: Track
    slots: int
    monthly_wage_jpy: int
    contract_months: int
    minimum_language_level: LanguageLevel = DEFAULT_MINIMUM_LANGUAGE_LEVEL
    required_certificates: tuple[TestKind, ...] = ()
    interview_date: date | None = None


@dataclass(frozen=True)
class CloseJobOrder:
    """Command: the order takes no one new from now on, for the reason given."""

    job_order_id: uuid.UUID
    reason: str


@dataclass(frozen=True)
class RecordCommitment:
    """Command: how long a ready candidate commits to work in Japan; employers favour longer."""

    candidate_id: uuid.UUID
    months_willing_to_stay: int


@dataclass(frozen=True)
class HeldCertificate:
    test: TestKind
    sector: str | None = None
    """For sector skill tests: the sector the test was passed in."""


@dataclass(frozen=True)
class ReadyCandidate:
    """What placement knows of a candidate: the readiness training announced, the certificates
    passed, and the commitment the sending organisation recorded. No personal data."""

    candidate_id: uuid.UUID
    journey_id: uuid.UUID
    agency: str
    track: Track
    sector: str
    language_level: str
    ready_on: date
    certificates: frozenset[HeldCertificate] = frozenset()
    daily_score_average: float | None = None
    months_willing_to_stay: int | None = None
    withdrawn_on: date | None = None
    """The day the candidate withdrew from the programme (registration's CandidateWithdrawn):
    from then on nobody may put them on a path or record anything for them."""
    identity_hold: str | None = None
    """`duplicate` or `suspended` while the national identity index holds the person for two
    active registrations (registration's DuplicateRegistrationFound): nobody may put them on a
    path until it clears them (CandidateIdentityCleared)."""

    def ensure_not_withdrawn(self) -> None:
        """Refuse any step for a candidate who withdrew, or whom the national identity index
        holds as registered twice."""
        if self.withdrawn_on is not None:
            raise candidate_withdrawn(self.candidate_id, self.withdrawn_on)
        if self.identity_hold is not None:
            raise Conflict(
                "identity_duplicate",
                f"candidate {self.candidate_id} is held by the national identity index as "
                f"registered twice ({self.identity_hold}); the registering agency resolves it by "
                "withdrawing one registration or correcting a mistyped NIK",
            )


@dataclass(eq=False)
class JobOrder:
    """A job order from a Japanese employer: the aggregate that counts its slots. A slot is taken
    when a contract is signed (`take_slot`); a closed or full order takes no one new."""

    id: uuid.UUID
    sector: str
    track: Track
    slots: int
    filled: int
    contract_months: int
    minimum_language_level: LanguageLevel = DEFAULT_MINIMUM_LANGUAGE_LEVEL
    required_certificates: frozenset[TestKind] = frozenset()
    closed: bool = False
    employer: str = ""
    supervising_organisation: str = ""
    prefecture: str = ""
    monthly_wage_jpy: int = 0
    interview_date: date | None = None
    opened_at: datetime | None = None
    closed_at: datetime | None = None
    close_reason: str | None = None

    @property
    def remaining(self) -> int:
        return self.slots - self.filled

    @property
    def status(self) -> JobOrderStatus:
        return order_status(self.slots, self.filled, self.closed)

    @classmethod
    def open(cls, command: OpenJobOrder, now: datetime, rules: PlacementRules) -> JobOrder:
        """A new order, or the refusal naming every rule the command breaks, by the rules in
        force today."""
        decision = check_job_order(command, rules, now.date())
        if not decision.accepted:
            raise RuleViolation(
                "job_order_refused",
                "; ".join(check.message for check in decision.failures),
                {"checks": [check.__dict__ for check in decision.checks]},
            )
        return cls(
            id=new_id(),
            employer=command.employer.strip(),
            supervising_organisation=command.supervising_organisation.strip(),
            prefecture=command.prefecture.strip(),
            sector=normalise_sector(command.sector),
            track=command.track,
            slots=command.slots,
            filled=0,
            monthly_wage_jpy=command.monthly_wage_jpy,
            contract_months=command.contract_months,
            minimum_language_level=command.minimum_language_level,
            required_certificates=frozenset(command.required_certificates),
            interview_date=command.interview_date,
            opened_at=now,
        )

    def close(self, reason: str, now: datetime) -> None:
        ensure_can_close(self, reason)
        self.closed, self.closed_at, self.close_reason = True, now, reason.strip()

    def take_slot(self) -> None:
        """Refused when the order is closed or full."""
        ensure_open_for_candidates(self)
        self.filled += 1

    def give_back_slot(self) -> None:
        """A contracted candidate withdrew before departing: the slot is free for another."""
        assert self.filled > 0, "a slot is given back only by a placement that took one"
        self.filled -= 1


@dataclass(frozen=True)
class RuleCheck:
    rule: str
    passed: bool
    message: str


@dataclass(frozen=True)
class Decision:
    """Every rule that was checked, so a refusal can be explained to the operator."""

    checks: list[RuleCheck] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        return all(check.passed for check in self.checks)

    @property
    def failures(self) -> list[RuleCheck]:
        return [check for check in self.checks if not check.passed]


def normalise_sector(sector: str) -> str:
    """Sector codes compare case- and space-insensitively: `Caregiver ` is `caregiver`."""
    return sector.strip().lower()


def order_status(slots: int, filled: int, closed: bool = False) -> JobOrderStatus:
    if closed:
        return JobOrderStatus.CLOSED
    return JobOrderStatus.FILLED if filled >= slots else JobOrderStatus.OPEN


def check_job_order(command: OpenJobOrder, rules: PlacementRules, day: date) -> Decision:
    """Every rule of a job order opened on `day`: what it must name, and the dated rules of its
    track (the longest contract) and its prefecture (the minimum wage)."""

    def present(rule: str, value: str, what: str) -> RuleCheck:
        return RuleCheck(rule, bool(value.strip()), f"{what} must not be empty")

    track = command.track.value
    longest = rules.contract_length_on(command.track, day)
    floor = rules.minimum_wage_on(day).floor_for(command.prefecture)

    return Decision(
        [
            present("employer_present", command.employer, "employer"),
            present(
                "supervising_organisation_present",
                command.supervising_organisation,
                "supervising organisation",
            ),
            present("prefecture_present", command.prefecture, "prefecture"),
            present("sector_present", command.sector, "sector"),
            RuleCheck("slots_positive", command.slots > 0, "a job order needs at least one slot"),
            RuleCheck(
                "wage_positive",
                command.monthly_wage_jpy > 0,
                "monthly wage in JPY must be more than zero",
            ),
            RuleCheck(
                "wage_at_least_minimum",
                command.monthly_wage_jpy >= floor.monthly_jpy,
                f"a monthly wage of {command.monthly_wage_jpy:,} JPY must be at least "
                + floor.explained(),
            ),
            RuleCheck(
                "contract_positive",
                command.contract_months > 0,
                "contract length must be at least one month",
            ),
            RuleCheck(
                "contract_within_track_limit",
                command.contract_months <= longest.max_months,
                f"a {track} contract is at most {longest.max_months} months"
                f" ({command.contract_months} asked): {longest.beyond}",
            ),
        ]
    )


def ensure_can_close(order: JobOrder, reason: str) -> None:
    if order.closed:
        raise order_closed(order.id)
    if not reason.strip():
        raise RuleViolation("close_reason_present", "say why the job order is closed")


def ensure_open_for_candidates(order: JobOrder) -> None:
    """A closed or full order takes no one new. Candidates already holding a slot go on."""
    if order.closed:
        raise order_closed(order.id)
    if order.remaining <= 0:
        raise order_full(order.id, order.slots)


def order_full(order_id: uuid.UUID, slots: int) -> Conflict:
    return Conflict(
        "order_full",
        f"job order {order_id} has no slot left: all {slots} are filled",
        job_order_id=str(order_id),
        slots=slots,
    )


def order_closed(order_id: uuid.UUID) -> Conflict:
    return Conflict(
        "order_closed",
        f"job order {order_id} is closed and takes no more candidates",
        job_order_id=str(order_id),
    )


def not_ready(candidate_id: uuid.UUID) -> RuleViolation:
    return RuleViolation(
        "candidate_not_ready",
        f"candidate {candidate_id} is not ready for placement: training has not announced "
        "that the certificates for the candidate's track and sector are in",
        {"candidate_id": str(candidate_id)},
    )


def candidate_withdrawn(candidate_id: uuid.UUID, withdrawn_on: date) -> Conflict:
    return Conflict(
        "candidate_withdrawn",
        f"candidate {candidate_id} withdrew from the programme on {withdrawn_on.isoformat()}:"
        " nobody may shortlist, place or record anything for them any more",
        candidate_id=str(candidate_id),
        withdrawn_on=withdrawn_on.isoformat(),
    )


def one_active_placement(candidate_id: uuid.UUID, placement_id: uuid.UUID) -> Conflict:
    return Conflict(
        "one_active_placement",
        f"candidate {candidate_id} already holds a placement: {placement_id}",
        candidate_id=str(candidate_id),
        existing_placement_id=str(placement_id),
    )


def already_on_order(
    candidate_id: uuid.UUID, order_id: uuid.UUID, placement_id: uuid.UUID
) -> Conflict:
    return Conflict(
        "already_on_order",
        f"candidate {candidate_id} is already on the path of job order {order_id}: "
        f"placement {placement_id}",
        candidate_id=str(candidate_id),
        existing_placement_id=str(placement_id),
    )
