"""Registration's commands and decisions. Pure: no I/O, time is passed in.

A decision lists every rule checked, so an operator sees why a registration was accepted or
refused; disagreements between the NIK and the declaration are warnings, never refusals.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from jembatan_contracts import Track, WithdrawalReason
from jembatan_contracts.ids import new_id
from jembatan_kit.errors import RuleViolation

from .eligibility import RuleCheck, check_eligibility, check_selection_date, rule_set_on
from .nik import ParsedNik, mismatch_warnings, parse_nik


class Sex(StrEnum):
    MALE = "M"
    FEMALE = "F"


class CandidateStatus(StrEnum):
    ACTIVE = "active"
    WITHDRAWN = "withdrawn"


class NationalCheck(StrEnum):
    """Where the national identity index stands on a candidate (docs/identity-index.md)."""

    CLEARED = "cleared"
    """No other active registration of the person, anywhere."""
    PROVISIONAL = "provisional"
    """Registered while the index could not be asked: may enrol and train, not be ready for
    placement, until the index has heard of it and cleared it."""
    DUPLICATE = "duplicate"
    """The earlier of two active registrations of the person: held until one is withdrawn or a
    mistyped NIK corrected."""
    SUSPENDED = "suspended"
    """The later of two active registrations of the person: suspended, with the ways out."""

    @property
    def explained(self) -> str:
        """What the standing means for an operator, and the ways out."""
        return NATIONAL_CHECK_EXPLAINED[self]


NATIONAL_CHECK_EXPLAINED = {
    NationalCheck.CLEARED: "the national identity index holds no other active registration of "
    "this person",
    NationalCheck.PROVISIONAL: "registered while the national identity index could not be asked "
    "(the link to the hub was down): the candidate may enrol and train, and is declared ready "
    "for placement once the index has cleared them",
    NationalCheck.DUPLICATE: "the national identity index found a later active registration of "
    "this person with another agency: held, not ready for placement, until the later one is "
    "withdrawn there or its NIK corrected, or this one is withdrawn",
    NationalCheck.SUSPENDED: "the national identity index found an earlier active registration "
    "of this person with another agency: this later registration is suspended. Withdraw it, or "
    "correct its NIK if it was mistyped (the check runs again), or have the other withdrawn",
}


@dataclass(frozen=True)
class RegisterCandidate:
    """Command: an agency registers a candidate."""

    agency: str
    nik: str
    full_name: str
    birth_date: date
    sex: Sex
    education: str
    track: Track
    preferred_sector: str
    phone: str | None = None
    region_code: str | None = None
    """Where the candidate declares to live: province (2 digits) or regency (4 digits)."""
    selection_date: date | None = None
    """The date eligibility is judged on; the registration date when not given. One named by
    the caller must lie in the selection window (`eligibility.check_selection_date`)."""


@dataclass(frozen=True)
class UnreadableRegistration:
    """A row of an agency's file that could not be read as a `RegisterCandidate`. It is passed
    in its place, so it is answered there: with `refusal`, or as paused like every row after the
    caller's refusals for the day are spent."""

    refusal: RuleViolation


@dataclass(frozen=True)
class WithdrawCandidate:
    """Command: the candidate's agency withdraws them (they may register again later)."""

    candidate_id: uuid.UUID
    reason: WithdrawalReason
    note: str | None = None
    """Kept here, never sent in an event."""


@dataclass(frozen=True)
class CorrectCandidate:
    """Command: correct personal data; `changes` maps field names of `RegisterCandidate` to the
    corrected values."""

    candidate_id: uuid.UUID
    changes: dict[str, Any]


@dataclass(frozen=True)
class Upload:
    """An agency's file as it was answered, kept so the same file sent again by the same agency
    gets the same answer and registers nobody twice."""

    id: uuid.UUID
    agency: str
    sha256: str
    received_at: datetime
    accepted: int
    refused: int
    results: list[dict[str, Any]]


@dataclass(frozen=True)
class Decision:
    checks: list[RuleCheck] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    rule_set: str | None = None
    nik: ParsedNik | None = None

    @property
    def accepted(self) -> bool:
        return all(check.passed for check in self.checks)

    @property
    def failures(self) -> list[RuleCheck]:
        return [check for check in self.checks if not check.passed]

    @property
    def refusal(self) -> str:
        return "; ".join(check.message for check in self.failures)


