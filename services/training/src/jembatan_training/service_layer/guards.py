"""What every use case on a candidate checks first, and how refused rules are reported."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from jembatan_kit.errors import Conflict, RuleViolation

from ..adapters.orm import enrolments
from ..domain.rules import Refused


async def find_enrolment(
    session: AsyncSession, candidate_id: uuid.UUID, for_update: bool = False
) -> Any:
    query = select(enrolments).where(enrolments.c.candidate_id == candidate_id)
    if for_update:
        query = query.with_for_update()
    return (await session.execute(query)).first()


async def active_enrolment(session: AsyncSession, candidate_id: uuid.UUID) -> Any:
    """The candidate's enrolment, locked for this transaction, so changes to one candidate
    (results, scores, cohort places, sector, withdrawal) happen one after another."""
    return ensure_active(candidate_id, await find_enrolment(session, candidate_id, for_update=True))


def ensure_active(candidate_id: uuid.UUID, enrolment: Any) -> Any:
    """The enrolment, if there is one and the candidate has not withdrawn; else the refusal."""
    if enrolment is None:
        raise not_enrolled(candidate_id)
    if enrolment.withdrawn_on is not None:
        raise Conflict(
            "candidate_withdrawn",
            f"candidate {candidate_id} withdrew on {enrolment.withdrawn_on.isoformat()} "
            f"({enrolment.withdrawal_reason}): no results, scores, cohort places or sector "
            "changes are recorded for them any more",
            candidate_id=str(candidate_id),
            withdrawn_on=enrolment.withdrawn_on.isoformat(),
        )
    return enrolment


def not_enrolled(candidate_id: uuid.UUID) -> RuleViolation:
    return RuleViolation(
        "candidate_not_enrolled",
        f"candidate {candidate_id} is not enrolled in training: results, scores and cohort "
        "places are recorded only for candidates registered by an agency (check the candidate "
        "id, or wait until the registration has reached training)",
        {"candidate_id": str(candidate_id)},
        status_code=404,
    )


def refusal(rule: str, refused: Refused) -> RuleViolation:
    return RuleViolation(
        rule, str(refused), {"failed_rules": [check.__dict__ for check in refused.failures]}
    )
