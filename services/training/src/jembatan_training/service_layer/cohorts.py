"""Cohorts (classes): opening them, seating candidates, and the early warning on daily scores.

Seats: a cohort row counts its members, and a seat is taken by one conditional UPDATE
(`members < capacity`), so two requests for the last seat cannot both win. A candidate sits in one
cohort at a time; moving to another cohort is an explicit `move`, done in one transaction (a full
target cohort leaves the candidate where they were).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from jembatan_kit.errors import Conflict, NotFound, RuleViolation

from ..adapters.orm import cohort_members, cohort_stages, cohorts, daily_scores
from ..domain.certificates import normalise_sector
from ..domain.cohorts import CreateCohort, check_cohort, seats_left
from ..domain.daily_scores import DailyScore, early_warnings
from ..domain.rules import Refused
from .guards import active_enrolment, find_enrolment, refusal

LEFT = "left"
MOVED = "moved"
WITHDRAWN = "withdrawn"


async def create_cohort(session: AsyncSession, command: CreateCohort, now: datetime) -> uuid.UUID:
    try:
        check_cohort(command)
    except Refused as refused:
        raise refusal("cohort_refused", refused) from None
    cohort_id = uuid.uuid4()
    await session.execute(
        insert(cohorts).values(
            id=cohort_id,
            agency=command.agency,
            training_centre=command.training_centre.strip(),
            name=command.name.strip(),
            mode=command.mode.value,
            capacity=command.capacity,
            members=0,
            sector=normalise_sector(command.sector) if command.sector else None,
            created_at=now,
        )
    )
    await session.execute(
        insert(cohort_stages),
        [
            {
                "cohort_id": cohort_id,
                "position": position,
                "centre": stage.centre.strip(),
                "starts_on": stage.starts_on,
                "ends_on": stage.ends_on,
            }
            for position, stage in enumerate(command.stages, start=1)
        ],
    )
    return cohort_id


async def assign_member(
    session: AsyncSession,
    cohort_id: uuid.UUID,
    candidate_id: uuid.UUID,
    now: datetime,
    move: bool = False,
) -> None:
    enrolment = await active_enrolment(session, candidate_id)
    cohort = await _cohort(session, cohort_id)
    if cohort.sector and cohort.sector != enrolment.sector:
        raise RuleViolation(
            "cohort_sector",
            f"cohort {cohort.name} trains for {cohort.sector}, the candidate for "
            f"{enrolment.sector}: change the candidate's sector first (penjurusan) or choose a "
            "cohort of their sector",
        )
    current = await _current_membership(session, candidate_id)
    if current is not None:
        if current.cohort_id == cohort_id:
            raise Conflict(
                "already_in_cohort", f"candidate {candidate_id} is already in cohort {cohort.name}"
            )
        if not move:
            raise Conflict(
                "candidate_in_another_cohort",
                f"candidate {candidate_id} is in another cohort ({current.cohort_id}); "
                "send move: true to move them, or let them leave that cohort first",
                cohort_id=str(current.cohort_id),
            )
        await _leave(session, current, MOVED, now)
    seat = await session.execute(
        update(cohorts)
        .where(cohorts.c.id == cohort_id, cohorts.c.members < cohorts.c.capacity)
        .values(members=cohorts.c.members + 1)
        .returning(cohorts.c.members)
    )
    if seat.first() is None:
        raise Conflict(
            "cohort_full",
            f"cohort {cohort.name} is full: all {cohort.capacity} seats are taken",
            capacity=cohort.capacity,
        )
    await session.execute(
        insert(cohort_members).values(
            id=uuid.uuid4(), cohort_id=cohort_id, candidate_id=candidate_id, joined_at=now
        )
    )


async def leave_cohort(
    session: AsyncSession, cohort_id: uuid.UUID, candidate_id: uuid.UUID, now: datetime
) -> None:
    if await find_enrolment(session, candidate_id, for_update=True) is None:
        raise NotFound("candidate", candidate_id)
    current = await _current_membership(session, candidate_id)
    if current is None or current.cohort_id != cohort_id:
        raise RuleViolation(
            "not_in_cohort",
            f"candidate {candidate_id} is not a member of cohort {cohort_id}",
            status_code=404,
        )
    await _leave(session, current, LEFT, now)


async def leave_current_cohort(
    session: AsyncSession, candidate_id: uuid.UUID, reason: str, now: datetime
) -> None:
    """Free the candidate's seat, if they have one. The caller holds the enrolment lock."""
    current = await _current_membership(session, candidate_id)
    if current is not None:
        await _leave(session, current, reason, now)


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


async def _cohort(session: AsyncSession, cohort_id: uuid.UUID) -> Any:
    cohort = (await session.execute(select(cohorts).where(cohorts.c.id == cohort_id))).first()
    if cohort is None:
        raise NotFound("cohort", cohort_id)
    return cohort


async def _current_membership(session: AsyncSession, candidate_id: uuid.UUID) -> Any:
    query = select(cohort_members).where(
        cohort_members.c.candidate_id == candidate_id, cohort_members.c.left_at.is_(None)
    )
    return (await session.execute(query)).first()


async def _leave(session: AsyncSession, membership: Any, reason: str, now: datetime) -> None:
    await session.execute(
        update(cohort_members)
        .where(cohort_members.c.id == membership.id)
        .values(left_at=now, left_reason=reason)
    )
    await session.execute(
        update(cohorts)
        .where(cohorts.c.id == membership.cohort_id)
        .values(members=cohorts.c.members - 1)
    )


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
