"""Placement's read side: the views the API answers with, and the ranked matches of an order.
Each list is read in a few queries, whatever its length."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from jembatan_contracts import Track
from jembatan_kit.errors import NotFound, RuleViolation

from ..adapters.orm import (
    candidate_certificates,
    candidate_withdrawals,
    identity_holds,
    job_orders,
    placement_steps,
    placements,
    ready_candidates,
    waiting_readiness,
)
from ..adapters.repository import (
    identity_holds_of,
    job_order_of,
    ready_candidates_of,
    withdrawn_on,
)
from ..domain.journey import SLOT_HOLDING_STATUSES, PlacementStatus
from ..domain.matching import rank
from ..domain.model import JobOrderStatus, ReadyCandidate, normalise_sector

# --- job orders -----------------------------------------------------------------------------


async def get_job_order(session: AsyncSession, order_id: uuid.UUID) -> dict[str, Any]:
    return _job_order_view(await _job_order_row(session, order_id))


async def list_job_orders(
    session: AsyncSession,
    status: JobOrderStatus | None,
    sector: str | None,
    track: Track | None,
    limit: int,
    offset: int,
) -> list[dict[str, Any]]:
    query = select(job_orders).order_by(job_orders.c.opened_at, job_orders.c.id)
    if status is JobOrderStatus.OPEN:
        query = query.where(job_orders.c.closed_at.is_(None))
        query = query.where(job_orders.c.filled < job_orders.c.slots)
    elif status is JobOrderStatus.FILLED:
        query = query.where(job_orders.c.closed_at.is_(None))
        query = query.where(job_orders.c.filled >= job_orders.c.slots)
    elif status is JobOrderStatus.CLOSED:
        query = query.where(job_orders.c.closed_at.is_not(None))
    if sector:
        query = query.where(job_orders.c.sector == normalise_sector(sector))
    if track:
        query = query.where(job_orders.c.track == track.value)
    rows = (await session.execute(query.limit(limit).offset(offset))).all()
    return [_job_order_view(row) for row in rows]


async def match_candidates(
    session: AsyncSession, order_id: uuid.UUID, today: date, limit: int, agency: str | None = None
) -> dict[str, Any]:
    """Ready candidates of the order's track and sector (of one agency, when given), ranked; the
    others are not considered."""
    order = job_order_of(await _job_order_row(session, order_id))
    query = select(ready_candidates).where(
        ready_candidates.c.track == order.track.value,
        ready_candidates.c.sector == order.sector,
    )
    if agency:
        query = query.where(ready_candidates.c.agency == agency)
    candidates = await ready_candidates_of(session, await session.execute(query))
    ranking = rank(order, candidates, today, await _unavailable(session, order_id, candidates))
    return {
        "job_order_id": order_id,
        "matches": [
            {
                "candidate_id": match.candidate.candidate_id,
                "agency": match.candidate.agency,
                "language_level": match.candidate.language_level,
                "score": match.score,
                "explanation": match.explanation,
            }
            for match in ranking.matches[:limit]
        ],
        "excluded": [
            {
                "candidate_id": exclusion.candidate.candidate_id,
                "rule": exclusion.rule,
                "reason": exclusion.reason,
            }
            for exclusion in ranking.excluded
        ],
    }


async def _unavailable(
    session: AsyncSession, order_id: uuid.UUID, candidates: list[ReadyCandidate]
) -> dict[uuid.UUID, tuple[str, str]]:
    """Candidates who fit but cannot be put forward: withdrawn from the programme, on a path of
    this order, or holding a slot elsewhere."""
    ids = [candidate.candidate_id for candidate in candidates]
    unavailable: dict[uuid.UUID, tuple[str, str]] = {
        candidate.candidate_id: (
            "candidate_withdrawn",
            f"withdrew from the programme on {candidate.withdrawn_on.isoformat()}",
        )
        for candidate in candidates
        if candidate.withdrawn_on is not None
    }
    unavailable |= {
        candidate.candidate_id: (
            "identity_duplicate",
            f"held by the national identity index as registered twice ({candidate.identity_hold})",
        )
        for candidate in candidates
        if candidate.identity_hold is not None and candidate.withdrawn_on is None
    }
    rows = (
        await session.execute(
            select(
                placements.c.id,
                placements.c.candidate_id,
                placements.c.job_order_id,
                placements.c.status,
            ).where(
                placements.c.candidate_id.in_(ids),
                (placements.c.job_order_id == order_id)
                | placements.c.status.in_([status.value for status in SLOT_HOLDING_STATUSES]),
            )
        )
    ).all()
    for row in rows:
        if row.candidate_id in unavailable and unavailable[row.candidate_id][0] == (
            "candidate_withdrawn"
        ):
            continue
        if row.job_order_id == order_id:
            unavailable[row.candidate_id] = (
                "already_on_order",
                f"already on this order: placement {row.id} is {row.status.replace('_', ' ')}",
            )
        else:
            unavailable.setdefault(
                row.candidate_id,
                ("one_active_placement", f"holds placement {row.id} ({row.status})"),
            )
    return unavailable


async def _job_order_row(session: AsyncSession, order_id: uuid.UUID) -> Any:
    row = (await session.execute(select(job_orders).where(job_orders.c.id == order_id))).first()
    if row is None:
        raise NotFound("job order", order_id)
    return row


def _job_order_view(row: Any) -> dict[str, Any]:
    order = job_order_of(row)
    return {
        "id": row.id,
        "employer": row.employer,
        "supervising_organisation": row.supervising_organisation,
        "prefecture": row.prefecture,
        "sector": row.sector,
        "track": row.track,
        "slots": row.slots,
        "filled": row.filled,
        "remaining": order.remaining,
        "status": order.status.value,
        "monthly_wage_jpy": row.monthly_wage_jpy,
        "contract_months": row.contract_months,
        "minimum_language_level": row.minimum_language_level,
        "required_certificates": row.required_certificates,
        "interview_date": row.interview_date,
        "opened_at": row.opened_at,
        "closed_at": row.closed_at,
        "close_reason": row.close_reason,
    }


# --- placements -----------------------------------------------------------------------------


async def get_placement(session: AsyncSession, placement_id: uuid.UUID) -> dict[str, Any]:
    rows = (await session.execute(_placements_query().where(placements.c.id == placement_id))).all()
    if not rows:
        raise NotFound("placement", placement_id)
    [view] = await _placement_views(session, rows)
    return view


async def list_placements(
    session: AsyncSession,
    candidate_id: uuid.UUID | None,
    job_order_id: uuid.UUID | None,
    status: PlacementStatus | None,
    limit: int,
    offset: int,
    agency: str | None = None,
) -> list[dict[str, Any]]:
    query = _placements_query().order_by(placements.c.started_at, placements.c.id)
    if agency:
        query = query.where(placements.c.agency == agency)
    if candidate_id:
        query = query.where(placements.c.candidate_id == candidate_id)
    if job_order_id:
        query = query.where(placements.c.job_order_id == job_order_id)
    if status:
        query = query.where(placements.c.status == status.value)
    rows = (await session.execute(query.limit(limit).offset(offset))).all()
    return await _placement_views(session, rows)


async def _placement_views(session: AsyncSession, rows: Sequence[Any]) -> list[dict[str, Any]]:
    steps: dict[uuid.UUID, list[dict[str, Any]]] = {row.id: [] for row in rows}
    if rows:
        for step in await session.execute(
            select(
                placement_steps.c.placement_id,
                placement_steps.c.status,
                placement_steps.c.happened_on,
                placement_steps.c.detail,
            )
            .where(placement_steps.c.placement_id.in_(list(steps)))
            .order_by(placement_steps.c.happened_on, placement_steps.c.recorded_at)
        ):
            steps[step.placement_id].append(
                {"status": step.status, "happened_on": step.happened_on, "detail": step.detail}
            )
    return [dict(row._mapping) | {"steps": steps[row.id]} for row in rows]


def _placements_query() -> Select[Any]:
    return select(
        placements.c.id,
        placements.c.job_order_id,
        placements.c.candidate_id,
        placements.c.journey_id,
        placements.c.agency,
        placements.c.status,
        placements.c.started_at,
        placements.c.placed_at,
        placements.c.departure_date,
        job_orders.c.employer,
        job_orders.c.supervising_organisation,
        job_orders.c.prefecture,
        job_orders.c.sector,
        job_orders.c.track,
        job_orders.c.monthly_wage_jpy,
        job_orders.c.contract_months,
    ).join(job_orders, job_orders.c.id == placements.c.job_order_id)


# --- ready candidates -----------------------------------------------------------------------


async def get_ready_candidate(session: AsyncSession, candidate_id: uuid.UUID) -> dict[str, Any]:
    rows = (
        await session.execute(
            select(ready_candidates).where(ready_candidates.c.candidate_id == candidate_id)
        )
    ).all()
    if not rows:
        waiting = (
            await session.execute(
                select(waiting_readiness).where(waiting_readiness.c.candidate_id == candidate_id)
            )
        ).first()
        if waiting is not None:
            raise RuleViolation(
                "waiting_for_certificate",
                f"candidate {candidate_id} is not ready for placement yet: training announced"
                f" them ready at {waiting.ready_at.isoformat()}, and placement waits for a"
                f" certificate of theirs (CertificatePassed of agency {waiting.agency}, journey"
                f" {waiting.journey_id})",
                status_code=404,
            )
        raise NotFound("ready candidate", candidate_id)
    [view] = await _ready_candidate_views(session, rows)
    return view


async def list_ready_candidates(
    session: AsyncSession,
    sector: str | None,
    track: Track | None,
    limit: int,
    offset: int,
    agency: str | None = None,
) -> list[dict[str, Any]]:
    query = (
        select(ready_candidates)
        .where(ready_candidates.c.withdrawn_on.is_(None), ~_withdrawal_kept(), ~_identity_held())
        .order_by(ready_candidates.c.ready_at, ready_candidates.c.candidate_id)
    )
    if agency:
        query = query.where(ready_candidates.c.agency == agency)
    if sector:
        query = query.where(ready_candidates.c.sector == normalise_sector(sector))
    if track:
        query = query.where(ready_candidates.c.track == track.value)
    rows = (await session.execute(query.limit(limit).offset(offset))).all()
    return await _ready_candidate_views(session, rows)


def _identity_held() -> Any:
    """The national identity index holds the candidate as registered twice."""
    return (
        select(identity_holds.c.candidate_id)
        .where(
            identity_holds.c.candidate_id == ready_candidates.c.candidate_id,
            identity_holds.c.agency == ready_candidates.c.agency,
            identity_holds.c.hold.is_not(None),
        )
        .exists()
    )


def _withdrawal_kept() -> Any:
    """A withdrawal of the candidate's agency and journey is kept (heard before the readiness,
    or while it was written): the row itself may not be marked."""
    return (
        select(candidate_withdrawals.c.candidate_id)
        .where(
            candidate_withdrawals.c.candidate_id == ready_candidates.c.candidate_id,
            candidate_withdrawals.c.agency == ready_candidates.c.agency,
            candidate_withdrawals.c.journey_id == ready_candidates.c.journey_id,
        )
        .exists()
    )


async def _ready_candidate_views(
    session: AsyncSession, rows: Sequence[Any]
) -> list[dict[str, Any]]:
    """Each candidate with the tests of the certificates held, each once, earliest first, and
    the day they withdrew, if they did."""
    tests: dict[uuid.UUID, list[str]] = {row.candidate_id: [] for row in rows}
    withdrawn = await withdrawn_on(session, rows)
    holds = await identity_holds_of(session, rows)
    if rows:
        for certificate in await session.execute(
            select(candidate_certificates.c.candidate_id, candidate_certificates.c.test)
            .where(candidate_certificates.c.candidate_id.in_(list(tests)))
            .order_by(candidate_certificates.c.passed_on)
        ):
            tests[certificate.candidate_id].append(certificate.test)
    return [
        dict(row._mapping)
        | {
            "certificates": list(dict.fromkeys(tests[row.candidate_id])),
            "withdrawn_on": withdrawn.get(row.candidate_id),
            "identity_hold": holds.get(row.candidate_id),
        }
        for row in rows
    ]
