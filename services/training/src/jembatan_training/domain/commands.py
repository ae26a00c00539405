"""What training is asked to do, one command per item; every handler takes a list of them.
(Opening a cohort is `cohorts.CreateCohort`; enrolment and withdrawal are the events
`CandidateRegistered` and `CandidateWithdrawn` themselves.)"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from jembatan_kit.csv_files import RowError

from .certificates import RecordResult
from .daily_scores import DailyScore


@dataclass(frozen=True)
class RecordCandidateResult:
    candidate_id: uuid.UUID
    result: RecordResult


@dataclass(frozen=True)
class ChangeSector:
    """Penjurusan: steer the candidate to another sector, with the reason."""

    candidate_id: uuid.UUID
    sector: str
    reason: str


@dataclass(frozen=True)
class AssignMember:
    cohort_id: uuid.UUID
    candidate_id: uuid.UUID
    move: bool = False


@dataclass(frozen=True)
class LeaveCohort:
    cohort_id: uuid.UUID
    candidate_id: uuid.UUID


@dataclass(frozen=True)
class RecordDailyScore:
    candidate_id: uuid.UUID
    score: DailyScore


@dataclass(frozen=True)
class ResultsFileLine:
    number: int
    """The line in the file (the header is line 1)."""
    candidate_id: str | None
    """As written in the file, so a refusal names the line's candidate even when unreadable."""
    command: RecordCandidateResult | RowError
    """The line's result, or why the line cannot be read."""


@dataclass(frozen=True)
class ImportResults:
    """A test centre's results file: each readable line is recorded or refused on its own, and
    the same file (by content) is imported once."""

    sha256: str
    lines: list[ResultsFileLine]
