"""Use cases of training, each in one transaction with the events it stages."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from jembatan_contracts import (
    CandidateReadyForPlacement,
    CandidateRegistered,
    CandidateWithdrawn,
    CertificatePassed,
    TestKind,
    Track,
)
from jembatan_kit.clock import Clock
from jembatan_kit.consumer import RetryLater, Unprocessable
from jembatan_kit.errors import Conflict, NotFound
from jembatan_kit.outbox import add_to_outbox

from ..adapters.orm import cohort_members, enrolments, results, sector_changes
from ..domain.certificates import (
    ExamResult,
    RecordResult,
    ResultRefused,
    grade,
    normalise_sector,
)
from ..domain.penjurusan import SectorChange, change_sector, sector_history
from ..domain.readiness import Readiness, assess_readiness
from ..domain.rules import Refused
from .cohorts import WITHDRAWN, leave_current_cohort
from .guards import active_enrolment, find_enrolment, refusal


async def on_candidate_registered(
    session: AsyncSession, event: CandidateRegistered, clock: Clock
) -> None:
    """Enrol the candidate in training for their preferred sector; once per candidate.

    The root of a journey: training holds nothing earlier to check it against. What vouches for
    it is its sender: the consumer has checked that its subject is its agency's and that the
    agency is one this deployment knows, and the bus lets only that agency's registration
    publish under its prefix (README, Threat model)."""
    if await find_enrolment(session, event.candidate_id) is not None:
        return
    await session.execute(insert(enrolments).values(_enrolment_row(event, clock)))


async def on_candidates_registered(
    session: AsyncSession, events: list[CandidateRegistered], clock: Clock
) -> None:
    """`on_candidate_registered` for a batch: one query for who is enrolled, one insert."""
    enrolled = set(
        await session.scalars(
            select(enrolments.c.candidate_id).where(
                enrolments.c.candidate_id.in_([event.candidate_id for event in events])
            )
        )
    )
    rows = []
    for event in events:
        if event.candidate_id not in enrolled:
            enrolled.add(event.candidate_id)
            rows.append(_enrolment_row(event, clock))
    if rows:
        await session.execute(insert(enrolments), rows)


def _enrolment_row(event: CandidateRegistered, clock: Clock) -> dict[str, Any]:
    return {
        "candidate_id": event.candidate_id,
        "journey_id": event.journey_id,
        "agency": event.agency,
        "track": event.track.value,
        "sector": normalise_sector(event.preferred_sector),
        "registered_on": event.registered_on,
        "enrolled_at": clock.now(),
    }


async def on_candidate_withdrawn(
    session: AsyncSession, event: CandidateWithdrawn, clock: Clock
) -> None:
    """The enrolment ends and the candidate's cohort seat is freed."""
    enrolment = await find_enrolment(session, event.candidate_id, for_update=True)
    if enrolment is None:
        raise RetryLater(f"candidate {event.candidate_id} is not enrolled yet")
    if enrolment.agency != event.agency:
        raise Unprocessable(
            f"journey_mismatch: CandidateWithdrawn of candidate {event.candidate_id} names agency"
            f" {event.agency} but the candidate was registered by agency {enrolment.agency};"
            " a forged or broken event, not handled"
        )
    if enrolment.withdrawn_on is not None:
        return
    await session.execute(
        update(enrolments)
        .where(enrolments.c.candidate_id == event.candidate_id)
        .values(withdrawn_on=event.withdrawn_on, withdrawal_reason=event.reason.value)
    )
    await leave_current_cohort(session, event.candidate_id, WITHDRAWN, clock.now())


@dataclass(frozen=True)
class Recorded:
    result_id: uuid.UUID
    passed: bool
    became_ready: bool
    readiness: Readiness


async def record_result(
    session: AsyncSession, candidate_id: uuid.UUID, command: RecordResult, now: datetime
) -> Recorded:
    # Locked, so two results recorded at once cannot both see "not ready yet".
    enrolment = await active_enrolment(session, candidate_id)
    earlier = await _results_of(session, candidate_id)
    result = graded(candidate_id, command, earlier, now)
    result_id = uuid.uuid4()
    await session.execute(insert(results).values(result_row(result_id, candidate_id, result, now)))
    if result.passed:
        await add_to_outbox(session, certificate_passed(enrolment, result_id, result))
    readiness, became_ready = await _reassess(session, enrolment, [*earlier, result], now)
    return Recorded(result_id, result.passed, became_ready, readiness)


