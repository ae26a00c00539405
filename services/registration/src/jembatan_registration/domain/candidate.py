"""The candidate: registered by an agency, corrected, withdrawn. The aggregate owns the rules of
each change and records the event it causes in `events`. Pure: no I/O, time is passed in; the
personal data is held in the clear here and protected by the repository that stores it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from jembatan_contracts import (
    CandidateDataCorrected,
    CandidateIdentityCleared,
    CandidateRegistered,
    CandidateWithdrawn,
    DuplicateRegistrationFound,
    Event,
    IdentityCheck,
    Track,
    WithdrawalReason,
)
from jembatan_kit.errors import Conflict, RuleViolation

from .duplicates import ActiveRegistrations
from .model import (
    CandidateStatus,
    Decision,
    NationalCheck,
    RegisterCandidate,
    Sex,
    decide,
    new_candidate_ids,
    refused,
)

CORRECTABLE = (
    "nik",
    "full_name",
    "phone",
    "birth_date",
    "sex",
    "education",
    "preferred_sector",
    "region_code",
)


@dataclass(frozen=True)
class Withdrawal:
    reason: WithdrawalReason
    note: str | None
    withdrawn_at: datetime


@dataclass(eq=False)
class Candidate:
    id: uuid.UUID
    journey_id: uuid.UUID
    agency: str
    nik: str
    full_name: str
    phone: str | None
    birth_date: date
    sex: Sex
    education: str
    track: Track
    preferred_sector: str
    status: CandidateStatus
    rule_set: str | None
    warnings: list[str]
    registered_at: datetime
    selection_date: date
    """The date eligibility was judged on: the selection date the registration named (within
    the selection window) or the registration date. Corrections are judged on it again."""
    withdrawal: Withdrawal | None = None
    national_check: NationalCheck = NationalCheck.CLEARED
    index_due: bool = False
    """The national identity index has still to hear of this candidate: its claim (registered or
    corrected while the index could not be asked, or sent again to rebuild the index), or its
    release (withdrawn). Sent in order of registration by `handlers.inform_index`."""
    events: list[Event] = field(default_factory=list)

    @property
    def province_code(self) -> str:
        return self.nik[:2]

    @classmethod
    def register(
        cls, command: RegisterCandidate, now: datetime, active: ActiveRegistrations
    ) -> tuple[Candidate, Decision]:
        """A new active candidate, decided by the rules in force: refused naming every rule
        broken, or, if the NIK has an active registration, refused as a second one."""
        decision = decide(command, now.date())
        if not decision.accepted:
            raise refused("registration_refused", decision, with_warnings=True)
        active.refuse_if_held(command.nik, command.agency)
        candidate_id, journey_id = new_candidate_ids()
        candidate = cls(
            id=candidate_id,
            journey_id=journey_id,
            agency=command.agency,
            nik=command.nik,
            full_name=command.full_name.strip(),
            phone=command.phone or None,
            birth_date=command.birth_date,
            sex=command.sex,
            education=command.education,
            track=command.track,
            preferred_sector=command.preferred_sector,
            status=CandidateStatus.ACTIVE,
            rule_set=decision.rule_set,
            warnings=decision.warnings,
            registered_at=now,
            selection_date=command.selection_date or now.date(),
        )
        active.hold(candidate.nik, candidate.id, candidate.agency)
        candidate.events.append(
            CandidateRegistered(
                agency=candidate.agency,
                journey_id=journey_id,
                candidate_id=candidate_id,
                track=candidate.track,
                preferred_sector=candidate.preferred_sector,
                education=candidate.education,
                province_code=candidate.province_code,
                registered_on=now.date(),
                rule_set=decision.rule_set,
                rules_checked=[check.rule for check in decision.checks],
            )
        )
        return candidate, decision

    def withdraw(self, reason: WithdrawalReason, note: str | None, now: datetime) -> None:
        if self.status is not CandidateStatus.ACTIVE:
            raise Conflict("already_withdrawn", f"candidate {self.id} is already withdrawn")
        self.status = CandidateStatus.WITHDRAWN
        self.withdrawal = Withdrawal(reason, note, now)
        self.index_due = True  # the index releases the person
        self.events.append(
            CandidateWithdrawn(
                agency=self.agency,
                journey_id=self.journey_id,
                candidate_id=self.id,
                reason=reason,
                withdrawn_on=now.date(),
            )
        )

    def correct(
        self, changes: dict[str, Any], now: datetime, active: ActiveRegistrations
    ) -> Decision:
        """Correct personal data. The corrected record must still pass every registration rule,
        judged on the date the registration was judged on, and a corrected NIK must be free."""
        if self.status is not CandidateStatus.ACTIVE:
            raise Conflict("withdrawn", f"candidate {self.id} is withdrawn; register anew")
        unknown = set(changes) - set(CORRECTABLE)
        if unknown:
            raise RuleViolation("not_correctable", f"cannot correct {', '.join(sorted(unknown))}")
        current = self._as_registration()
        corrected = replace(current, **changes)
        changed = sorted(
            name for name in changes if getattr(corrected, name) != getattr(current, name)
        )
        if not changed:
            raise RuleViolation("nothing_to_correct", "the correction changes nothing")
        decision = decide(corrected, now.date(), judged_on=self.selection_date)
        if not decision.accepted:
            raise refused("correction_refused", decision)
        if "nik" in changed:
            active.refuse_if_held(corrected.nik, self.agency, unless_by=self.id)
            active.release(self.nik)
            active.hold(corrected.nik, self.id, self.agency)
            self.nik = corrected.nik
        self.full_name = corrected.full_name.strip()
        self.phone = corrected.phone or None
        self.birth_date = corrected.birth_date
        self.sex = Sex(corrected.sex)
        self.education = corrected.education
        self.preferred_sector = corrected.preferred_sector
        self.warnings = decision.warnings
        self.events.append(
            CandidateDataCorrected(
                agency=self.agency,
                journey_id=self.journey_id,
                candidate_id=self.id,
                corrected_fields=changed,
                education=self.education if "education" in changed else None,
                preferred_sector=self.preferred_sector if "preferred_sector" in changed else None,
                province_code=self.province_code if "nik" in changed else None,
            )
        )
        return decision

    def await_national_check(self) -> None:
        """Registered, or its NIK corrected, while the national identity index could not be
        asked (the link to the hub down): provisional until the index has heard of it. A
        registration's announcement says so, so training holds its readiness."""
        self.national_check = NationalCheck.PROVISIONAL
        self.index_due = True
        self.events = [
            event.model_copy(update={"identity_check": IdentityCheck.PROVISIONAL})
            if isinstance(event, CandidateRegistered)
            else event
            for event in self.events
        ]

    def stand(self, check: NationalCheck, reason: str, now: datetime) -> bool:
        """Take the standing the national identity index gives the candidate; whether it changed.
        A change is announced: a duplicate found (the later registration suspended, the earlier
        held), or the candidate cleared. A withdrawn candidate takes none."""
        if self.status is not CandidateStatus.ACTIVE or check is self.national_check:
            return False
        if check is NationalCheck.PROVISIONAL:
            return False  # only this service decides a candidate is provisional
        self.national_check = check
        if check is NationalCheck.CLEARED:
            self.events.append(
                CandidateIdentityCleared(
                    agency=self.agency,
                    journey_id=self.journey_id,
                    candidate_id=self.id,
                    cleared_on=now.date(),
                )
            )
        else:
            self.events.append(
                DuplicateRegistrationFound(
                    agency=self.agency,
                    journey_id=self.journey_id,
                    candidate_id=self.id,
                    suspended=check is NationalCheck.SUSPENDED,
                    reason=reason[:400],
                    found_on=now.date(),
                )
            )
        return True

    def _as_registration(self) -> RegisterCandidate:
        """The candidate as the registration it is now, judged on the date it was judged on."""
        return RegisterCandidate(
            agency=self.agency,
            nik=self.nik,
            full_name=self.full_name,
            birth_date=self.birth_date,
            sex=self.sex,
            education=self.education,
            track=self.track,
            preferred_sector=self.preferred_sector,
            phone=self.phone,
            region_code=None,
            selection_date=self.selection_date,
        )
