"""Bulk registration from a CSV file, as a labour office exports it from its spreadsheet.

Every row is accepted or refused with its reasons; a bad row never blocks the good ones. The same
file uploaded twice by the same agency registers nobody twice: the second upload returns the first
upload's results.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import date, datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from jembatan_contracts import CandidateRegistered, Track
from jembatan_contracts.limits import CODE_MAX_LENGTH, LEVEL_MAX_LENGTH
from jembatan_kit.auth import Caller
from jembatan_kit.csv_files import RowError, read_rows
from jembatan_kit.errors import RuleViolation
from jembatan_kit.outbox import insert_outbox_rows, outbox_rows
from jembatan_kit.telemetry import journey_root_span

from ..adapters.orm import bulk_uploads, candidates
from ..adapters.protection import IdentityProtector
from ..domain.model import RegisterCandidate, Sex, mask_nik, new_candidate_ids
from .handlers import (
    RegisteredElsewhere,
    _already_registered,
    active_by_nik_hashes,
    candidate_row,
    decided,
    record_refused_elsewhere,
    refusals_elsewhere_left,
    register_candidate,
    registered_event,
    registration_paused,
)

REQUIRED_COLUMNS = (
    "nik",
    "full_name",
    "birth_date",
    "sex",
    "education",
    "track",
    "preferred_sector",
)
OPTIONAL_COLUMNS = ("phone", "region_code", "selection_date")


def _date(row: dict[str, str], column: str, required: bool = True) -> date | None:
    value = row.get(column, "")
    if not value and not required:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise RowError(column, f"{value!r} is not a date as YYYY-MM-DD") from None


def row_to_command(agency: str, row: dict[str, str]) -> RegisterCandidate:
    for column in REQUIRED_COLUMNS:
        if not row.get(column):
            raise RowError(column, "is empty")
    for column, limit in (("education", LEVEL_MAX_LENGTH), ("preferred_sector", CODE_MAX_LENGTH)):
        if len(row[column]) > limit:
            raise RowError(column, f"is longer than {limit} characters")
    try:
        sex = Sex(row["sex"].upper())
    except ValueError:
        raise RowError("sex", f"{row['sex']!r} must be M or F") from None
    try:
        track = Track(row["track"].upper())
    except ValueError:
        raise RowError("track", f"{row['track']!r} must be TITP or SSW") from None
    birth_date = _date(row, "birth_date")
    assert birth_date is not None
    return RegisterCandidate(
        agency=agency,
        nik=row["nik"],
        full_name=row["full_name"],
        birth_date=birth_date,
        sex=sex,
        education=row["education"].upper(),
        track=track,
        preferred_sector=row["preferred_sector"].lower(),
        phone=row.get("phone") or None,
        region_code=row.get("region_code") or None,
        selection_date=_date(row, "selection_date", required=False),
    )


async def bulk_register(
    session: AsyncSession,
    agency: str,
    content: bytes,
    protector: IdentityProtector,
    caller: Caller,
    now: datetime,
) -> dict[str, Any]:
    """Register the file's rows. A NIK registered with another agency refuses its row as a single
    registration would, logged the same way; once the caller reaches the day's limit of such
    refusals, every row after is refused as paused (see handlers.RegisteredElsewhere), so a file
    of guessed NIKs cannot be used to learn which are registered."""
    digest = hashlib.sha256(content).hexdigest()
    earlier = (
        await session.execute(
            select(bulk_uploads).where(
                bulk_uploads.c.agency == agency, bulk_uploads.c.sha256 == digest
            )
        )
    ).first()
    if earlier is not None:
        return _summary(earlier.id, earlier.accepted, earlier.refused, earlier.results, True)
    rows = read_rows(content, REQUIRED_COLUMNS, OPTIONAL_COLUMNS)
    left = await refusals_elsewhere_left(session, caller, now)
    if left == 0:
        raise registration_paused(caller)
    try:
        async with session.begin_nested():
            budget = RefusalBudget(caller, left)
            results = await _register_together(session, agency, rows, protector, budget, now)
            await budget.record(session, now)
    except IntegrityError:
        # Another request registered one of these NIKs meanwhile: row by row, each row sees it.
        budget = RefusalBudget(caller, left)
        results = await _register_one_by_one(session, agency, rows, protector, budget, now)
        await budget.record(session, now)
    accepted = sum(1 for result in results if result["status"] == "accepted")
    upload_id = uuid.uuid4()
    await session.execute(
        insert(bulk_uploads).values(
            id=upload_id,
            agency=agency,
            sha256=digest,
            received_at=now,
            accepted=accepted,
            refused=len(results) - accepted,
            results=results,
        )
    )
    return _summary(upload_id, accepted, len(results) - accepted, results, False)


async def _register_together(
    session: AsyncSession,
    agency: str,
    rows: list[dict[str, str]],
    protector: IdentityProtector,
    budget: RefusalBudget,
    now: datetime,
) -> list[dict[str, Any]]:
    """The rows of `register_candidate`, judged in file order by the same rules, with the
    active registrations of the file's NIKs read in one query and the new candidates and their
    events written together. Raises IntegrityError if another request registered one of the
    NIKs meanwhile."""
    commands: list[RegisterCandidate | RowError] = []
    for row in rows:
        try:
            commands.append(row_to_command(agency, row))
        except RowError as exc:
            commands.append(exc)
    hashes = {
        id(command): protector.lookup_hash(command.nik)
        for command in commands
        if isinstance(command, RegisterCandidate)
    }
    active = await active_by_nik_hashes(session, list(set(hashes.values())))
    results: list[dict[str, Any]] = []
    candidate_rows: list[dict[str, Any]] = []
    staged: list[dict[str, Any]] = []
    for line, (row, command) in enumerate(zip(rows, commands, strict=True), start=2):
        masked = mask_nik(row["nik"]) if len(row.get("nik", "")) == 16 else None
        outcome: dict[str, Any] = {"line": line, "nik_masked": masked}
        if budget.exhausted:
            results.append(outcome | budget.paused_row())
            continue
        try:
            if isinstance(command, RowError):
                raise command
            decision = decided(command, now)
            nik_hash = hashes[id(command)]
            if nik_hash in active:
                raise _already_registered(active[nik_hash], agency)
        except RowError as exc:
            outcome |= {"status": "refused", "errors": [{"rule": "bulk_row", "message": str(exc)}]}
            results.append(outcome)
            continue
        except RuleViolation as exc:
            budget.spend(exc)
            outcome |= {"status": "refused", "errors": _errors(exc)}
            results.append(outcome)
            continue
        candidate_id, journey_id = new_candidate_ids()
        active[nik_hash] = SimpleNamespace(id=candidate_id, agency=command.agency)
        candidate_rows.append(
            candidate_row(command, decision, protector, nik_hash, candidate_id, journey_id, now)
        )
        with journey_root_span(journey_id, command.agency, creates=CandidateRegistered.name):
            staged += outbox_rows(
                registered_event(command, decision, candidate_id, journey_id, now)
            )
        results.append(
            outcome
            | {
                "status": "accepted",
                "candidate_id": str(candidate_id),
                "journey_id": str(journey_id),
                "warnings": decision.warnings,
            }
        )
    if candidate_rows:
        await session.execute(insert(candidates), candidate_rows)
        await insert_outbox_rows(session, staged)
    return results


async def _register_one_by_one(
    session: AsyncSession,
    agency: str,
    rows: list[dict[str, str]],
    protector: IdentityProtector,
    budget: RefusalBudget,
    now: datetime,
) -> list[dict[str, Any]]:
    results = []
    for line, row in enumerate(rows, start=2):
        masked = mask_nik(row["nik"]) if len(row.get("nik", "")) == 16 else None
        outcome: dict[str, Any] = {"line": line, "nik_masked": masked}
        if budget.exhausted:
            results.append(outcome | budget.paused_row())
            continue
        try:
            command = row_to_command(agency, row)
            async with session.begin_nested():
                registered = await register_candidate(session, command, protector, now)
        except RowError as exc:
            outcome |= {"status": "refused", "errors": [{"rule": "bulk_row", "message": str(exc)}]}
        except RuleViolation as exc:
            budget.spend(exc)
            outcome |= {"status": "refused", "errors": _errors(exc)}
        else:
            outcome |= {
                "status": "accepted",
                "candidate_id": str(registered.candidate_id),
                "journey_id": str(registered.journey_id),
                "warnings": registered.decision.warnings,
            }
        results.append(outcome)
    return results


class RefusalBudget:
    """The refusals for NIKs registered elsewhere a caller may still have in this upload, and
    those had, to be logged once the rows are judged."""

    def __init__(self, caller: Caller, left: int | None) -> None:
        self.caller = caller
        self.left = left
        self.refused: list[RegisteredElsewhere] = []

    @property
    def exhausted(self) -> bool:
        return self.left is not None and self.left <= 0

    def spend(self, refusal: RuleViolation) -> None:
        if isinstance(refusal, RegisteredElsewhere):
            self.refused.append(refusal)
            if self.left is not None:
                self.left -= 1

    def paused_row(self) -> dict[str, Any]:
        paused = registration_paused(self.caller)
        return {"status": "refused", "errors": [{"rule": paused.rule, "message": paused.message}]}

    async def record(self, session: AsyncSession, now: datetime) -> None:
        for refusal in self.refused:
            await record_refused_elsewhere(session, refusal, self.caller, now)


def _errors(exc: RuleViolation) -> list[dict[str, str]]:
    checks = exc.details.get("checks")
    if isinstance(checks, list):
        return [
            {"rule": check["rule"], "message": f"{check['requirement']}; {check['finding']}"}
            for check in checks
            if not check["passed"]
        ]
    return [{"rule": exc.rule, "message": exc.message}]


def _summary(
    upload_id: uuid.UUID, accepted: int, refused: int, results: list[Any], replayed: bool
) -> dict[str, Any]:
    return {
        "upload_id": str(upload_id),
        "replayed": replayed,
        "accepted": accepted,
        "refused": refused,
        # Re-masked: results stored before the mask hid the serial keep the older form.
        "rows": [
            row | {"nik_masked": mask_nik(row["nik_masked"])} if row.get("nik_masked") else row
            for row in results
        ],
    }