def graded(
    candidate_id: uuid.UUID, command: RecordResult, earlier: list[ExamResult], now: datetime
) -> ExamResult:
    """The result as it will be recorded, or the refusal: malformed, or recorded before."""
    try:
        result = grade(command, now.date())
    except ResultRefused as refused:
        raise refusal("result_refused", refused) from None
    if result in earlier:
        raise Conflict(
            "result_already_recorded",
            f"this {result.test.value} result of {result.taken_on.isoformat()} from "
            f"{result.issuer} is already recorded for candidate {candidate_id}",
        )
    return result


def result_row(
    result_id: uuid.UUID, candidate_id: uuid.UUID, result: ExamResult, now: datetime
) -> dict[str, Any]:
    return {
        "id": result_id,
        "candidate_id": candidate_id,
        "test": result.test.value,
        "level": result.level,
        "score": result.score,
        "sector": result.sector,
        "issuer": result.issuer,
        "taken_on": result.taken_on,
        "passed": result.passed,
        "recorded_at": now,
    }


async def enrolments_locked(
    session: AsyncSession, candidate_ids: list[uuid.UUID]
) -> dict[uuid.UUID, Any]:
    """The enrolments of these candidates, locked for this transaction (in one order, so two
    transactions locking overlapping sets wait for each other instead of deadlocking)."""
    rows = await session.execute(
        select(enrolments)
        .where(enrolments.c.candidate_id.in_(candidate_ids))
        .order_by(enrolments.c.candidate_id)
        .with_for_update()
    )
    return {row.candidate_id: row for row in rows}


async def results_of_many(
    session: AsyncSession, candidate_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[ExamResult]]:
    found: dict[uuid.UUID, list[ExamResult]] = {candidate_id: [] for candidate_id in candidate_ids}
    rows = await session.execute(select(results).where(results.c.candidate_id.in_(candidate_ids)))
    for row in rows:
        found[row.candidate_id].append(_exam_result(row))
    return found


def assess(enrolment: Any, results_in: list[ExamResult]) -> Readiness:
    """Readiness on the enrolment's current sector."""
    return assess_readiness(Track(enrolment.track), enrolment.sector, results_in)


@dataclass(frozen=True)
class SectorChanged:
    sector: str
    became_ready: bool
    readiness: Readiness


async def change_candidate_sector(
    session: AsyncSession, candidate_id: uuid.UUID, sector: str, reason: str, now: datetime
) -> SectorChanged:
    """Penjurusan: steer the candidate to `sector`. Readiness is judged again on the new sector,
    so results already in (e.g. that sector's skill test) may make the candidate ready now."""
    enrolment = await active_enrolment(session, candidate_id)
    if enrolment.ready_at is not None:
        raise Conflict(
            "sector_change_after_ready",
            f"candidate {candidate_id} was declared ready for placement in {enrolment.sector} "
            f"on {enrolment.ready_at.date().isoformat()} and placement has been told; the "
            "sector can no longer change in training",
        )
    try:
        change = change_sector(enrolment.sector, sector, reason, now)
    except Refused as refused:
        raise refusal("sector_change_refused", refused) from None
    await session.execute(
        insert(sector_changes).values(
            id=uuid.uuid4(),
            candidate_id=candidate_id,
            previous_sector=change.previous_sector,
            sector=change.sector,
            reason=change.reason,
            changed_at=change.changed_at,
        )
    )
    await session.execute(
        update(enrolments)
        .where(enrolments.c.candidate_id == candidate_id)
        .values(sector=change.sector)
    )
    changed = await find_enrolment(session, candidate_id)
    readiness, became_ready = await _reassess(
        session, changed, await _results_of(session, candidate_id), now
    )
    return SectorChanged(change.sector, became_ready, readiness)


async def get_candidate(session: AsyncSession, candidate_id: uuid.UUID) -> dict[str, Any]:
    enrolment = await find_enrolment(session, candidate_id)
    if enrolment is None:
        raise NotFound("candidate", candidate_id)
    rows = (
        await session.execute(
            select(results)
            .where(results.c.candidate_id == candidate_id)
            .order_by(results.c.recorded_at, results.c.id)
        )
    ).all()
    readiness = assess_readiness(
        Track(enrolment.track), enrolment.sector, [_exam_result(row) for row in rows]
    )
    changes = (
        await session.execute(
            select(sector_changes).where(sector_changes.c.candidate_id == candidate_id)
        )
    ).all()
    history = sector_history(
        enrolment.sector,
        enrolment.enrolled_at,
        [
            SectorChange(row.previous_sector, row.sector, row.reason, row.changed_at)
            for row in changes
        ],
    )
    cohort_id = await session.scalar(
        select(cohort_members.c.cohort_id).where(
            cohort_members.c.candidate_id == candidate_id, cohort_members.c.left_at.is_(None)
        )
    )
    return _enrolment_view(enrolment) | {
        "cohort_id": cohort_id,
        "sector_history": [change.__dict__ for change in history],
        "results": [_result_view(row) for row in rows],
        "readiness": readiness_view(readiness),
    }


