"""The read side: candidates, cohorts, daily scores and the early warning, as the API shows
them. Reads only; the rules they show (readiness, sector history, the early warning) are the
domain's."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from jembatan_contracts import Track
from jembatan_kit.errors import NotFound

from ..adapters.orm import (
    cohort_members,
    cohort_stages,
    cohorts,
    daily_scores,
    enrolments,
    results,
    sector_changes,
)
from ..adapters.repository import exam_result
from ..domain.certificates import normalise_sector
from ..domain.cohorts import seats_left
from ..domain.daily_scores import DailyScore, early_warnings, recent_average
from ..domain.penjurusan import SectorChange, sector_history
from ..domain.readiness import Readiness, assess_readiness
from ..domain.sector_suggestions import CandidateFacts, suggest_sectors


async def get_candidate(session: AsyncSession, candidate_id: uuid.UUID) -> dict[str, Any]:
    enrolment = await _enrolment(session, candidate_id)
    rows = (
        await session.execute(
            select(results)
            .where(results.c.candidate_id == candidate_id)
            .order_by(results.c.recorded_at, results.c.id)
        )
    ).all()
    readiness = assess_readiness(
        Track(enrolment.track), enrolment.sector, [exam_result(row) for row in rows]
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
    seated = (
        select(cohort_members.c.candidate_id, cohort_members.c.cohort_id)
        .where(cohort_members.c.left_at.is_(None))
        .subquery()
    )
    query = (
        select(enrolments, seated.c.cohort_id)
        .outerjoin(seated, seated.c.candidate_id == enrolments.c.candidate_id)
        .order_by(enrolments.c.enrolled_at, enrolments.c.candidate_id)
    )
    if agency:
        query = query.where(enrolments.c.agency == agency)
    if ready is not None:
        query = query.where(
            enrolments.c.ready_at.is_not(None) if ready else enrolments.c.ready_at.is_(None)
        )
    rows = (await session.execute(query.limit(limit).offset(offset))).all()
    return [_enrolment_view(row) | {"cohort_id": row.cohort_id} for row in rows]


def readiness_view(readiness: Readiness) -> dict[str, Any]:
    return {
        "ready": readiness.ready,
        "language_level": readiness.language_level,
        "met": [rule.__dict__ for rule in readiness.met],
        "missing": [rule.__dict__ for rule in readiness.missing],
    }


async def daily_scores_of(session: AsyncSession, candidate_id: uuid.UUID) -> list[dict[str, Any]]:
    await _enrolment(session, candidate_id)
    rows = await session.execute(
        select(daily_scores)
        .where(daily_scores.c.candidate_id == candidate_id)
        .order_by(daily_scores.c.day)
    )
    return [{"day": row.day, "score": row.score, "recorded_at": row.recorded_at} for row in rows]


async def get_cohort(session: AsyncSession, cohort_id: uuid.UUID) -> dict[str, Any]:
    cohort = await _cohort(session, cohort_id)
    rows = (
        await session.execute(
            select(cohort_members)
            .where(cohort_members.c.cohort_id == cohort_id)
            .order_by(cohort_members.c.joined_at, cohort_members.c.id)
        )
    ).all()
    stages = await _stages_of(session, [cohort_id])
    return _cohort_view(cohort, stages[cohort_id]) | {
        "members": [
            {"candidate_id": row.candidate_id, "joined_at": row.joined_at}
            for row in rows
            if row.left_at is None
        ],
        "former_members": [
            {
                "candidate_id": row.candidate_id,
                "joined_at": row.joined_at,
                "left_at": row.left_at,
                "left_reason": row.left_reason,
            }
            for row in rows
            if row.left_at is not None
        ],
    }


async def cohort_day_scores(
    session: AsyncSession, cohort_id: uuid.UUID, day: date
) -> dict[str, Any]:
    """The scores of `day` of the cohort's current members (those scored that day)."""
    members = await cohort_member_ids(session, cohort_id)
    rows = await session.execute(
        select(daily_scores).where(
            daily_scores.c.candidate_id.in_(members), daily_scores.c.day == day
        )
    )
    by_member = {row.candidate_id: row for row in rows}
    return {
        "cohort_id": cohort_id,
        "day": day,
        "scores": [
            {
                "candidate_id": member,
                "score": by_member[member].score,
                "recorded_at": by_member[member].recorded_at,
            }
            for member in members
            if member in by_member
        ],
    }


