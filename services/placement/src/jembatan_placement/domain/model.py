"""Placement's vocabulary and the rules of job orders. Pure: no I/O, time is passed in."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from jembatan_contracts import TestKind, Track
from jembatan_kit.errors import Conflict, RuleViolation


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
    def open(cls, command: OpenJobOrder, now: datetime) -> JobOrder:
        """A new order, or the refusal naming every rule the command breaks."""
        decision = check_job_order(command)
        if not decision.accepted:
            raise RuleViolation(
                "job_order_refused",
                "; ".join(check.message for check in decision.failures),
                {"checks": [check.__dict__ for check in decision.checks]},
            )
        return cls(
            id=uuid.uuid4(),
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


def check_job_order(command: OpenJobOrder) -> Decision:
    def present(rule: str, value: str, what: str) -> RuleCheck:
        return RuleCheck(rule, bool(value.strip()), f"{what} must not be empty")

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
                "contract_positive",
                command.contract_months > 0,
                "contract length must be at least one month",
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