async def list_candidates(
    session: AsyncSession, agency: str | None, ready: bool | None, limit: int, offset: int
) -> list[dict[str, Any]]:
    query = select(enrolments).order_by(enrolments.c.enrolled_at, enrolments.c.candidate_id)
    if agency:
        query = query.where(enrolments.c.agency == agency)
    if ready is not None:
        query = query.where(
            enrolments.c.ready_at.is_not(None) if ready else enrolments.c.ready_at.is_(None)
        )
    rows = (await session.execute(query.limit(limit).offset(offset))).all()
    return [_enrolment_view(row) for row in rows]


def readiness_view(readiness: Readiness) -> dict[str, Any]:
    return {
        "ready": readiness.ready,
        "language_level": readiness.language_level,
        "met": [rule.__dict__ for rule in readiness.met],
        "missing": [rule.__dict__ for rule in readiness.missing],
    }


async def _reassess(
    session: AsyncSession, enrolment: Any, results_in: list[ExamResult], now: datetime
) -> tuple[Readiness, bool]:
    """Judge readiness on the enrolment's current sector; announce it the first time only."""
    readiness = assess(enrolment, results_in)
    became_ready = readiness.ready and enrolment.ready_at is None
    if became_ready:
        await session.execute(
            update(enrolments)
            .where(enrolments.c.candidate_id == enrolment.candidate_id)
            .values(ready_at=now)
        )
        await add_to_outbox(session, ready_for_placement(enrolment, readiness))
    return readiness, became_ready


async def _results_of(session: AsyncSession, candidate_id: uuid.UUID) -> list[ExamResult]:
    rows = (
        await session.execute(select(results).where(results.c.candidate_id == candidate_id))
    ).all()
    return [_exam_result(row) for row in rows]


def certificate_passed(
    enrolment: Any, result_id: uuid.UUID, result: ExamResult
) -> CertificatePassed:
    return CertificatePassed(
        agency=enrolment.agency,
        journey_id=enrolment.journey_id,
        candidate_id=enrolment.candidate_id,
        certificate_id=result_id,
        test=result.test,
        level=result.level,
        score=result.score,
        sector=result.sector,
        issuer=result.issuer,
        passed_on=result.taken_on,
    )


def ready_for_placement(enrolment: Any, readiness: Readiness) -> CandidateReadyForPlacement:
    assert readiness.language_level is not None  # every track needs Japanese at N4
    return CandidateReadyForPlacement(
        agency=enrolment.agency,
        journey_id=enrolment.journey_id,
        candidate_id=enrolment.candidate_id,
        track=Track(enrolment.track),
        sector=enrolment.sector,
        language_level=readiness.language_level,
        satisfied_rules=[rule.in_words() for rule in readiness.met],
    )


def _exam_result(row: Any) -> ExamResult:
    return ExamResult(
        test=TestKind(row.test),
        issuer=row.issuer,
        taken_on=row.taken_on,
        passed=row.passed,
        level=row.level,
        score=row.score,
        sector=row.sector,
    )


def _enrolment_view(row: Any) -> dict[str, Any]:
    return {
        "candidate_id": row.candidate_id,
        "journey_id": row.journey_id,
        "agency": row.agency,
        "track": row.track,
        "sector": row.sector,
        "registered_on": row.registered_on,
        "enrolled_at": row.enrolled_at,
        "status": "withdrawn" if row.withdrawn_on else "enrolled",
        "withdrawn_on": row.withdrawn_on,
        "withdrawal_reason": row.withdrawal_reason,
        "ready": row.ready_at is not None,
        "ready_at": row.ready_at,
    }


def _result_view(row: Any) -> dict[str, Any]:
    return {
        "result_id": row.id,
        "test": row.test,
        "level": row.level,
        "score": row.score,
        "sector": row.sector,
        "issuer": row.issuer,
        "taken_on": row.taken_on,
        "passed": row.passed,
        "recorded_at": row.recorded_at,
    }