async def list_cohorts(
    session: AsyncSession,
    training_centre: str | None,
    sector: str | None,
    limit: int,
    offset: int,
    agency: str | None = None,
) -> list[dict[str, Any]]:
    query = select(cohorts).order_by(cohorts.c.created_at, cohorts.c.id)
    if agency:
        query = query.where(cohorts.c.agency == agency)
    if training_centre:
        query = query.where(cohorts.c.training_centre == training_centre)
    if sector:
        query = query.where(cohorts.c.sector == normalise_sector(sector))
    rows = (await session.execute(query.limit(limit).offset(offset))).all()
    stages = await _stages_of(session, [row.id for row in rows])
    return [_cohort_view(row, stages[row.id]) for row in rows]


async def early_warning(
    session: AsyncSession, cohort_id: uuid.UUID, target: int, window: int
) -> dict[str, Any]:
    """Current members whose average over their `window` most recent daily scores is below
    `target`; members without any score yet are listed apart."""
    await _cohort(session, cohort_id)
    members = (
        await session.scalars(
            select(cohort_members.c.candidate_id).where(
                cohort_members.c.cohort_id == cohort_id, cohort_members.c.left_at.is_(None)
            )
        )
    ).all()
    scores: dict[uuid.UUID, list[DailyScore]] = defaultdict(list)
    rows = await session.execute(
        select(daily_scores).where(daily_scores.c.candidate_id.in_(members))
    )
    for row in rows:
        scores[row.candidate_id].append(DailyScore(row.day, row.score))
    return {
        "cohort_id": cohort_id,
        "target": target,
        "window": window,
        "below_target": [
            {
                "candidate_id": warning.candidate_id,
                "average": round(warning.average, 2),
                "scores": warning.scores,
            }
            for warning in early_warnings(scores, target, window)
        ],
        "without_scores": sorted((m for m in members if m not in scores), key=str),
    }


