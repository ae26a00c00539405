"""Registration's read side: the candidate views and lists, the full NIK for those who may read
it, and the NIK read log. Reads straight from the tables; a read that shows what the NIK encodes
is written to the NIK read log in the same transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from jembatan_kit.audit import AuditQuery, like_escaped
from jembatan_kit.audit import entry as audit_entry
from jembatan_kit.auth import NIK_READER, Caller, require_agency, require_role
from jembatan_kit.errors import NotFound, RuleViolation

from ..adapters.orm import candidates, nik_reads
from ..adapters.protection import IdentityProtector
from ..adapters.repository import insert_nik_reads
from ..domain.duplicates import NikRead, reader_name
from ..domain.model import NationalCheck, age_in_years, mask_nik, redact_warnings


def reader_of(caller: Caller) -> str:
    """How the NIK read log names a caller."""
    return reader_name(caller.user, caller.agency)


async def agency_of(session: AsyncSession, candidate_id: uuid.UUID) -> str | None:
    """The agency that registered the candidate; None for an unknown candidate."""
    return await session.scalar(select(candidates.c.agency).where(candidates.c.id == candidate_id))


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
    await insert_nik_reads(session, [NikRead(candidate_id, reader_of(caller), reason, now)])
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
    keeps its own table, as it always did: the refusals it counts (the refusal budget of
    `domain.duplicates`) and `GET /candidates/{id}/nik-reads` read it, and GET requests that
    reveal are not in the audit table (only state-changing requests are)."""
    statement = (
        select(nik_reads).order_by(nik_reads.c.read_at.desc(), nik_reads.c.id).limit(query.wanted)
    )
    if query.since is not None:
        statement = statement.where(nik_reads.c.read_at >= query.since)
    if query.until is not None:
        statement = statement.where(nik_reads.c.read_at < query.until)
    # The log names a reader as "user (agency)" (`reader_name`).
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
        reason = f"birth date and sex shown in {where}"
        await insert_nik_reads(
            session, [NikRead(row.id, reader_of(caller), reason, now) for row in rows]
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
        "national_check": row.national_check,
        "national_check_explained": NationalCheck(row.national_check).explained,
        "rule_set": row.rule_set,
        "warnings": row.warnings if revealed else redact_warnings(row.warnings),
        "registered_at": row.registered_at,
        "selection_date": row.selection_date or row.registered_at.date(),
    }
