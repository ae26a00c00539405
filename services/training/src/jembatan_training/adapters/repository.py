"""Training's aggregates in the database: loaded in sets, saved in sets, with their events.

`get_many` loads the enrolments of a list of candidates, and only the parts the use case asks
for, in one query per part, whatever the list's length; `get_cohorts` loads cohorts the same
way. Both lock the rows they load for the transaction (in one order, so two transactions locking
overlapping sets wait for each other instead of deadlocking): changes to one candidate, and the
seats of one cohort, happen one transaction after another, so what an aggregate was loaded with
is still true when it is saved. On SQLite the transaction itself is the lock (`BEGIN
IMMEDIATE`). `save` writes every change of the aggregates loaded or added since, a statement per
kind of change, and stages their recorded events in the outbox in the same transaction.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from jembatan_contracts import TestKind, Track
from jembatan_contracts.ids import new_id
from jembatan_kit.outbox import add_to_outbox

from ..domain.certificates import ExamResult
from ..domain.cohorts import Cohort, Mode
from ..domain.enrolment import Enrolment, RecordedResult, Seat
from .orm import (
    cohort_members,
    cohort_stages,
    cohorts,
    daily_scores,
    enrolments,
    result_imports,
    results,
    sector_changes,
)


@dataclass(frozen=True)
class ResultsImport:
    """A results file imported: its outcome per line, kept to answer the same file again."""

    import_id: uuid.UUID
    accepted: int
    refused: int
    rows: list[dict[str, Any]]
    replayed: bool
    """True when this is the outcome of an earlier import of the same file."""


class Repository(Protocol):
    async def get_many(
        self,
        candidate_ids: Collection[uuid.UUID],
        *,
        results: bool = False,
        seats: bool = False,
        scored_days: bool = False,
    ) -> dict[uuid.UUID, Enrolment]:
        """The enrolments of those of `candidate_ids` who are enrolled, with the parts asked
        for: their results, their cohort seat, the days they were scored."""
        ...

    async def get_cohorts(self, cohort_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, Cohort]: ...

    def add(self, aggregate: Enrolment | Cohort) -> None: ...

    async def save(self) -> None:
        """Write the changes of every aggregate loaded or added, and stage their events."""
        ...

    async def claim_import(
        self, import_id: uuid.UUID, sha256: str, received_at: datetime
    ) -> ResultsImport | None:
        """Claim the file with this content for import `import_id`; if it was imported before
        (or is being imported right now), the earlier import instead."""
        ...

    async def finish_import(self, outcome: ResultsImport) -> None: ...


class TrainingRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._enrolments: dict[uuid.UUID, Enrolment] = {}
        self._cohorts: dict[uuid.UUID, Cohort] = {}

    async def get_many(
        self,
        candidate_ids: Collection[uuid.UUID],
        *,
        results: bool = False,
        seats: bool = False,
        scored_days: bool = False,
    ) -> dict[uuid.UUID, Enrolment]:
        ids = list(set(candidate_ids))
        rows = (
            await self.session.execute(
                select(enrolments)
                .where(enrolments.c.candidate_id.in_(ids))
                .order_by(enrolments.c.candidate_id)
                .with_for_update()
            )
        ).all()
        found = [row.candidate_id for row in rows]
        parts: dict[str, Any] = {}
        if results:
            parts["results"] = await self._results_of(found)
        if seats:
            parts["seat"] = await self._seats_of(found)
        if scored_days:
            parts["scored_days"] = await self._scored_days_of(found)
        loaded = {
            row.candidate_id: _enrolment(
                row, {part: of[row.candidate_id] for part, of in parts.items()}
            )
            for row in rows
        }
        self._enrolments.update(loaded)
        return loaded

    async def get_cohorts(self, cohort_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, Cohort]:
        rows = await self.session.execute(
            select(cohorts)
            .where(cohorts.c.id.in_(list(set(cohort_ids))))
            .order_by(cohorts.c.id)
            .with_for_update()
        )
        loaded = {row.id: _cohort(row) for row in rows}
        self._cohorts.update(loaded)
        return loaded

    def add(self, aggregate: Enrolment | Cohort) -> None:
        if isinstance(aggregate, Enrolment):
            self._enrolments[aggregate.candidate_id] = aggregate
        else:
            self._cohorts[aggregate.cohort_id] = aggregate

    async def save(self) -> None:
        # In the order the foreign keys and the one-seat-per-candidate index need.
        changed = list(self._enrolments.values())
        opened = [cohort for cohort in self._cohorts.values() if cohort.is_new]
        await self._insert(enrolments, [_enrolment_row(e) for e in changed if e.is_new])
        await self._insert(cohorts, [_cohort_row(cohort) for cohort in opened])
        await self._insert(
            cohort_stages,
            [
                {
                    "cohort_id": cohort.cohort_id,
                    "position": position,
                    "centre": stage.centre,
                    "starts_on": stage.starts_on,
                    "ends_on": stage.ends_on,
                }
                for cohort in opened
                for position, stage in enumerate(cohort.stages, start=1)
            ],
        )
        await self._update(
            update(enrolments)
            .where(enrolments.c.candidate_id == bindparam("b_candidate_id"))
            .values(
                sector=bindparam("b_sector"),
                ready_at=bindparam("b_ready_at"),
                withdrawn_on=bindparam("b_withdrawn_on"),
                withdrawal_reason=bindparam("b_withdrawal_reason"),
                national_hold=bindparam("b_national_hold"),
                national_hold_at=bindparam("b_national_hold_at"),
            ),
            [
                {
                    "b_candidate_id": e.candidate_id,
                    "b_sector": e.sector,
                    "b_ready_at": e.ready_at,
                    "b_withdrawn_on": e.withdrawn_on,
                    "b_withdrawal_reason": e.withdrawal_reason,
                    "b_national_hold": e.national_hold,
                    "b_national_hold_at": e.national_hold_at,
                }
                for e in changed
                if e.row_changed
            ],
        )
        await self._insert(
            results, [_result_row(e.candidate_id, r) for e in changed for r in e.new_results]
        )
        await self._insert(
            sector_changes,
            [
                {
                    "id": new_id(),
                    "candidate_id": e.candidate_id,
                    "previous_sector": change.previous_sector,
                    "sector": change.sector,
                    "reason": change.reason,
                    "changed_at": change.changed_at,
                }
                for e in changed
                for change in e.sector_changes
            ],
        )
        await self._update(
            update(cohort_members)
            .where(cohort_members.c.id == bindparam("b_id"))
            .values(left_at=bindparam("b_left_at"), left_reason=bindparam("b_reason")),
            [
                {"b_id": d.membership_id, "b_left_at": d.left_at, "b_reason": d.reason}
                for e in changed
                for d in e.departures
            ],
        )
        await self._insert(
            cohort_members,
            [
                {
                    "id": seat.membership_id,
                    "cohort_id": seat.cohort_id,
                    "candidate_id": e.candidate_id,
                    "joined_at": seat.joined_at,
                }
                for e in changed
                for seat in e.arrivals
            ],
        )
        await self._update(
            update(cohorts)
            .where(cohorts.c.id == bindparam("b_id"))
            .values(members=cohorts.c.members + bindparam("b_change")),
            [
                {"b_id": cohort.cohort_id, "b_change": cohort.members_change}
                for cohort in self._cohorts.values()
                if cohort.members_change and not cohort.is_new
            ],
        )
        scores = [(e.candidate_id, written) for e in changed for written in e.scores_written]
        await self._insert(
            daily_scores,
            [
                {
                    "candidate_id": candidate_id,
                    "day": written.score.day,
                    "score": written.score.score,
                    "recorded_at": written.recorded_at,
                }
                for candidate_id, written in scores
                if not written.replaces
            ],
        )
        await self._update(
            update(daily_scores)
            .where(
                daily_scores.c.candidate_id == bindparam("b_candidate_id"),
                daily_scores.c.day == bindparam("b_day"),
            )
            .values(score=bindparam("b_score"), recorded_at=bindparam("b_recorded_at")),
            [
                {
                    "b_candidate_id": candidate_id,
                    "b_day": written.score.day,
                    "b_score": written.score.score,
                    "b_recorded_at": written.recorded_at,
                }
                for candidate_id, written in scores
                if written.replaces
            ],
        )
        events = [event for aggregate in changed for event in aggregate.events]
        if events:
            await add_to_outbox(self.session, *events)
        for enrolment in changed:
            enrolment.saved()
        for cohort in self._cohorts.values():
            cohort.saved()

    async def claim_import(
        self, import_id: uuid.UUID, sha256: str, received_at: datetime
    ) -> ResultsImport | None:
        try:
            async with self.session.begin_nested():
                await self.session.execute(
                    insert(result_imports).values(
                        id=import_id,
                        sha256=sha256,
                        received_at=received_at,
                        accepted=0,
                        refused=0,
                        rows=[],
                    )
                )
        except IntegrityError:
            earlier = (
                await self.session.execute(
                    select(result_imports).where(result_imports.c.sha256 == sha256)
                )
            ).one()
            return ResultsImport(
                earlier.id, earlier.accepted, earlier.refused, earlier.rows, replayed=True
            )
        return None

    async def finish_import(self, outcome: ResultsImport) -> None:
        await self.session.execute(
            update(result_imports)
            .where(result_imports.c.id == outcome.import_id)
            .values(accepted=outcome.accepted, refused=outcome.refused, rows=outcome.rows)
        )

    async def _insert(self, table: Any, rows: list[dict[str, Any]]) -> None:
        if rows:
            await self.session.execute(insert(table), rows)

    async def _update(self, statement: Any, rows: list[dict[str, Any]]) -> None:
        if rows:
            await self.session.execute(statement, rows)

    async def _results_of(
        self, candidate_ids: list[uuid.UUID]
    ) -> dict[uuid.UUID, list[RecordedResult]]:
        found: dict[uuid.UUID, list[RecordedResult]] = {c: [] for c in candidate_ids}
        if candidate_ids:
            rows = await self.session.execute(
                select(results).where(results.c.candidate_id.in_(candidate_ids))
            )
            for row in rows:
                found[row.candidate_id].append(
                    RecordedResult(row.id, exam_result(row), row.recorded_at)
                )
        return found

    async def _seats_of(self, candidate_ids: list[uuid.UUID]) -> dict[uuid.UUID, Seat | None]:
        found: dict[uuid.UUID, Seat | None] = dict.fromkeys(candidate_ids)
        if candidate_ids:
            rows = await self.session.execute(
                select(
                    cohort_members.c.id,
                    cohort_members.c.candidate_id,
                    cohort_members.c.cohort_id,
                    cohort_members.c.joined_at,
                    cohorts.c.name,
                    cohorts.c.training_centre,
                )
                .join(cohorts, cohorts.c.id == cohort_members.c.cohort_id)
                .where(
                    cohort_members.c.candidate_id.in_(candidate_ids),
                    cohort_members.c.left_at.is_(None),
                )
            )
            for row in rows:
                found[row.candidate_id] = Seat(
                    row.id, row.cohort_id, row.name, row.training_centre, row.joined_at
                )
        return found

    async def _scored_days_of(self, candidate_ids: list[uuid.UUID]) -> dict[uuid.UUID, set[Any]]:
        found: dict[uuid.UUID, set[Any]] = defaultdict(set)
        if candidate_ids:
            rows = await self.session.execute(
                select(daily_scores.c.candidate_id, daily_scores.c.day).where(
                    daily_scores.c.candidate_id.in_(candidate_ids)
                )
            )
            for candidate_id, day in rows:
                found[candidate_id].add(day)
        return found


def exam_result(row: Any) -> ExamResult:
    return ExamResult(
        test=TestKind(row.test),
        issuer=row.issuer,
        taken_on=row.taken_on,
        passed=row.passed,
        level=row.level,
        score=row.score,
        sector=row.sector,
    )


def _enrolment(row: Any, parts: dict[str, Any]) -> Enrolment:
    return Enrolment(
        candidate_id=row.candidate_id,
        journey_id=row.journey_id,
        agency=row.agency,
        track=Track(row.track),
        sector=row.sector,
        registered_on=row.registered_on,
        enrolled_at=row.enrolled_at,
        ready_at=row.ready_at,
        withdrawn_on=row.withdrawn_on,
        withdrawal_reason=row.withdrawal_reason,
        national_hold=row.national_hold,
        national_hold_at=row.national_hold_at,
        **parts,
    )


def _enrolment_row(enrolment: Enrolment) -> dict[str, Any]:
    """As enrolled; what changed since is written by the update that follows."""
    return {
        "candidate_id": enrolment.candidate_id,
        "journey_id": enrolment.journey_id,
        "agency": enrolment.agency,
        "track": enrolment.track.value,
        "sector": enrolment.sector,
        "registered_on": enrolment.registered_on,
        "enrolled_at": enrolment.enrolled_at,
        "national_hold": enrolment.national_hold,
        "national_hold_at": enrolment.national_hold_at,
    }


def _result_row(candidate_id: uuid.UUID, recorded: RecordedResult) -> dict[str, Any]:
    result = recorded.result
    return {
        "id": recorded.result_id,
        "candidate_id": candidate_id,
        "test": result.test.value,
        "level": result.level,
        "score": result.score,
        "sector": result.sector,
        "issuer": result.issuer,
        "taken_on": result.taken_on,
        "passed": result.passed,
        "recorded_at": recorded.recorded_at,
    }


def _cohort(row: Any) -> Cohort:
    return Cohort(
        cohort_id=row.id,
        agency=row.agency,
        training_centre=row.training_centre,
        name=row.name,
        mode=Mode(row.mode),
        capacity=row.capacity,
        members=row.members,
        sector=row.sector,
        created_at=row.created_at,
    )


def _cohort_row(cohort: Cohort) -> dict[str, Any]:
    return {
        "id": cohort.cohort_id,
        "agency": cohort.agency,
        "training_centre": cohort.training_centre,
        "name": cohort.name,
        "mode": cohort.mode.value,
        "capacity": cohort.capacity,
        "members": cohort.members,
        "sector": cohort.sector,
        "created_at": cohort.created_at,
    }
