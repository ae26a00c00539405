"""Use cases of placement, each in one transaction with the events it stages."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Select, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from jembatan_contracts import (
    CandidateInterviewed,
    CandidateOffered,
    CandidatePlaced,
    CandidateReadyForPlacement,
    CandidateShortlisted,
    CertificateOfEligibilityIssued,
    CertificatePassed,
    Departed,
    EarlyReturned,
    EarlyReturnReason,
    TestKind,
    Track,
    VisaIssued,
)
from jembatan_kit.consumer import RetryLater, Unprocessable
from jembatan_kit.errors import Conflict, NotFound, RuleViolation
from jembatan_kit.outbox import add_to_outbox

from ..adapters.orm import (
    candidate_certificates,
    job_orders,
    placement_steps,
    placements,
    ready_candidates,
)
from ..domain.journey import (
    ENDED_STATUSES,
    SLOT_HOLDING_STATUSES,
    PlacementStatus,
    Step,
    ensure_dated_in_order,
    ensure_return_is_early,
    months_worked,
    next_status,
)
from ..domain.matching import ensure_fits, rank
from ..domain.model import (
    HeldCertificate,
    JobOrder,
    JobOrderStatus,
    LanguageLevel,
    OpenJobOrder,
    ReadyCandidate,
    already_on_order,
    check_job_order,
    ensure_can_close,
    ensure_open_for_candidates,
    normalise_sector,
    not_ready,
    one_active_placement,
    order_full,
)

# --- events in ------------------------------------------------------------------------------


async def on_candidate_ready_for_placement(
    session: AsyncSession, event: CandidateReadyForPlacement
) -> None:
    """Record the candidate as ready, keyed by candidate. The latest readiness wins, so a repeat
    or a late-arriving older announcement changes nothing.

    Only a candidate placement has heard of is made ready: training announces readiness once the
    candidate's certificates are in, each announced before by a CertificatePassed of the same
    agency and journey, so placement must hold one (`require_certificate_of_journey`). Without
    one the readiness waits (RetryLater): the certificates come through another durable and may
    simply be behind. One that never finds its certificate is dead-lettered when its attempts
    are spent, and nobody can match, shortlist or place that candidate. A readiness whose
    candidate's certificates are all another agency's or journey's is forged: Unprocessable at
    once."""
    await on_candidates_ready_for_placement(session, [event])


async def on_candidates_ready_for_placement(
    session: AsyncSession, events: list[CandidateReadyForPlacement]
) -> None:
    """`on_candidate_ready_for_placement` for a batch: the latest readiness of each candidate,
    inserted together for candidates not known yet, updated one by one for the others. A
    readiness that must wait or is refused raises before anything is written; the consumer then
    handles the batch again message by message, so only that one waits or is dead-lettered."""
    held: dict[uuid.UUID, list[tuple[str | None, uuid.UUID | None]]] = {}
    for candidate_id, agency, journey_id in await session.execute(
        select(
            candidate_certificates.c.candidate_id,
            candidate_certificates.c.agency,
            candidate_certificates.c.journey_id,
        ).where(candidate_certificates.c.candidate_id.in_([e.candidate_id for e in events]))
    ):
        held.setdefault(candidate_id, []).append((agency, journey_id))
    for event in events:
        require_certificate_of_journey(event, held.get(event.candidate_id, []))
    latest: dict[uuid.UUID, dict[str, Any]] = {}
    for event in events:
        values = _readiness(event)
        current = latest.get(event.candidate_id)
        if current is None or current["ready_at"] < values["ready_at"]:
            latest[event.candidate_id] = values
    known = set(
        await session.scalars(
            select(ready_candidates.c.candidate_id).where(
                ready_candidates.c.candidate_id.in_(list(latest))
            )
        )
    )
    new = [
        {"candidate_id": candidate_id, **values}
        for candidate_id, values in latest.items()
        if candidate_id not in known
    ]
    if new:
        await session.execute(insert(ready_candidates), new)
    for candidate_id in known:
        values = latest[candidate_id]
        await session.execute(
            update(ready_candidates)
            .where(
                ready_candidates.c.candidate_id == candidate_id,
                ready_candidates.c.ready_at < values["ready_at"],
            )
            .values(**values)
        )


def require_certificate_of_journey(
    event: CandidateReadyForPlacement, certificates: list[tuple[str | None, uuid.UUID | None]]
) -> None:
    """Raise unless one of the candidate's `certificates` (agency and journey of each held
    certificate; None for one held before they were kept) is of the readiness's journey."""
    if not certificates:
        raise RetryLater(
            f"candidate {event.candidate_id}: placement holds none of their certificates yet"
            " (CertificatePassed first)"
        )
    if not any(
        agency in (None, event.agency) and journey in (None, event.journey_id)
        for agency, journey in certificates
    ):
        agencies = ", ".join(sorted({str(agency) for agency, _ in certificates}))
        raise Unprocessable(
            f"journey_mismatch: CandidateReadyForPlacement of candidate {event.candidate_id}"
            f" names agency {event.agency} and journey {event.journey_id}, but every certificate"
            f" placement holds for the candidate is of another (agency {agencies}); a forged or"
            " broken event, not handled"
        )