async def sector_suggestions(
    session: AsyncSession,
    candidate_ids: list[uuid.UUID],
    target: int,
    window: int,
    sectors_in_demand: list[str],
) -> list[dict[str, Any]]:
    """Penjurusan suggestions for each candidate (in the order given), with the readiness on
    their current sector: loaded in a few queries, whatever the number of candidates."""
    rows = {
        row.candidate_id: row
        for row in await session.execute(
            select(enrolments).where(enrolments.c.candidate_id.in_(candidate_ids))
        )
    }
    results_of: dict[uuid.UUID, list[Any]] = defaultdict(list)
    for row in await session.execute(
        select(results).where(results.c.candidate_id.in_(candidate_ids))
    ):
        results_of[row.candidate_id].append(exam_result(row))
    changes_of: dict[uuid.UUID, list[SectorChange]] = defaultdict(list)
    for row in await session.execute(
        select(sector_changes).where(sector_changes.c.candidate_id.in_(candidate_ids))
    ):
        changes_of[row.candidate_id].append(
            SectorChange(row.previous_sector, row.sector, row.reason, row.changed_at)
        )
    scores_of: dict[uuid.UUID, list[DailyScore]] = defaultdict(list)
    for row in await session.execute(
        select(daily_scores).where(daily_scores.c.candidate_id.in_(candidate_ids))
    ):
        scores_of[row.candidate_id].append(DailyScore(row.day, row.score))
    cohort_sector_of = {
        row.candidate_id: row.sector
        for row in await session.execute(
            select(cohort_members.c.candidate_id, cohorts.c.sector)
            .join(cohorts, cohorts.c.id == cohort_members.c.cohort_id)
            .where(
                cohort_members.c.candidate_id.in_(candidate_ids),
                cohort_members.c.left_at.is_(None),
            )
        )
    }
    views = []
    for candidate_id in candidate_ids:
        enrolment = rows.get(candidate_id)
        if enrolment is None:
            raise NotFound("candidate", candidate_id)
        track = Track(enrolment.track)
        facts = CandidateFacts(
            track=track,
            sector=enrolment.sector,
            history=sector_history(
                enrolment.sector, enrolment.enrolled_at, changes_of[candidate_id]
            ),
            results=results_of[candidate_id],
            recent_scores=recent_average(scores_of[candidate_id], window),
            cohort_sector=cohort_sector_of.get(candidate_id),
        )
        fixed = (
            "withdrawn"
            if enrolment.withdrawn_on
            else "ready_for_placement"
            if enrolment.ready_at
            else None
        )
        views.append(
            {
                "candidate_id": candidate_id,
                "track": track.value,
                "sector": enrolment.sector,
                "sector_fixed": fixed,
                "readiness": readiness_view(
                    assess_readiness(track, enrolment.sector, results_of[candidate_id])
                ),
                "suggestions": [
                    {
                        "sector": suggestion.sector,
                        "points": suggestion.points,
                        "current": suggestion.current,
                        "reasons": [reason.__dict__ for reason in suggestion.reasons],
                    }
                    for suggestion in suggest_sectors(facts, target, sectors_in_demand)
                ],
            }
        )
    return views


async def cohort_member_ids(session: AsyncSession, cohort_id: uuid.UUID) -> list[uuid.UUID]:
    """The cohort's current members, in the order they joined."""
    await _cohort(session, cohort_id)
    return list(
        (
            await session.scalars(
                select(cohort_members.c.candidate_id)
                .where(cohort_members.c.cohort_id == cohort_id, cohort_members.c.left_at.is_(None))
                .order_by(cohort_members.c.joined_at, cohort_members.c.id)
            )
        ).all()
    )


async def _enrolment(session: AsyncSession, candidate_id: uuid.UUID) -> Any:
    row = (
        await session.execute(select(enrolments).where(enrolments.c.candidate_id == candidate_id))
    ).first()
    if row is None:
        raise NotFound("candidate", candidate_id)
    return row


async def _cohort(session: AsyncSession, cohort_id: uuid.UUID) -> Any:
    cohort = (await session.execute(select(cohorts).where(cohorts.c.id == cohort_id))).first()
    if cohort is None:
        raise NotFound("cohort", cohort_id)
    return cohort


async def _stages_of(
    session: AsyncSession, cohort_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[Any]]:
    stages: dict[uuid.UUID, list[Any]] = defaultdict(list)
    rows = await session.execute(
        select(cohort_stages)
        .where(cohort_stages.c.cohort_id.in_(cohort_ids))
        .order_by(cohort_stages.c.cohort_id, cohort_stages.c.position)
    )
    for row in rows:
        stages[row.cohort_id].append(row)
    return stages


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
        "national_hold": row.national_hold,
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


def _cohort_view(row: Any, stages: list[Any]) -> dict[str, Any]:
    return {
        "cohort_id": row.id,
        "agency": row.agency,
        "training_centre": row.training_centre,
        "name": row.name,
        "mode": row.mode,
        "sector": row.sector,
        "capacity": row.capacity,
        "member_count": row.members,
        "seats_left": seats_left(row.capacity, row.members),
        "starts_on": stages[0].starts_on if stages else None,
        "ends_on": stages[-1].ends_on if stages else None,
        "stages": [
            {"centre": s.centre, "starts_on": s.starts_on, "ends_on": s.ends_on} for s in stages
        ],
        "created_at": row.created_at,
    }
