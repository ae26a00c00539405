"""Reading the CSV files agencies upload (exports of their spreadsheets), with errors that say
what to fix: the encoding, a missing column, the size."""

from __future__ import annotations

import csv
import io
from typing import Any

from .errors import RuleViolation

MAX_ROWS = 10_000


class RowError(Exception):
    """One row cannot be read; `column` names what to fix."""

    def __init__(self, column: str, message: str) -> None:
        super().__init__(f"{column}: {message}")
        self.column = column


def read_rows(
    content: bytes,
    required: tuple[str, ...],
    optional: tuple[str, ...] = (),
    max_rows: int = MAX_ROWS,
) -> list[dict[str, str]]:
    """The file's rows as dicts with lower-case column names and stripped values. Comma,
    semicolon or tab separated; blank lines skipped; a byte-order mark tolerated."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RuleViolation("bulk_encoding", "the file must be UTF-8 text (CSV)") from exc
    try:
        dialect: Any = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    header = [name.strip().lower() for name in reader.fieldnames or []]
    missing = [column for column in required if column not in header]
    if missing:
        raise RuleViolation(
            "bulk_header",
            f"the header row lacks {', '.join(missing)}; expected columns: "
            f"{', '.join(required + optional)}",
        )
    reader.fieldnames = header
    rows = [
        {key: (value or "").strip() for key, value in row.items() if key}
        for row in reader
        if any((value or "").strip() for value in row.values() if isinstance(value, str))
    ]
    if len(rows) > max_rows:
        raise RuleViolation(
            "bulk_too_large", f"a file may hold at most {max_rows} rows; split it and send again"
        )
    return rows