def _readiness(event: CandidateReadyForPlacement) -> dict[str, Any]:
    return {
        "journey_id": event.journey_id,
        "agency": event.agency,
        "track": event.track.value,
        "sector": normalise_sector(event.sector),
        "language_level": event.language_level,
        "ready_at": event.occurred_at.astimezone(UTC),
        "daily_score_average": event.daily_score_average,
    }


async def on_certificate_passed(session: AsyncSession, event: CertificatePassed) -> None:
    """Keep the certificates a candidate holds, for orders that require some."""
    await on_certificates_passed(session, [event])


async def on_certificates_passed(session: AsyncSession, events: list[CertificatePassed]) -> None:
    """`on_certificate_passed` for a batch: one query for what is known, one insert."""
    known = set(
        await session.scalars(
            select(candidate_certificates.c.certificate_id).where(
                candidate_certificates.c.certificate_id.in_([e.certificate_id for e in events])
            )
        )
    )
    rows = []
    for event in events:
        if event.certificate_id in known:
            continue
        known.add(event.certificate_id)
        rows.append(
            {
                "certificate_id": event.certificate_id,
                "candidate_id": event.candidate_id,
                "test": event.test.value,
                "sector": normalise_sector(event.sector) if event.sector else None,
                "level": event.level,
                "passed_on": event.passed_on,
                "agency": event.agency,
                "journey_id": event.journey_id,
            }
        )
    if rows:
        await session.execute(insert(candidate_certificates), rows)


# --- job orders -----------------------------------------------------------------------------


async def open_job_order(session: AsyncSession, command: OpenJobOrder, now: datetime) -> uuid.UUID:
    decision = check_job_order(command)
    if not decision.accepted:
        raise RuleViolation(
            "job_order_refused",
            "; ".join(check.message for check in decision.failures),
            {"checks": [check.__dict__ for check in decision.checks]},
        )
    order_id = uuid.uuid4()
    await session.execute(
        insert(job_orders).values(
            id=order_id,
            employer=command.employer.strip(),
            supervising_organisation=command.supervising_organisation.strip(),
            prefecture=command.prefecture.strip(),
            sector=normalise_sector(command.sector),
            track=command.track.value,
            slots=command.slots,
            filled=0,
            monthly_wage_jpy=command.monthly_wage_jpy,
            contract_months=command.contract_months,
            minimum_language_level=command.minimum_language_level.value,
            required_certificates=sorted({test.value for test in command.required_certificates}),
            interview_date=command.interview_date,
            opened_at=now,
        )
    )
    return order_id


async def close_job_order(
    session: AsyncSession, order_id: uuid.UUID, reason: str, now: datetime
) -> dict[str, Any]:
    ensure_can_close(_job_order(await _job_order_row(session, order_id)), reason)
    closed = await session.execute(
        update(job_orders)
        .where(job_orders.c.id == order_id, job_orders.c.closed_at.is_(None))
        .values(closed_at=now, close_reason=reason.strip())
    )
    if cast(CursorResult[Any], closed).rowcount != 1:
        raise Conflict("order_closed", f"job order {order_id} was closed a moment ago")
    return await get_job_order(session, order_id)


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


# --- matching -------------------------------------------------------------------------------


