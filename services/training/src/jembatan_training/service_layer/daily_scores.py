"""Daily scores: one per candidate per day; posting the same day again replaces it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from jembatan_contracts import DailyScoreRecorded
from jembatan_kit.errors import NotFound
from jembatan_kit.outbox import add_to_outbox

from ..adapters.orm import cohort_members, cohorts, daily_scores
from ..domain.daily_scores import DailyScore, check_daily_score
from ..domain.rules import Refused
from .guards import active_enrolment, find_enrolment, refusal


async def record_daily_score(
    session: AsyncSession, candidate_id: uuid.UUID, score: DailyScore, now: datetime
) -> bool:
    """Record the day's score and publish it (`DailyScoreRecorded`, with the candidate's current
    cohort); True when it replaced an earlier score of the same day."""
    enrolment = await active_enrolment(session, candidate_id)
    try:
        check_daily_score(score, now.date())
    except Refused as refused:
        raise refusal("daily_score_refused", refused) from None
    same_day = (daily_scores.c.candidate_id == candidate_id) & (daily_scores.c.day == score.day)
    # The enrolment lock taken above keeps this read-then-write free of races.
    replaced = (await session.execute(select(daily_scores.c.day).where(same_day))).first()
    if replaced:
        await session.execute(
            update(daily_scores).where(same_day).values(score=score.score, recorded_at=now)
        )
    else:
        await session.execute(
            insert(daily_scores).values(
                candidate_id=candidate_id, day=score.day, score=score.score, recorded_at=now
            )
        )
    cohort = (
        await session.execute(
            select(cohorts.c.id, cohorts.c.name, cohorts.c.training_centre)
            .join(cohort_members, cohort_members.c.cohort_id == cohorts.c.id)
            .where(
                cohort_members.c.candidate_id == candidate_id, cohort_members.c.left_at.is_(None)
            )
        )
    ).first()
    await add_to_outbox(
        session,
        DailyScoreRecorded(
            agency=enrolment.agency,
            journey_id=enrolment.journey_id,
            occurred_at=now,
            candidate_id=candidate_id,
            day=score.day,
            score=score.score,
            cohort_id=cohort.id if cohort else None,
            cohort_name=cohort.name if cohort else None,
            training_centre=cohort.training_centre if cohort else None,
        ),
    )
    return replaced is not None


async def daily_scores_of(session: AsyncSession, candidate_id: uuid.UUID) -> list[dict[str, Any]]:
    if await find_enrolment(session, candidate_id) is None:
        raise NotFound("candidate", candidate_id)
    rows = await session.execute(
        select(daily_scores)
        .where(daily_scores.c.candidate_id == candidate_id)
        .order_by(daily_scores.c.day)
    )
    return [{"day": row.day, "score": row.score, "recorded_at": row.recorded_at} for row in rows]
