"""Fakes for the handlers' unit tests: a repository in memory and a clock that stands still, so
every handler runs without a database or NATS."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from jembatan_contracts import Event
from jembatan_training.adapters.repository import ResultsImport
from jembatan_training.domain.cohorts import Cohort
from jembatan_training.domain.enrolment import Enrolment

NOW = datetime(2026, 6, 1, 9, 30, tzinfo=UTC)


class FixedClock:
    def __init__(self, now: datetime = NOW) -> None:
        self.moment = now

    def now(self) -> datetime:
        return self.moment

    def today(self) -> date:
        return self.moment.date()


class FakeRepository:
    """`adapters.repository.Repository` in memory. What is saved is kept: `enrolments`,
    `cohorts`, `imports`; the events staged, in order, in `outbox`. Aggregates are handed out
    whole (every part loaded); what was added but not saved is not kept."""

    def __init__(self) -> None:
        self.enrolments: dict[uuid.UUID, Enrolment] = {}
        self.cohorts: dict[uuid.UUID, Cohort] = {}
        self.imports: dict[str, ResultsImport] = {}
        self.outbox: list[Event] = []
        self.saves = 0
        self._added: list[Enrolment | Cohort] = []

    async def get_many(
        self,
        candidate_ids: Collection[uuid.UUID],
        *,
        results: bool = False,
        seats: bool = False,
        scored_days: bool = False,
    ) -> dict[uuid.UUID, Enrolment]:
        return {c: self.enrolments[c] for c in candidate_ids if c in self.enrolments}

    async def get_cohorts(self, cohort_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, Cohort]:
        return {c: self.cohorts[c] for c in cohort_ids if c in self.cohorts}

    def add(self, aggregate: Enrolment | Cohort) -> None:
        self._added.append(aggregate)

    async def save(self) -> None:
        for aggregate in self._added:
            if isinstance(aggregate, Enrolment):
                self.enrolments[aggregate.candidate_id] = aggregate
            else:
                self.cohorts[aggregate.cohort_id] = aggregate
        self._added = []
        for enrolment in self.enrolments.values():
            self.outbox.extend(enrolment.events)
            enrolment.saved()
        for cohort in self.cohorts.values():
            cohort.saved()
        self.saves += 1

    async def claim_import(
        self, import_id: uuid.UUID, sha256: str, received_at: datetime
    ) -> ResultsImport | None:
        if sha256 in self.imports:
            return replace(self.imports[sha256], replayed=True)
        self.imports[sha256] = ResultsImport(import_id, 0, 0, [], replayed=False)
        return None

    async def finish_import(self, outcome: ResultsImport) -> None:
        [sha256] = [s for s, i in self.imports.items() if i.import_id == outcome.import_id]
        self.imports[sha256] = outcome


@pytest.fixture
def repo() -> FakeRepository:
    return FakeRepository()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def new_repo() -> Callable[[], FakeRepository]:
    """For a test that compares runs on repositories of its own."""
    return FakeRepository