async def match_candidates(
    session: AsyncSession, order_id: uuid.UUID, today: date, limit: int, agency: str | None = None
) -> dict[str, Any]:
    """Ready candidates of the order's track and sector (of one agency, when given), ranked; the
    others are not considered."""
    order = _job_order(await _job_order_row(session, order_id))
    query = select(ready_candidates).where(
        ready_candidates.c.track == order.track.value,
        ready_candidates.c.sector == order.sector,
    )
    if agency:
        query = query.where(ready_candidates.c.agency == agency)
    rows = (await session.execute(query)).all()
    candidates = [await _with_certificates(session, row) for row in rows]
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


async def set_commitment(
    session: AsyncSession, candidate_id: uuid.UUID, months_willing_to_stay: int
) -> dict[str, Any]:
    recorded = await session.execute(
        update(ready_candidates)
        .where(ready_candidates.c.candidate_id == candidate_id)
        .values(months_willing_to_stay=months_willing_to_stay)
    )
    if cast(CursorResult[Any], recorded).rowcount != 1:
        raise NotFound("ready candidate", candidate_id)
    return await get_ready_candidate(session, candidate_id)


# --- a candidate's path on an order ---------------------------------------------------------


async def shortlist_candidate(
    session: AsyncSession,
    order_id: uuid.UUID,
    candidate_id: uuid.UUID,
    on: date,
    now: datetime,
) -> dict[str, Any]:
    order_row = await _job_order_row(session, order_id)
    order = _job_order(order_row)
    candidate = await _ready_candidate(session, candidate_id)
    ensure_fits(candidate, order)
    ensure_open_for_candidates(order)
    await _ensure_holds_no_slot(session, candidate_id)
    placement_id = await _start_path(
        session, order, candidate, PlacementStatus.SHORTLISTED, on, now
    )
    await add_to_outbox(
        session,
        CandidateShortlisted(
            **_envelope(candidate.agency, candidate.journey_id),
            placement_id=placement_id,
            candidate_id=candidate_id,
            job_order_id=order_id,
            track=order.track,
            sector=order.sector,
            shortlisted_on=on,
        ),
    )
    return await get_placement(session, placement_id)


async def record_interview(
    session: AsyncSession, placement_id: uuid.UUID, passed: bool, on: date, now: datetime
) -> dict[str, Any]:
    step = Step.PASS_INTERVIEW if passed else Step.FAIL_INTERVIEW
    placement = await _advance(session, placement_id, step, on, now)
    await add_to_outbox(
        session,
        CandidateInterviewed(
            **_envelope(placement["agency"], placement["journey_id"]),
            placement_id=placement_id,
            candidate_id=placement["candidate_id"],
            job_order_id=placement["job_order_id"],
            interviewed_on=on,
            passed=passed,
        ),
    )
    return placement


async def make_offer(
    session: AsyncSession, placement_id: uuid.UUID, on: date, now: datetime
) -> dict[str, Any]:
    current = await get_placement(session, placement_id)
    next_status(placement_id, PlacementStatus(current["status"]), Step.OFFER)
    ensure_open_for_candidates(_job_order(await _job_order_row(session, current["job_order_id"])))
    placement = await _advance(session, placement_id, Step.OFFER, on, now)
    await add_to_outbox(
        session,
        CandidateOffered(
            **_envelope(placement["agency"], placement["journey_id"]),
            placement_id=placement_id,
            candidate_id=placement["candidate_id"],
            job_order_id=placement["job_order_id"],
            offered_on=on,
            monthly_wage_jpy=placement["monthly_wage_jpy"],
            contract_months=placement["contract_months"],
        ),
    )
    return placement


async def sign_contract(
    session: AsyncSession, placement_id: uuid.UUID, on: date, now: datetime
) -> dict[str, Any]:
    """Signing takes the slot: the step financing hears of as CandidatePlaced."""
    current = await get_placement(session, placement_id)
    order = _job_order(await _job_order_row(session, current["job_order_id"]))
    next_status(placement_id, PlacementStatus(current["status"]), Step.SIGN_CONTRACT)
    await _ensure_holds_no_slot(session, current["candidate_id"])
    await _claim_slot(session, order)
    try:
        async with session.begin_nested():
            placement = await _advance(
                session, placement_id, Step.SIGN_CONTRACT, on, now, placed_at=now
            )
    except IntegrityError:
        await _ensure_holds_no_slot(session, current["candidate_id"])
        raise
    await add_to_outbox(session, _candidate_placed(placement, on))
    return placement