def decide(command: RegisterCandidate, today: date, judged_on: date | None = None) -> Decision:
    """Every rule of a registration, judged on `judged_on` when given (a date the system
    recorded: a correction is judged on the date its registration was), otherwise on the
    selection date the command names, which must lie in the selection window, or today."""
    checks: list[RuleCheck] = []
    parsed = parse_nik(command.nik, today)
    if isinstance(parsed, list):
        checks += [
            RuleCheck(f"nik_{problem.part}", False, "the NIK must be a real NIK", problem.message)
            for problem in parsed
        ]
        nik = None
    else:
        nik = parsed
        checks.append(
            RuleCheck(
                "nik_valid",
                True,
                "the NIK must be a real NIK",
                f"issued in {nik.province_name}, regency {nik.region_code}",
            )
        )
    name = command.full_name.strip()
    checks.append(
        RuleCheck(
            "name_present",
            bool(name),
            "the full name must be given",
            "given" if name else "empty",
        )
    )
    selection_date = judged_on or command.selection_date or today
    in_window = True
    if judged_on is None and command.selection_date is not None:
        window = check_selection_date(command.selection_date, today)
        checks.append(window)
        in_window = window.passed
    if in_window:  # eligibility judged on a date outside the window would mean nothing
        checks += check_eligibility(
            command.track,
            command.birth_date,
            command.education,
            command.preferred_sector,
            selection_date,
        )
    warnings = (
        mismatch_warnings(nik, command.birth_date, command.sex is Sex.FEMALE, command.region_code)
        if nik
        else []
    )
    in_force = rule_set_on(selection_date)
    return Decision(checks, warnings, in_force.id if in_force else None, nik)


def check_view(check: RuleCheck) -> dict[str, object]:
    """A rule check as answers and refusals show it."""
    return {
        "rule": check.rule,
        "passed": check.passed,
        "requirement": check.requirement,
        "finding": check.finding,
    }


def refused(rule: str, decision: Decision, *, with_warnings: bool = False) -> RuleViolation:
    """The refusal of a decision not accepted, naming every rule broken, with every check, and
    the warnings if asked: a registration's, whose caller typed the NIK they quote (never a
    correction's, which may quote a stored NIK's birth date and sex to a caller who may not
    read them)."""
    details: dict[str, object] = {"checks": [check_view(check) for check in decision.checks]}
    if with_warnings:
        details["warnings"] = decision.warnings
    return RuleViolation(rule, decision.refusal, details)


def mask_nik(nik: str) -> str:
    """Show the region only (province and regency, the first 4 digits), e.g. 6471************.

    Digits 7-12 are the birth date (women: day + 40), so a mask that shows the serial beside a
    view that shows the birth date and sex leaves only the district unknown: about a hundred
    guesses. This mask hides the district, the birth date and the serial; the views show an age
    in years instead of the birth date, so what stays unknown is the district (tens of codes), a
    year of birth dates, the sex and a 4-digit serial: tens of millions of NIKs, no useful search
    space. The region is kept because it says no more than the province the view already shows
    and the regency whose labour office usually registered the person, and operators sort by it.
    Masking a stored mask of the older form (6471********0003) gives the same, so records stored
    before keep no more than this."""
    return nik[:4] + "*" * 12


WARNINGS_FROM_THE_NIK = {
    "NIK encodes birth date": "the NIK's birth date differs from the declared birth date",
    "NIK encodes sex": "the NIK's sex differs from the declared sex",
}
"""Mismatch warnings that quote the birth date or sex the NIK encodes, and what a caller who may
not see them is told instead."""


def redact_warnings(warnings: list[str]) -> list[str]:
    """The warnings without the birth date and sex they quote, for callers without nik-reader."""
    redacted = []
    for warning in warnings:
        for prefix, instead in WARNINGS_FROM_THE_NIK.items():
            if warning.startswith(prefix):
                warning = instead
                break
        redacted.append(warning)
    return redacted


def age_in_years(birth_date: date, on: date) -> int:
    """Whole years of age on `on`: what a caller who may not see the birth date is shown."""
    return on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))


def new_candidate_ids() -> tuple[uuid.UUID, uuid.UUID]:
    """A candidate id and a journey id that will follow the candidate through every service."""
    return new_id(), new_id()
