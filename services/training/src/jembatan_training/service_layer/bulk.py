"""Bulk import of test results from a CSV file, as a test centre delivers it.

Each row is judged by the rules of the single-result use case and stages the same events
(CertificatePassed per pass, CandidateReadyForPlacement once). A bad row never blocks the
good ones. The same file imported twice records nothing twice: the second import returns the
first import's outcome.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import CursorResult, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from jembatan_contracts import Event, TestKind
from jembatan_kit.csv_files import RowError, read_rows
from jembatan_kit.errors import RuleViolation
from jembatan_kit.outbox import add_to_outbox

from ..adapters.orm import enrolments, result_imports, results
from ..domain.certificates import RecordResult
from .guards import ensure_active
from .handlers import (
    assess,
    certificate_passed,
    enrolments_locked,
    graded,
    ready_for_placement,
    record_result,
    result_row,
    results_of_many,
)

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
    try:
        async with session.begin_nested():
            outcomes = await _import_together(session, rows, now)
    except _ChangedMeanwhile:
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


class _ChangedMeanwhile(Exception):
    """A concurrent transaction changed what `_import_together` read; import row by row."""


async def _import_together(
    session: AsyncSession, rows: list[dict[str, str]], now: datetime
) -> list[dict[str, Any]]:
    """The rows of `record_result`, judged in file order by the same rules, with what they need
    read in two queries and written together: a file of a thousand rows takes a handful of
    statements instead of several per row.

    The candidates' enrolments are locked first, as `record_result` locks each one, so their
    results cannot change under the import; if readiness was declared meanwhile anyway, the
    conditional update notices and the file is imported row by row instead.
    """
    commands: dict[int, tuple[uuid.UUID, RecordResult] | RowError] = {}
    for line, row in enumerate(rows, start=2):
        try:
            commands[line] = row_to_command(row)
        except RowError as exc:
            commands[line] = exc
    ids = list({command[0] for command in commands.values() if isinstance(command, tuple)})
    enrolled = await enrolments_locked(session, ids)
    recorded = await results_of_many(session, ids)

    outcomes: list[dict[str, Any]] = []
    result_rows: list[dict[str, Any]] = []
    events: list[Event] = []
    became_ready: list[uuid.UUID] = []
    for line, row in enumerate(rows, start=2):
        outcome: dict[str, Any] = {"line": line, "candidate_id": row.get("candidate_id") or None}
        command = commands[line]
        if isinstance(command, RowError):
            error = {"rule": "bulk_row", "column": command.column, "message": str(command)}
            outcomes.append(outcome | {"status": "refused", "errors": [error]})
            continue
        candidate_id, result_command = command
        try:
            enrolment = ensure_active(candidate_id, enrolled.get(candidate_id))
            result = graded(candidate_id, result_command, recorded[candidate_id], now)
        except RuleViolation as exc:
            outcomes.append(outcome | {"status": "refused", "errors": _errors(exc)})
            continue
        result_id = uuid.uuid4()
        recorded[candidate_id].append(result)
        result_rows.append(result_row(result_id, candidate_id, result, now))
        if result.passed:
            events.append(certificate_passed(enrolment, result_id, result))
        readiness = assess(enrolment, recorded[candidate_id])
        ready_now = (
            readiness.ready and enrolment.ready_at is None and candidate_id not in became_ready
        )
        if ready_now:
            became_ready.append(candidate_id)
            events.append(ready_for_placement(enrolment, readiness))
        outcomes.append(
            outcome
            | {
                "status": "accepted",
                "result_id": str(result_id),
                "passed": result.passed,
                "became_ready": ready_now,
            }
        )
    if result_rows:
        await session.execute(insert(results), result_rows)
    if became_ready:
        declared = await session.execute(
            update(enrolments)
            .where(enrolments.c.candidate_id.in_(became_ready), enrolments.c.ready_at.is_(None))
            .values(ready_at=now)
        )
        if cast(CursorResult[Any], declared).rowcount != len(became_ready):
            raise _ChangedMeanwhile
    await add_to_outbox(session, *events)
    return outcomes


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
