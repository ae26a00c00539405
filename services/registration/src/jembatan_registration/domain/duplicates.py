"""One person, one active registration, whichever agency registered them; and what a refusal
under that rule may tell a caller of another agency. Pure: no I/O."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from jembatan_kit.errors import Conflict, RuleViolation

DUPLICATE_REFUSALS_PER_DAY = 10
"""How many registrations of NIKs registered with another agency one user may have refused in 24
hours before every registration by that user is paused for the rest of those 24 hours."""

REFUSAL_WINDOW = timedelta(days=1)

REFUSED_ELSEWHERE = "refused a registration: this NIK has an active registration here"
"""The reason the NIK read log gives when a caller of another agency learnt that this candidate's
NIK is registered, by being refused."""


@dataclass(frozen=True)
class Registrar:
    """Who registers or corrects: a user acting for an agency (Kemnaker acts nationally)."""

    user: str
    agency: str
    national: bool = False

    @property
    def reader(self) -> str:
        """How the NIK read log names this user."""
        return reader_name(self.user, self.agency)


def reader_name(user: str, agency: str) -> str:
    return f"{user} ({agency})"


@dataclass(frozen=True)
class NikRead:
    """An entry of the NIK read log: who was shown a NIK (or its birth date and sex, or learnt
    that it is registered here), and why."""

    candidate_id: uuid.UUID
    reader: str
    reason: str
    read_at: datetime


@dataclass(frozen=True)
class ActiveRegistration:
    candidate_id: uuid.UUID
    agency: str


class RegisteredElsewhere(Conflict):
    """A registration refused because the NIK is registered with an agency other than the
    caller's. The one-active-registration rule needs the refusal, and the clerk holding the
    person's KTP needs to hear why; but a clerk guessing NIKs without the person present could use
    it to confirm that a NIK is registered somewhere. So the refusal says one thing only, that it
    is registered with another agency (neither which agency nor which candidate); it is logged in
    the NIK read log of the candidate it found (the agency that registered them and Kemnaker see
    who probed their candidate); and a user refused `DUPLICATE_REFUSALS_PER_DAY` times in 24
    hours has every registration paused, so the refusal cannot be used as a search oracle.

    Asking for the declared birth date to match before refusing was considered and rejected: the
    refusal must be given either way (the index forbids a second active row), so a mismatch would
    still be distinguishable from a free NIK, and the birth date is in the NIK itself."""

    def __init__(self, existing_candidate_id: uuid.UUID) -> None:
        super().__init__(
            "one_active_registration",
            "this NIK already has an active registration with another agency; it must be "
            "withdrawn there before the candidate can be registered here",
        )
        self.existing_candidate_id = existing_candidate_id

    def logged_for(self, registrar: Registrar, now: datetime) -> NikRead:
        """The entry telling the candidate's agency that `registrar` learnt the NIK is taken."""
        return NikRead(self.existing_candidate_id, registrar.reader, REFUSED_ELSEWHERE, now)


class RegisteredNationally(Conflict):
    """A registration (or NIK correction) refused because the national identity index holds the
    person for an active registration with another agency's service. The same refusal as
    `RegisteredElsewhere`, for the same reasons, and counted against the same daily limit; the
    index logs nothing of the other candidate here (this service does not know it)."""

    def __init__(self) -> None:
        super().__init__(
            "one_active_registration",
            "this NIK already has an active registration with another agency; it must be "
            "withdrawn there before the candidate can be registered here",
        )


def already_registered(existing: ActiveRegistration | None, agency: str) -> Conflict:
    """The refusal of a second active registration for `agency`. It names the registration
    already there only if it is `agency`'s own: another agency's candidates are not disclosed,
    only that one exists elsewhere (see RegisteredElsewhere). `existing` is None when a request
    at the same moment took the NIK and was withdrawn again before it could be named."""
    if existing is None:
        return Conflict(
            "one_active_registration",
            "this NIK was registered by another request at the same moment; look it up and "
            "send the registration again if it is still needed",
        )
    if existing.agency != agency:
        return RegisteredElsewhere(existing.candidate_id)
    return Conflict(
        "one_active_registration",
        f"this NIK already has an active registration: candidate {existing.candidate_id} "
        f"registered by agency {existing.agency}",
        existing_candidate_id=str(existing.candidate_id),
        existing_agency=existing.agency,
    )


class ActiveRegistrations:
    """The active registration of each NIK that a list of commands names, as loaded, and kept up
    to date while the list is applied in order, so a NIK twice in one file is refused the second
    time as it would be in two requests."""

    def __init__(self, by_nik: Mapping[str, ActiveRegistration] | None = None) -> None:
        self._by_nik = dict(by_nik or {})

    def refuse_if_held(self, nik: str, agency: str, unless_by: uuid.UUID | None = None) -> None:
        """Refuse a registration of `nik` for `agency` if another candidate holds it."""
        holder = self._by_nik.get(nik)
        if holder is not None and holder.candidate_id != unless_by:
            raise already_registered(holder, agency)

    def hold(self, nik: str, candidate_id: uuid.UUID, agency: str) -> None:
        self._by_nik[nik] = ActiveRegistration(candidate_id, agency)

    def release(self, nik: str) -> None:
        self._by_nik.pop(nik, None)


def registration_paused(user: str, agency: str) -> RuleViolation:
    return RuleViolation(
        "registration_paused",
        f"{user} of {agency} was refused {DUPLICATE_REFUSALS_PER_DAY} "
        "registrations of NIKs registered with another agency within 24 hours, so registrations "
        f"by {user} are paused until 24 hours after those refusals; each was logged for "
        "the agency holding the candidate. If the candidates are genuine, ask Kemnaker",
        status_code=429,
    )


class RefusalBudget:
    """The refusals for NIKs registered elsewhere a registrar may still have before every
    registration by them is paused: refusing only the NIKs registered elsewhere would keep the
    oracle open. Kemnaker, who sees every registration anyway, has no limit."""

    def __init__(self, registrar: Registrar, refused_in_window: int) -> None:
        self.registrar = registrar
        self.left: int | None = (
            None if registrar.national else max(DUPLICATE_REFUSALS_PER_DAY - refused_in_window, 0)
        )

    @classmethod
    def unlimited(cls, registrar: Registrar) -> RefusalBudget:
        budget = cls(registrar, 0)
        budget.left = None
        return budget

    @property
    def exhausted(self) -> bool:
        return self.left is not None and self.left <= 0

    def spend(self, refusal: RuleViolation) -> None:
        if (
            isinstance(refusal, RegisteredElsewhere | RegisteredNationally)
            and self.left is not None
        ):
            self.left -= 1

    def paused(self) -> RuleViolation:
        return registration_paused(self.registrar.user, self.registrar.agency)