async def place_candidate(
    session: AsyncSession, order_id: uuid.UUID, candidate_id: uuid.UUID, now: datetime
) -> dict[str, Any]:
    """A contract signed without the steps before it: the slot is taken at once."""
    order = _job_order(await _job_order_row(session, order_id))
    candidate = await _ready_candidate(session, candidate_id)
    await _ensure_holds_no_slot(session, candidate_id)
    ensure_fits(candidate, order)
    await _claim_slot(session, order)
    placement_id = await _start_path(
        session, order, candidate, PlacementStatus.PLACED, now.date(), now, placed_at=now
    )
    placement = await get_placement(session, placement_id)
    await add_to_outbox(session, _candidate_placed(placement, now.date()))
    return placement


async def issue_coe(
    session: AsyncSession, placement_id: uuid.UUID, on: date, now: datetime
) -> dict[str, Any]:
    placement = await _advance(session, placement_id, Step.ISSUE_COE, on, now)
    await add_to_outbox(
        session,
        CertificateOfEligibilityIssued(
            **_envelope(placement["agency"], placement["journey_id"]),
            placement_id=placement_id,
            candidate_id=placement["candidate_id"],
            issued_on=on,
        ),
    )
    return placement


async def issue_visa(
    session: AsyncSession, placement_id: uuid.UUID, on: date, now: datetime
) -> dict[str, Any]:
    placement = await _advance(session, placement_id, Step.ISSUE_VISA, on, now)
    await add_to_outbox(
        session,
        VisaIssued(
            **_envelope(placement["agency"], placement["journey_id"]),
            placement_id=placement_id,
            candidate_id=placement["candidate_id"],
            issued_on=on,
        ),
    )
    return placement


async def record_departure(
    session: AsyncSession, placement_id: uuid.UUID, departure_date: date, now: datetime
) -> dict[str, Any]:
    placement = await _advance(
        session, placement_id, Step.DEPART, departure_date, now, departure_date=departure_date
    )
    await add_to_outbox(
        session,
        Departed(
            **_envelope(placement["agency"], placement["journey_id"]),
            placement_id=placement_id,
            candidate_id=placement["candidate_id"],
            departure_date=departure_date,
            monthly_wage_jpy=placement["monthly_wage_jpy"],
            contract_months=placement["contract_months"],
        ),
    )
    return placement


async def record_early_return(
    session: AsyncSession,
    placement_id: uuid.UUID,
    return_date: date,
    reason: EarlyReturnReason,
    now: datetime,
) -> dict[str, Any]:
    current = await get_placement(session, placement_id)
    next_status(placement_id, PlacementStatus(current["status"]), Step.RETURN_EARLY)
    departure_date: date = current["departure_date"]
    ensure_dated_in_order(Step.RETURN_EARLY, return_date, departure_date)
    ensure_return_is_early(departure_date, return_date, current["contract_months"])
    placement = await _advance(
        session, placement_id, Step.RETURN_EARLY, return_date, now, detail=reason.value
    )
    await add_to_outbox(
        session,
        EarlyReturned(
            **_envelope(placement["agency"], placement["journey_id"]),
            placement_id=placement_id,
            candidate_id=placement["candidate_id"],
            return_date=return_date,
            reason=reason,
            months_worked=months_worked(departure_date, return_date),
        ),
    )
    return placement


async def get_placement(session: AsyncSession, placement_id: uuid.UUID) -> dict[str, Any]:
    row = (
        await session.execute(_placements_query().where(placements.c.id == placement_id))
    ).first()
    if row is None:
        raise NotFound("placement", placement_id)
    return await _placement_view(session, row)


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
    return [await _placement_view(session, row) for row in rows]


# --- ready candidates -----------------------------------------------------------------------


async def get_ready_candidate(session: AsyncSession, candidate_id: uuid.UUID) -> dict[str, Any]:
    row = (
        await session.execute(
            select(ready_candidates).where(ready_candidates.c.candidate_id == candidate_id)
        )
    ).first()
    if row is None:
        raise NotFound("ready candidate", candidate_id)
    return await _ready_candidate_view(session, row)


