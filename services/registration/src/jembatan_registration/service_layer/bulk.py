"""Bulk registration from a CSV file, as a labour office exports it from its spreadsheet.

Every row is accepted or refused with its reasons; a bad row never blocks the good ones. The same
file uploaded twice by the same agency registers nobody twice: the second upload returns the first
upload's results.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from jembatan_contracts import Track
from jembatan_kit.csv_files import RowError, read_rows
from jembatan_kit.errors import RuleViolation

from ..adapters.orm import bulk_uploads
from ..adapters.protection import IdentityProtector
from ..domain.model import RegisterCandidate, Sex, mask_nik
from .handlers import register_candidate

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
    now: datetime,
) -> dict[str, Any]:
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
    results = []
    for line, row in enumerate(read_rows(content, REQUIRED_COLUMNS, OPTIONAL_COLUMNS), start=2):
        masked = mask_nik(row["nik"]) if len(row.get("nik", "")) == 16 else None
        outcome: dict[str, Any] = {"line": line, "nik_masked": masked}
        try:
            command = row_to_command(agency, row)
            async with session.begin_nested():
                registered = await register_candidate(session, command, protector, now)
        except RowError as exc:
            outcome |= {"status": "refused", "errors": [{"rule": "bulk_row", "message": str(exc)}]}
        except RuleViolation as exc:
            outcome |= {"status": "refused", "errors": _errors(exc)}
        else:
            outcome |= {
                "status": "accepted",
                "candidate_id": str(registered.candidate_id),
                "journey_id": str(registered.journey_id),
                "warnings": registered.decision.warnings,
            }
        results.append(outcome)
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
        "rows": results,
    }
