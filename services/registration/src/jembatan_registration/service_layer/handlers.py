"""Use cases of registration, each in one transaction with the events it stages."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from jembatan_contracts import (
    CandidateDataCorrected,
    CandidateRegistered,
    CandidateWithdrawn,
    Track,
    WithdrawalReason,
)
from jembatan_kit.audit import AuditQuery, like_escaped
from jembatan_kit.audit import entry as audit_entry
from jembatan_kit.auth import NIK_READER, Caller, require_agency, require_role
from jembatan_kit.db import dialect_insert
from jembatan_kit.errors import Conflict, NotFound, RuleViolation
from jembatan_kit.outbox import add_to_outbox
from jembatan_kit.telemetry import journey_root_span

from ..adapters.orm import ONE_ACTIVE_PER_NIK, candidates, nik_reads, withdrawals
from ..adapters.protection import IdentityProtector
from ..domain.eligibility import RuleCheck
from ..domain.model import (
    CandidateStatus,
    Decision,
    RegisterCandidate,
    Sex,
    age_in_years,
    decide,
    mask_nik,
    new_candidate_ids,
    redact_warnings,
)


@dataclass(frozen=True)
class Registered:
    candidate_id: uuid.UUID
    journey_id: uuid.UUID
    decision: Decision


async def register_candidate(
    session: AsyncSession,
    command: RegisterCandidate,
    protector: IdentityProtector,
    now: datetime,
) -> Registered:
    decision = decided(command, now)
    nik_hash = protector.lookup_hash(command.nik)
    candidate_id, journey_id = new_candidate_ids()
    # The one-active-registration index decides, so two requests for one NIK at once cannot
    # both be accepted; the refusal then names the registration already there.
    inserted = await session.execute(
        dialect_insert(session, candidates)
        .values(
            candidate_row(command, decision, protector, nik_hash, candidate_id, journey_id, now)
        )
        .on_conflict_do_nothing(index_elements=["nik_hash"], index_where=ONE_ACTIVE_PER_NIK)
    )
    if inserted.rowcount == 0:  # type: ignore[attr-defined]
        raise _already_registered(await _active_by_nik_hash(session, nik_hash), command.agency)
    with journey_root_span(journey_id, command.agency, creates=CandidateRegistered.name):
        await add_to_outbox(
            session, registered_event(command, decision, candidate_id, journey_id, now)
        )
    return Registered(candidate_id, journey_id, decision)


def decided(command: RegisterCandidate, now: datetime) -> Decision:
    """The decision on the rules in force, or the refusal naming every rule broken."""
    decision = decide(command, now.date())
    if not decision.accepted:
        raise RuleViolation(
            "registration_refused",
            decision.refusal,
            {"checks": [check_view(check) for check in decision.checks]},
        )
    return decision


def candidate_row(
    command: RegisterCandidate,
    decision: Decision,
    protector: IdentityProtector,
    nik_hash: str,
    candidate_id: uuid.UUID,
    journey_id: uuid.UUID,
    now: datetime,
) -> dict[str, Any]:
    return {
        "id": candidate_id,
        "journey_id": journey_id,
        "agency": command.agency,
        "nik_hash": nik_hash,
        "nik_encrypted": protector.encrypt(command.nik),
        "nik_masked": mask_nik(command.nik),
        "name_encrypted": protector.encrypt(command.full_name.strip()),
        "phone_encrypted": protector.encrypt(command.phone) if command.phone else None,
        "birth_date": command.birth_date,
        "sex": command.sex.value,
        "education": command.education,
        "track": command.track.value,
        "preferred_sector": command.preferred_sector,
        "province_code": command.nik[:2],
        "status": CandidateStatus.ACTIVE.value,
        "rule_set": decision.rule_set,
        "warnings": decision.warnings,
        "registered_at": now,
    }


def registered_event(
    command: RegisterCandidate,
    decision: Decision,
    candidate_id: uuid.UUID,
    journey_id: uuid.UUID,
    now: datetime,
) -> CandidateRegistered:
    return CandidateRegistered(
        agency=command.agency,
        journey_id=journey_id,
        candidate_id=candidate_id,
        track=command.track,
        preferred_sector=command.preferred_sector,
        education=command.education,
        province_code=command.nik[:2],
        registered_on=now.date(),
        rule_set=decision.rule_set,
        rules_checked=[check.rule for check in decision.checks],
    )


async def active_by_nik_hashes(session: AsyncSession, nik_hashes: list[str]) -> dict[str, Any]:
    """The active registration of each of these keyed NIK hashes that has one (id, agency)."""
    rows = await session.execute(
        select(candidates.c.nik_hash, candidates.c.id, candidates.c.agency).where(
            candidates.c.nik_hash.in_(nik_hashes),
            candidates.c.status == CandidateStatus.ACTIVE.value,
        )
    )
    return {row.nik_hash: row for row in rows}


def check_view(check: RuleCheck) -> dict[str, object]:
    return {
        "rule": check.rule,
        "passed": check.passed,
        "requirement": check.requirement,
        "finding": check.finding,
    }


async def withdraw_candidate(
    session: AsyncSession,
    candidate_id: uuid.UUID,
    reason: WithdrawalReason,
    note: str | None,
    now: datetime,
) -> None:
    row = await _candidate_row(session, candidate_id)
    if row.status != CandidateStatus.ACTIVE.value:
        raise Conflict("already_withdrawn", f"candidate {candidate_id} is already withdrawn")
    await session.execute(
        update(candidates)
        .where(candidates.c.id == candidate_id)
        .values(status=CandidateStatus.WITHDRAWN.value)
    )
    await session.execute(
        insert(withdrawals).values(
            candidate_id=candidate_id, reason=reason.value, note=note, withdrawn_at=now
        )
    )
    await add_to_outbox(
        session,
        CandidateWithdrawn(
            agency=row.agency,
            journey_id=row.journey_id,
            candidate_id=candidate_id,
            reason=reason,
            withdrawn_on=now.date(),
        ),
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


async def correct_candidate(
    session: AsyncSession,
    candidate_id: uuid.UUID,
    changes: dict[str, Any],
    protector: IdentityProtector,
    now: datetime,
) -> Decision:
    """Correct personal data. The corrected record must still pass every registration rule,
    judged on the original registration date."""
    row = await _candidate_row(session, candidate_id)
    if row.status != CandidateStatus.ACTIVE.value:
        raise Conflict("withdrawn", f"candidate {candidate_id} is withdrawn; register anew")
    unknown = set(changes) - set(CORRECTABLE)
    if unknown:
        raise RuleViolation("not_correctable", f"cannot correct {', '.join(sorted(unknown))}")
    current = RegisterCandidate(
        agency=row.agency,
        nik=protector.decrypt(row.nik_encrypted),
        full_name=protector.decrypt(row.name_encrypted),
        birth_date=row.birth_date,
        sex=Sex(row.sex),
        education=row.education,
        track=Track(row.track),
        preferred_sector=row.preferred_sector,
        phone=protector.decrypt(row.phone_encrypted) if row.phone_encrypted else None,
        region_code=None,
        selection_date=row.registered_at.date(),
    )
    corrected = replace(current, **changes)
    changed = sorted(name for name in changes if getattr(corrected, name) != getattr(current, name))
    if not changed:
        raise RuleViolation("nothing_to_correct", "the correction changes nothing")
    decision = decide(corrected, now.date())
    if not decision.accepted:
        raise RuleViolation(
            "correction_refused",
            decision.refusal,
            {"checks": [check_view(check) for check in decision.checks]},
        )
    values: dict[str, Any] = {
        "birth_date": corrected.birth_date,
        "sex": corrected.sex.value,
        "education": corrected.education,
        "preferred_sector": corrected.preferred_sector,
        "warnings": decision.warnings,
        "name_encrypted": protector.encrypt(corrected.full_name.strip()),
        "phone_encrypted": protector.encrypt(corrected.phone) if corrected.phone else None,
    }
    if "nik" in changed:
        nik_hash = protector.lookup_hash(corrected.nik)
        existing = await _active_by_nik_hash(session, nik_hash)
        if existing is not None and existing.id != candidate_id:
            raise _already_registered(existing, row.agency)
        values |= {
            "nik_hash": nik_hash,
            "nik_encrypted": protector.encrypt(corrected.nik),
            "nik_masked": mask_nik(corrected.nik),
            "province_code": corrected.nik[:2],
        }
    await session.execute(update(candidates).where(candidates.c.id == candidate_id).values(values))
    await add_to_outbox(
        session,
        CandidateDataCorrected(
            agency=row.agency,
            journey_id=row.journey_id,
            candidate_id=candidate_id,
            corrected_fields=changed,
            education=corrected.education if "education" in changed else None,
            preferred_sector=(
                corrected.preferred_sector if "preferred_sector" in changed else None
            ),
            province_code=corrected.nik[:2] if "nik" in changed else None,
        ),
    )
    return decision


async def _candidate_row(session: AsyncSession, candidate_id: uuid.UUID) -> Any:
    row = (await session.execute(select(candidates).where(candidates.c.id == candidate_id))).first()
    if row is None:
        raise NotFound("candidate", candidate_id)
    return row


async def get_candidate(
    session: AsyncSession,
    candidate_id: uuid.UUID,
    protector: IdentityProtector,
    caller: Caller,
    now: datetime,
) -> dict[str, Any]:
    row = (await session.execute(select(candidates).where(candidates.c.id == candidate_id))).first()
    if row is None:
        raise NotFound("candidate", candidate_id)
    [view] = await _views(session, [row], protector, caller, now, "the candidate view")
    return view


async def list_candidates(
    session: AsyncSession,
    protector: IdentityProtector,
    caller: Caller,
    now: datetime,
    agency: str | None,
    limit: int,
    offset: int,
) -> list[dict[str, Any]]:
    query = select(candidates).order_by(candidates.c.registered_at, candidates.c.id)
    if agency:
        query = query.where(candidates.c.agency == agency)
    rows = (await session.execute(query.limit(limit).offset(offset))).all()
    return await _views(session, rows, protector, caller, now, "the candidate list")


def reader_of(caller: Caller) -> str:
    """How the NIK read log names a caller."""
    return f"{caller.user} ({caller.agency})"


async def read_full_nik(
    session: AsyncSession,
    candidate_id: uuid.UUID,
    caller: Caller,
    reason: str,
    protector: IdentityProtector,
    now: datetime,
) -> str:
    """The one way to see a whole NIK: a caller with the nik-reader role, of the candidate's
    agency or the ministry, saying why. Who read it and why is recorded in the same transaction."""
    require_role(caller, NIK_READER)
    if not reason.strip():
        raise RuleViolation("nik_read_needs_reason", "say why the full NIK is needed")
    row = (
        await session.execute(
            select(candidates.c.nik_encrypted, candidates.c.agency).where(
                candidates.c.id == candidate_id
            )
        )
    ).first()
    if row is None:
        raise NotFound("candidate", candidate_id)
    require_agency(caller, row.agency, f"candidate {candidate_id}")
    await session.execute(
        insert(nik_reads).values(
            id=uuid.uuid4(),
            candidate_id=candidate_id,
            reader=reader_of(caller),
            reason=reason,
            read_at=now,
        )
    )
    return protector.decrypt(row.nik_encrypted)


async def nik_reads_of(session: AsyncSession, candidate_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = (
        await session.execute(
            select(nik_reads.c.reader, nik_reads.c.reason, nik_reads.c.read_at)
            .where(nik_reads.c.candidate_id == candidate_id)
            .order_by(nik_reads.c.read_at)
        )
    ).all()
    return [dict(row._mapping) for row in rows]


async def nik_reads_audited(session: AsyncSession, query: AuditQuery) -> list[dict[str, Any]]:
    """The NIK read log as entries of the audit trail (`GET /audit`): who was shown a NIK, a
    birth date or sex, or learnt by a refusal that a NIK is registered here, and why. The log
    keeps its own table, as it always did: the refusals it counts (`refusals_elsewhere_left`)
    and `GET /candidates/{id}/nik-reads` read it, and GET requests that reveal are not in the
    audit table (only state-changing requests are)."""
    statement = (
        select(nik_reads).order_by(nik_reads.c.read_at.desc(), nik_reads.c.id).limit(query.wanted)
    )
    if query.since is not None:
        statement = statement.where(nik_reads.c.read_at >= query.since)
    if query.until is not None:
        statement = statement.where(nik_reads.c.read_at < query.until)
    # The log names a reader as "user (agency)" (`reader_of`).
    if query.user is not None:
        pattern = like_escaped(query.user) + " (%)"
        statement = statement.where(nik_reads.c.reader.like(pattern, escape="\\"))
    if query.agency is not None:
        pattern = "% (" + like_escaped(query.agency) + ")"
        statement = statement.where(nik_reads.c.reader.like(pattern, escape="\\"))
    if query.record is not None:
        try:
            statement = statement.where(nik_reads.c.candidate_id == uuid.UUID(query.record))
        except ValueError:
            return []  # not a candidate id: no NIK read names it
    entries = []
    for row in (await session.execute(statement)).all():
        user, _, agency = row.reader.rpartition(" (")
        entries.append(
            audit_entry(
                kind="nik_read",
                at=row.read_at,
                user=user,
                agency=agency.removesuffix(")"),
                records={"candidate_id": str(row.candidate_id)},
                detail=row.reason,
            )
        )
    return entries


async def _active_by_nik_hash(session: AsyncSession, nik_hash: str) -> Any:
    return (
        await session.execute(
            select(candidates.c.id, candidates.c.agency).where(
                candidates.c.nik_hash == nik_hash,
                candidates.c.status == CandidateStatus.ACTIVE.value,
            )
        )
    ).first()


DUPLICATE_REFUSALS_PER_DAY = 10
"""How many registrations of NIKs registered with another agency one user may have refused in 24
hours before every registration by that user is paused for the rest of those 24 hours."""

REFUSED_ELSEWHERE = "refused a registration: this NIK has an active registration here"
"""The reason the NIK read log gives when a caller of another agency learnt that this candidate's
NIK is registered, by being refused."""


class RegisteredElsewhere(Conflict):
    """A registration refused because the NIK is registered with an agency other than the
    caller's. The one-active-registration rule needs the refusal, and the clerk holding the
    person's KTP needs to hear why; but a clerk guessing NIKs without the person present could use
    it to confirm that a NIK is registered somewhere. So the refusal says one thing only, that it
    is registered with another agency (neither which agency nor which candidate); the API logs it
    in the NIK read log of the candidate it found (the agency that registered them and Kemnaker see
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


def _already_registered(existing: Any, agency: str) -> Conflict:
    """The refusal of a second active registration for `agency`. It names the registration
    already there only if it is `agency`'s own: another agency's candidates are not disclosed,
    only that one exists elsewhere (see RegisteredElsewhere)."""
    if existing.agency != agency:
        return RegisteredElsewhere(existing.id)
    return Conflict(
        "one_active_registration",
        f"this NIK already has an active registration: candidate {existing.id} "
        f"registered by agency {existing.agency}",
        existing_candidate_id=str(existing.id),
        existing_agency=existing.agency,
    )


async def record_refused_elsewhere(
    session: AsyncSession, refusal: RegisteredElsewhere, caller: Caller, now: datetime
) -> None:
    """Log, on the NIK read log of the candidate found, that `caller` learnt it is registered."""
    await session.execute(
        insert(nik_reads).values(
            id=uuid.uuid4(),
            candidate_id=refusal.existing_candidate_id,
            reader=reader_of(caller),
            reason=REFUSED_ELSEWHERE,
            read_at=now,
        )
    )


async def refusals_elsewhere_left(
    session: AsyncSession, caller: Caller, now: datetime
) -> int | None:
    """How many more refusals for NIKs registered elsewhere `caller` may have before being paused;
    None for Kemnaker, who sees every registration anyway."""
    if caller.is_national:
        return None
    refused = await session.scalar(
        select(func.count())
        .select_from(nik_reads)
        .where(
            nik_reads.c.reader == reader_of(caller),
            nik_reads.c.reason == REFUSED_ELSEWHERE,
            nik_reads.c.read_at > now - timedelta(days=1),
        )
    )
    return max(DUPLICATE_REFUSALS_PER_DAY - (refused or 0), 0)


def registration_paused(caller: Caller) -> RuleViolation:
    return RuleViolation(
        "registration_paused",
        f"{caller.user} of {caller.agency} was refused {DUPLICATE_REFUSALS_PER_DAY} "
        "registrations of NIKs registered with another agency within 24 hours, so registrations "
        f"by {caller.user} are paused until 24 hours after those refusals; each was logged for "
        "the agency holding the candidate. If the candidates are genuine, ask Kemnaker",
        status_code=429,
    )


async def require_not_paused(session: AsyncSession, caller: Caller, now: datetime) -> None:
    """Refuse every registration by a caller paused for too many refusals elsewhere: refusing
    only the NIKs registered elsewhere would keep the oracle open."""
    if await refusals_elsewhere_left(session, caller, now) == 0:
        raise registration_paused(caller)


async def _views(
    session: AsyncSession,
    rows: Sequence[Any],
    protector: IdentityProtector,
    caller: Caller,
    now: datetime,
    where: str,
) -> list[dict[str, Any]]:
    """The candidates as `caller` may see them. The birth date and the sex are digits 7-12 of
    the NIK, so only a nik-reader sees them, and each such read is logged like a NIK read; others
    see the age in years and the warnings without the birth date or sex the NIK encodes."""
    revealed = NIK_READER in caller.roles
    if revealed and rows:
        await session.execute(
            insert(nik_reads),
            [
                {
                    "id": uuid.uuid4(),
                    "candidate_id": row.id,
                    "reader": reader_of(caller),
                    "reason": f"birth date and sex shown in {where}",
                    "read_at": now,
                }
                for row in rows
            ],
        )
    return [_public_view(row, protector, revealed, now) for row in rows]


def _public_view(
    row: Any, protector: IdentityProtector, revealed: bool, now: datetime
) -> dict[str, Any]:
    return {
        "candidate_id": row.id,
        "journey_id": row.journey_id,
        "agency": row.agency,
        # Re-masked: rows stored before the mask hid the serial keep the older form.
        "nik_masked": mask_nik(row.nik_masked),
        "full_name": protector.decrypt(row.name_encrypted),
        "age_years": age_in_years(row.birth_date, now.date()),
        "birth_date": row.birth_date if revealed else None,
        "sex": row.sex if revealed else None,
        "education": row.education,
        "track": row.track,
        "preferred_sector": row.preferred_sector,
        "province_code": row.province_code,
        "status": row.status,
        "rule_set": row.rule_set,
        "warnings": row.warnings if revealed else redact_warnings(row.warnings),
        "registered_at": row.registered_at,
    }