async def list_ready_candidates(
    session: AsyncSession,
    sector: str | None,
    track: Track | None,
    limit: int,
    offset: int,
    agency: str | None = None,
) -> list[dict[str, Any]]:
    query = select(ready_candidates).order_by(
        ready_candidates.c.ready_at, ready_candidates.c.candidate_id
    )
    if agency:
        query = query.where(ready_candidates.c.agency == agency)
    if sector:
        query = query.where(ready_candidates.c.sector == normalise_sector(sector))
    if track:
        query = query.where(ready_candidates.c.track == track.value)
    rows = (await session.execute(query.limit(limit).offset(offset))).all()
    return [await _ready_candidate_view(session, row) for row in rows]


# --- helpers --------------------------------------------------------------------------------


def _envelope(agency: str, journey_id: uuid.UUID) -> dict[str, Any]:
    """Placement events travel under the candidate's agency and journey."""
    return {"agency": agency, "journey_id": journey_id}


def _candidate_placed(placement: dict[str, Any], signed_on: date) -> CandidatePlaced:
    return CandidatePlaced(
        **_envelope(placement["agency"], placement["journey_id"]),
        placement_id=placement["id"],
        candidate_id=placement["candidate_id"],
        job_order_id=placement["job_order_id"],
        track=placement["track"],
        sector=placement["sector"],
        supervising_organisation=placement["supervising_organisation"],
        monthly_wage_jpy=placement["monthly_wage_jpy"],
        contract_months=placement["contract_months"],
        contract_signed_on=signed_on,
    )


async def _start_path(
    session: AsyncSession,
    order: JobOrder,
    candidate: ReadyCandidate,
    status: PlacementStatus,
    on: date,
    now: datetime,
    placed_at: datetime | None = None,
) -> uuid.UUID:
    placement_id = uuid.uuid4()
    try:
        async with session.begin_nested():
            await session.execute(
                insert(placements).values(
                    id=placement_id,
                    job_order_id=order.id,
                    candidate_id=candidate.candidate_id,
                    journey_id=candidate.journey_id,
                    agency=candidate.agency,
                    status=status.value,
                    started_at=now,
                    placed_at=placed_at,
                )
            )
    except IntegrityError:
        # Another request put the same candidate on a path a moment ago.
        await _ensure_holds_no_slot(session, candidate.candidate_id)
        await _ensure_not_on_order(session, order.id, candidate.candidate_id)
        raise
    await _record_step(session, placement_id, status, on, now)
    return placement_id


async def _advance(
    session: AsyncSession,
    placement_id: uuid.UUID,
    step: Step,
    on: date,
    now: datetime,
    detail: str | None = None,
    **values: Any,
) -> dict[str, Any]:
    """Move the placement one step along the table in `journey`, dated `on`."""
    current = await get_placement(session, placement_id)
    status = PlacementStatus(current["status"])
    target = next_status(placement_id, status, step)
    ensure_dated_in_order(step, on, current["steps"][-1]["happened_on"])
    moved = await session.execute(
        update(placements)
        .where(placements.c.id == placement_id, placements.c.status == status.value)
        .values(status=target.value, **values)
    )
    if cast(CursorResult[Any], moved).rowcount != 1:
        raise Conflict(
            "placement_changed",
            f"placement {placement_id} changed while this step was recorded; look and try again",
            placement_id=str(placement_id),
        )
    await _record_step(session, placement_id, target, on, now, detail)
    return await get_placement(session, placement_id)


async def _record_step(
    session: AsyncSession,
    placement_id: uuid.UUID,
    status: PlacementStatus,
    on: date,
    now: datetime,
    detail: str | None = None,
) -> None:
    await session.execute(
        insert(placement_steps).values(
            placement_id=placement_id,
            status=status.value,
            happened_on=on,
            recorded_at=now,
            detail=detail,
        )
    )


