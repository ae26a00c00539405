"""The results file a test centre delivers: CSV, one test result a line, read into the commands
of `handlers.import_results`."""

from __future__ import annotations

import hashlib
import uuid
from datetime import date

from jembatan_contracts import TestKind
from jembatan_kit.csv_files import RowError, read_rows

from ..domain.certificates import RecordResult
from ..domain.commands import ImportResults, RecordCandidateResult, ResultsFileLine

REQUIRED_COLUMNS = ("candidate_id", "test", "issuer", "taken_on")
OPTIONAL_COLUMNS = ("level", "score", "sector", "passed")
TRUE = frozenset({"true", "yes", "y", "1", "pass", "passed", "lulus"})
FALSE = frozenset({"false", "no", "n", "0", "fail", "failed", "tidak lulus"})


def read_results_file(content: bytes) -> ImportResults:
    """The file's lines, each read into its command or the reason it cannot be; a file that
    cannot be read at all (encoding, header, size) is refused whole."""
    lines = []
    for number, row in enumerate(read_rows(content, REQUIRED_COLUMNS, OPTIONAL_COLUMNS), 2):
        command: RecordCandidateResult | RowError
        try:
            command = row_to_command(row)
        except RowError as unreadable:
            command = unreadable
        lines.append(ResultsFileLine(number, row.get("candidate_id") or None, command))
    return ImportResults(hashlib.sha256(content).hexdigest(), lines)


def row_to_command(row: dict[str, str]) -> RecordCandidateResult:
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
    return RecordCandidateResult(
        candidate_id,
        RecordResult(
            test=test,
            issuer=row["issuer"],
            taken_on=taken_on,
            level=row.get("level", "").upper() or None,
            score=_score(row.get("score", "")),
            sector=row.get("sector") or None,
            passed=_passed(row.get("passed", "")),
        ),
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
