"""Bulk import of test results from a CSV file, as a test centre delivers it.

Each row goes through the single-result use case, so the same rules apply and the same events are
staged (CertificatePassed per pass, CandidateReadyForPlacement once). A bad row never blocks the
good ones. The same file imported twice records nothing twice: the second import returns the
first import's outcome.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from jembatan_contracts import TestKind
from jembatan_kit.csv_files import RowError, read_rows
from jembatan_kit.errors import RuleViolation

from ..adapters.orm import result_imports
from ..domain.certificates import RecordResult
from .handlers import record_result

REQUIRED_COLUMNS = ("candidate_id", "test", "issuer", "taken_on")
OPTIONAL_COLUMNS = ("level", "score", "sector", "passed")
TRUE = frozenset({"true", "yes", "y", "1", "pass", "passed", "lulus"})
FALSE = frozenset({"false", "no", "n", "0", "fail", "failed", "tidak lulus"})

RULE_COLUMNS = {
    "issuer_present": "issuer",
    "taken_on_not_in_future": "taken_on",
    "jlpt_level": "level",
    "jft_basic_score": "score",
    "ssw_skill_sector": "sector",
    "passed_flag": "passed",
    "candidate_not_enrolled": "candidate_id",
    "candidate_withdrawn": "candidate_id",
}
"""Which column to fix when a rule refuses a row."""


def row_to_command(row: dict[str, str]) -> tuple[uuid.UUID, RecordResult]:
    for column in REQUIRED_COLUMNS:
        if not row.get(column):
            raise RowError(column, "is empty")
    try:
        candidate_id = uuid.UUID(row["candidate_id"])
    except ValueError:
        raise RowError("candidate_id", f"{row['candidate_id']!r} is not a candidate id") from None
    test_name = row["test"].upper().replace("-", "_").replace(" ", "_")
    try:
        test = TestKind(test_name)
    except ValueError:
        raise RowError(
            "test", f"{row['test']!r} must be one of {', '.join(kind.value for kind in TestKind)}"
        ) from None
    try:
        taken_on = date.fromisoformat(row["taken_on"])
    except ValueError:
        raise RowError("taken_on", f"{row['taken_on']!r} is not a date as YYYY-MM-DD") from None
    return candidate_id, RecordResult(
        test=test,
        issuer=row["issuer"],
        taken_on=taken_on,
        level=row.get("level", "").upper() or None,
        score=_score(row.get("score", "")),
        sector=row.get("sector") or None,
        passed=_passed(row.get("passed", "")),
    )


def _score(value: str) -> int | None:
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise RowError("score", f"{value!r} is not a whole number") from None


def _passed(value: str) -> bool | None:
    if not value:
        return None
    if value.lower() in TRUE:
        return True
    if value.lower() in FALSE:
        return False
    raise RowError("passed", f"{value!r} must be true or false")


async def import_results(session: AsyncSession, content: bytes, now: datetime) -> dict[str, Any]:
    rows = read_rows(content, REQUIRED_COLUMNS, OPTIONAL_COLUMNS)
    digest = hashlib.sha256(content).hexdigest()
    import_id = uuid.uuid4()
    # Claim the file first: a second import of it, even a concurrent one, finds the claim.
    try:
        async with session.begin_nested():
            await session.execute(
                insert(result_imports).values(
                    id=import_id, sha256=digest, received_at=now, accepted=0, refused=0, rows=[]
                )
            )
    except IntegrityError:
        earlier = (
            await session.execute(select(result_imports).where(result_imports.c.sha256 == digest))
        ).one()
        return _summary(earlier.id, earlier.accepted, earlier.refused, earlier.rows, True)
    outcomes = [
        await _import_row(session, line, row, now) for line, row in enumerate(rows, start=2)
    ]
    accepted = sum(1 for outcome in outcomes if outcome["status"] == "accepted")
    refused = len(outcomes) - accepted
    await session.execute(
        update(result_imports)
        .where(result_imports.c.id == import_id)
        .values(accepted=accepted, refused=refused, rows=outcomes)
    )
    return _summary(import_id, accepted, refused, outcomes, False)


async def _import_row(
    session: AsyncSession, line: int, row: dict[str, str], now: datetime
) -> dict[str, Any]:
    outcome: dict[str, Any] = {"line": line, "candidate_id": row.get("candidate_id") or None}
    try:
        candidate_id, command = row_to_command(row)
        async with session.begin_nested():
            recorded = await record_result(session, candidate_id, command, now)
    except RowError as exc:
        error = {"rule": "bulk_row", "column": exc.column, "message": str(exc)}
        return outcome | {"status": "refused", "errors": [error]}
    except RuleViolation as exc:
        return outcome | {"status": "refused", "errors": _errors(exc)}
    return outcome | {
        "status": "accepted",
        "result_id": str(recorded.result_id),
        "passed": recorded.passed,
        "became_ready": recorded.became_ready,
    }


def _errors(exc: RuleViolation) -> list[dict[str, str | None]]:
    failed = exc.details.get("failed_rules")
    checks = failed if isinstance(failed, list) else [{"rule": exc.rule, "message": exc.message}]
    return [
        {
            "rule": check["rule"],
            "column": RULE_COLUMNS.get(check["rule"]),
            "message": check["message"],
        }
        for check in checks
    ]


def _summary(
    import_id: uuid.UUID, accepted: int, refused: int, rows: list[Any], replayed: bool
) -> dict[str, Any]:
    return {
        "import_id": str(import_id),
        "replayed": replayed,
        "accepted": accepted,
        "refused": refused,
        "rows": rows,
    }