async def _claim_slot(session: AsyncSession, order: JobOrder) -> None:
    ensure_open_for_candidates(order)
    # The check above read a snapshot; this conditional UPDATE is what keeps concurrent requests
    # from taking more slots than the order has, or a slot of an order closed meanwhile.
    claimed = await session.execute(
        update(job_orders)
        .where(
            job_orders.c.id == order.id,
            job_orders.c.filled < job_orders.c.slots,
            job_orders.c.closed_at.is_(None),
        )
        .values(filled=job_orders.c.filled + 1)
    )
    if cast(CursorResult[Any], claimed).rowcount != 1:
        ensure_open_for_candidates(_job_order(await _job_order_row(session, order.id)))
        raise order_full(order.id, order.slots)


async def _ensure_holds_no_slot(session: AsyncSession, candidate_id: uuid.UUID) -> None:
    existing = await session.scalar(
        select(placements.c.id).where(
            placements.c.candidate_id == candidate_id,
            placements.c.status.in_([status.value for status in SLOT_HOLDING_STATUSES]),
        )
    )
    if existing is not None:
        raise one_active_placement(candidate_id, existing)


async def _ensure_not_on_order(
    session: AsyncSession, order_id: uuid.UUID, candidate_id: uuid.UUID
) -> None:
    existing = await session.scalar(
        select(placements.c.id).where(
            placements.c.job_order_id == order_id,
            placements.c.candidate_id == candidate_id,
            placements.c.status.not_in([status.value for status in ENDED_STATUSES]),
        )
    )
    if existing is not None:
        raise already_on_order(candidate_id, order_id, existing)


async def _unavailable(
    session: AsyncSession, order_id: uuid.UUID, candidates: list[ReadyCandidate]
) -> dict[uuid.UUID, tuple[str, str]]:
    """Candidates who fit but cannot be put forward: on a path of this order, or holding a
    slot elsewhere."""
    ids = [candidate.candidate_id for candidate in candidates]
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
    unavailable: dict[uuid.UUID, tuple[str, str]] = {}
    for row in rows:
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


async def _ready_candidate(session: AsyncSession, candidate_id: uuid.UUID) -> ReadyCandidate:
    row = (
        await session.execute(
            select(ready_candidates).where(ready_candidates.c.candidate_id == candidate_id)
        )
    ).first()
    if row is None:
        raise not_ready(candidate_id)
    return await _with_certificates(session, row)


async def _with_certificates(session: AsyncSession, row: Any) -> ReadyCandidate:
    held = (
        await session.execute(
            select(candidate_certificates.c.test, candidate_certificates.c.sector).where(
                candidate_certificates.c.candidate_id == row.candidate_id
            )
        )
    ).all()
    return ReadyCandidate(
        candidate_id=row.candidate_id,
        journey_id=row.journey_id,
        agency=row.agency,
        track=Track(row.track),
        sector=row.sector,
        language_level=row.language_level,
        ready_on=row.ready_at.date(),
        certificates=frozenset(HeldCertificate(TestKind(c.test), c.sector) for c in held),
        daily_score_average=row.daily_score_average,
        months_willing_to_stay=row.months_willing_to_stay,
    )


def _job_order(row: Any) -> JobOrder:
    return JobOrder(
        id=row.id,
        sector=row.sector,
        track=Track(row.track),
        slots=row.slots,
        filled=row.filled,
        contract_months=row.contract_months,
        minimum_language_level=LanguageLevel(row.minimum_language_level),
        required_certificates=frozenset(TestKind(test) for test in row.required_certificates),
        closed=row.closed_at is not None,
    )


def _job_order_view(row: Any) -> dict[str, Any]:
    order = _job_order(row)
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


async def _ready_candidate_view(session: AsyncSession, row: Any) -> dict[str, Any]:
    certificates = (
        await session.scalars(
            select(candidate_certificates.c.test)
            .where(candidate_certificates.c.candidate_id == row.candidate_id)
            .order_by(candidate_certificates.c.passed_on)
        )
    ).all()
    return dict(row._mapping) | {"certificates": list(dict.fromkeys(certificates))}


async def _placement_view(session: AsyncSession, row: Any) -> dict[str, Any]:
    steps = (
        await session.execute(
            select(
                placement_steps.c.status, placement_steps.c.happened_on, placement_steps.c.detail
            )
            .where(placement_steps.c.placement_id == row.id)
            .order_by(placement_steps.c.happened_on, placement_steps.c.recorded_at)
        )
    ).all()
    return dict(row._mapping) | {"steps": [dict(step._mapping) for step in steps]}


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
