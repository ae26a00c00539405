"""Registration from a CSV file, as a labour office exports it from its spreadsheet: its rows
become `RegisterCandidate` commands for `handlers.register_candidates`, the one registration path,
and each row is answered accepted or refused with its reasons; a bad row never blocks the good
ones. The same file uploaded twice by the same agency registers nobody twice: the second upload
returns the first upload's answer.
"""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any

from jembatan_contracts import Track
from jembatan_contracts.ids import new_id
from jembatan_contracts.limits import CODE_MAX_LENGTH, LEVEL_MAX_LENGTH
from jembatan_kit.clock import Clock
from jembatan_kit.csv_files import RowError, read_rows
from jembatan_kit.errors import RuleViolation

from ..adapters.national_index import NationalIndex
from ..adapters.repository import RegistrationRepository
from ..domain.duplicates import Registrar
from ..domain.model import (
    RegisterCandidate,
    Sex,
    UnreadableRegistration,
    Upload,
    mask_nik,
)
from .handlers import Refused, Registered, register_candidates

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


async def register_upload(
    agency: str,
    content: bytes,
    repo: RegistrationRepository,
    clock: Clock,
    registrar: Registrar,
    index: NationalIndex | None = None,
) -> dict[str, Any]:
    """Register the file's rows for `agency`; the answer row by row (see docs/rules.md,
    "Registration: decisions, refusals, bulk upload")."""
    digest = hashlib.sha256(content).hexdigest()
    earlier = await repo.upload_of(agency, digest)
    if earlier is not None:
        return _summary(earlier, replayed=True)
    rows = read_rows(content, REQUIRED_COLUMNS, OPTIONAL_COLUMNS)
    outcomes = await register_candidates(
        [row_to_command(agency, row) for row in rows], repo, clock, registrar, index
    )
    results = [
        row_result(line, row, outcome)
        for line, (row, outcome) in enumerate(zip(rows, outcomes, strict=True), start=2)
    ]
    accepted = sum(1 for outcome in outcomes if isinstance(outcome, Registered))
    upload = Upload(
        id=new_id(),
        agency=agency,
        sha256=digest,
        received_at=clock.now(),
        accepted=accepted,
        refused=len(results) - accepted,
        results=results,
    )
    repo.add_upload(upload)
    await repo.save()
    return _summary(upload, replayed=False)


def row_to_command(agency: str, row: dict[str, str]) -> RegisterCandidate | UnreadableRegistration:
    """The registration a row asks for, or the row refused (`bulk_row`) naming the column to fix."""
    try:
        return _command(agency, row)
    except RowError as problem:
        return UnreadableRegistration(RuleViolation("bulk_row", str(problem)))


def _command(agency: str, row: dict[str, str]) -> RegisterCandidate:
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


def _date(row: dict[str, str], column: str, required: bool = True) -> date | None:
    value = row.get(column, "")
    if not value and not required:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise RowError(column, f"{value!r} is not a date as YYYY-MM-DD") from None


def row_result(line: int, row: dict[str, str], outcome: Registered | Refused) -> dict[str, Any]:
    """A row's answer: the line, the NIK masked (if it has 16 characters), and either the ids
    and warnings of the candidate registered or the errors."""
    masked = mask_nik(row["nik"]) if len(row.get("nik", "")) == 16 else None
    result: dict[str, Any] = {"line": line, "nik_masked": masked}
    if isinstance(outcome, Refused):
        return result | {"status": "refused", "errors": errors(outcome.refusal)}
    return result | {
        "status": "accepted",
        "candidate_id": str(outcome.candidate_id),
        "journey_id": str(outcome.journey_id),
        "national_check": outcome.national_check.value,
        "warnings": outcome.decision.warnings,
    }


def errors(refusal: RuleViolation) -> list[dict[str, str]]:
    """A refusal as a row's errors: one per rule broken."""
    checks = refusal.details.get("checks")
    if isinstance(checks, list):
        return [
            {"rule": check["rule"], "message": f"{check['requirement']}; {check['finding']}"}
            for check in checks
            if not check["passed"]
        ]
    return [{"rule": refusal.rule, "message": refusal.message}]


def _summary(upload: Upload, replayed: bool) -> dict[str, Any]:
    return {
        "upload_id": str(upload.id),
        "replayed": replayed,
        "accepted": upload.accepted,
        "refused": upload.refused,
        # Re-masked: results stored before the mask hid the serial keep the older form.
        "rows": [
            row | {"nik_masked": mask_nik(row["nik_masked"])} if row.get("nik_masked") else row
            for row in upload.results
        ],
    }
