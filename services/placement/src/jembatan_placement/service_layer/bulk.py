"""Many contracts, or many steps after the contract, in one transaction.

The rules are those of the single calls in `handlers` (`place_candidate`, `issue_coe`,
`issue_visa`, `record_departure`), applied row by row in the order given, with the same refusals.
What differs is the work on the database: what all the rows need is read in a few queries, the
rules run in memory, and the writes go out together, so a thousand rows cost a handful of
statements instead of several per row.

The reads are a snapshot. The writes are conditional (a slot claim that needs the slots to be
free, a status change that needs the status read), so if a concurrent request changed what was
read, `ChangedMeanwhile` is raised: the caller rolls back and takes the row-by-row path, which
sees the change and refuses or accepts each row exactly as a single call would.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import CursorResult, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from jembatan_contracts import (
    CertificateOfEligibilityIssued,
    Departed,
    Event,
    TestKind,
    Track,
    VisaIssued,
)
from jembatan_kit.auth import Caller, require_agency
from jembatan_kit.errors import NotFound, RuleViolation
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
    next_status,
)
from ..domain.matching import ensure_fits
from ..domain.model import (
    HeldCertificate,
    ReadyCandidate,
    already_on_order,
    ensure_open_for_candidates,
    not_ready,
    one_active_placement,
)
from .handlers import (
    _candidate_placed,
    _envelope,
    _job_order,
    _job_order_row,
    _placements_query,
)


class ChangedMeanwhile(Exception):
    """A concurrent request changed rows this one had read; do it again row by row."""


@dataclass(frozen=True)
class RowOutcome:
    placement_id: uuid.UUID | None = None
    candidate_id: uuid.UUID | None = None
    refusal: RuleViolation | None = None


async def place_many(
    session: AsyncSession,
    caller: Caller,
    order_id: uuid.UUID,
    candidate_ids: Sequence[uuid.UUID],
    now: datetime,
) -> list[RowOutcome]:
    """Contracts signed directly on one order (as `handlers.place_candidate`), one per row, each
    for a candidate of the caller's agency (or any, for Kemnaker)."""
    try:
        order_row = await _job_order_row(session, order_id)
    except NotFound as missing:
        return [RowOutcome(candidate_id=candidate, refusal=missing) for candidate in candidate_ids]
    order = _job_order(order_row)
    ids = list(dict.fromkeys(candidate_ids))
    ready = await _ready_candidates(session, ids)
    holding, on_order = await _current_placements(session, order_id, ids)

    outcomes: list[RowOutcome] = []
    placement_rows: list[dict[str, Any]] = []
    for candidate_id in candidate_ids:
        placement_id = uuid.uuid4()
        try:
            candidate = ready.get(candidate_id)
            if candidate is not None:
                require_agency(caller, candidate.agency, f"candidate {candidate_id}")
            if candidate is None:
                raise not_ready(candidate_id)
            if candidate_id in holding:
                raise one_active_placement(candidate_id, holding[candidate_id])
            ensure_fits(candidate, order)
            ensure_open_for_candidates(order)
            if candidate_id in on_order:
                raise already_on_order(candidate_id, order_id, on_order[candidate_id])
        except RuleViolation as refusal:
            outcomes.append(RowOutcome(candidate_id=candidate_id, refusal=refusal))
            continue
        order = replace(order, filled=order.filled + 1)
        holding[candidate_id] = placement_id
        placement_rows.append(
            {
                "id": placement_id,
                "job_order_id": order_id,
                "candidate_id": candidate_id,
                "journey_id": candidate.journey_id,
                "agency": candidate.agency,
                "status": PlacementStatus.PLACED.value,
                "started_at": now,
                "placed_at": now,
            }
        )
        outcomes.append(RowOutcome(placement_id=placement_id, candidate_id=candidate_id))
    if not placement_rows:
        return outcomes

    await _claim_slots(session, order_id, len(placement_rows))
    await _insert(session, placements, placement_rows)
    await _insert(
        session,
        placement_steps,
        [
            {
                "placement_id": row["id"],
                "status": PlacementStatus.PLACED.value,
                "happened_on": now.date(),
                "recorded_at": now,
                "detail": None,
            }
            for row in placement_rows
        ],
    )
    await add_to_outbox(
        session,
        *(_candidate_placed(_placement_view(row, order_row), now.date()) for row in placement_rows),
    )
    return outcomes


StepEvent = Callable[[dict[str, Any], date], Event]

STEP_EVENTS: dict[Step, StepEvent] = {
    Step.ISSUE_COE: lambda placement, on: CertificateOfEligibilityIssued(
        **_envelope(placement["agency"], placement["journey_id"]),
        placement_id=placement["id"],
        candidate_id=placement["candidate_id"],
        issued_on=on,
    ),
    Step.ISSUE_VISA: lambda placement, on: VisaIssued(
        **_envelope(placement["agency"], placement["journey_id"]),
        placement_id=placement["id"],
        candidate_id=placement["candidate_id"],
        issued_on=on,
    ),
    Step.DEPART: lambda placement, on: Departed(
        **_envelope(placement["agency"], placement["journey_id"]),
        placement_id=placement["id"],
        candidate_id=placement["candidate_id"],
        departure_date=on,
        monthly_wage_jpy=placement["monthly_wage_jpy"],
        contract_months=placement["contract_months"],
    ),
}
"""The steps after the contract that can be recorded in bulk, and the event each stages."""


async def advance_many(
    session: AsyncSession,
    caller: Caller,
    steps: Sequence[tuple[uuid.UUID, Step, date]],
    now: datetime,
) -> list[RowOutcome]:
    """Steps after the contract (as `handlers.issue_coe`, `issue_visa`, `record_departure`),
    applied in the order given, so one placement may take several steps in one request; each
    on a placement of the caller's agency (or any, for Kemnaker)."""
    ids = list(dict.fromkeys(placement_id for placement_id, _, _ in steps))
    read = {
        row.id: dict(row._mapping)
        for row in await session.execute(_placements_query().where(placements.c.id.in_(ids)))
    }
    last_step_on = await _last_step_dates(session, list(read))
    current = {placement_id: dict(placement) for placement_id, placement in read.items()}

    outcomes: list[RowOutcome] = []
    step_rows: list[dict[str, Any]] = []
    events: list[Event] = []
    for placement_id, step, on in steps:
        try:
            placement = current.get(placement_id)
            if placement is not None:
                require_agency(caller, placement["agency"], f"placement {placement_id}")
            if placement is None:
                raise NotFound("placement", placement_id)
            target = next_status(placement_id, PlacementStatus(placement["status"]), step)
            ensure_dated_in_order(step, on, last_step_on[placement_id])
        except RuleViolation as refusal:
            outcomes.append(RowOutcome(placement_id=placement_id, refusal=refusal))
            continue
        placement["status"] = target.value
        if step is Step.DEPART:
            placement["departure_date"] = on
        last_step_on[placement_id] = on
        step_rows.append(
            {
                "placement_id": placement_id,
                "status": target.value,
                "happened_on": on,
                "recorded_at": now,
                "detail": None,
            }
        )
        events.append(STEP_EVENTS[step](placement, on))
        outcomes.append(RowOutcome(placement_id, placement["candidate_id"]))
    if not step_rows:
        return outcomes

    await _move(session, read, current)
    await _insert(session, placement_steps, step_rows)
    await add_to_outbox(session, *events)
    return outcomes


async def _ready_candidates(
    session: AsyncSession, ids: list[uuid.UUID]
) -> dict[uuid.UUID, ReadyCandidate]:
    rows = (
        await session.execute(
            select(ready_candidates).where(ready_candidates.c.candidate_id.in_(ids))
        )
    ).all()
    held: dict[uuid.UUID, set[HeldCertificate]] = {}
    for certificate in await session.execute(
        select(
            candidate_certificates.c.candidate_id,
            candidate_certificates.c.test,
            candidate_certificates.c.sector,
        ).where(candidate_certificates.c.candidate_id.in_(ids))
    ):
        held.setdefault(certificate.candidate_id, set()).add(
            HeldCertificate(TestKind(certificate.test), certificate.sector)
        )
    return {
        row.candidate_id: ReadyCandidate(
            candidate_id=row.candidate_id,
            journey_id=row.journey_id,
            agency=row.agency,
            track=Track(row.track),
            sector=row.sector,
            language_level=row.language_level,
            ready_on=row.ready_at.date(),
            certificates=frozenset(held.get(row.candidate_id, ())),
            daily_score_average=row.daily_score_average,
            months_willing_to_stay=row.months_willing_to_stay,
        )
        for row in rows
    }


async def _current_placements(
    session: AsyncSession, order_id: uuid.UUID, ids: list[uuid.UUID]
) -> tuple[dict[uuid.UUID, uuid.UUID], dict[uuid.UUID, uuid.UUID]]:
    """By candidate: the placement holding a slot anywhere; a live placement on this order."""
    holding: dict[uuid.UUID, uuid.UUID] = {}
    on_order: dict[uuid.UUID, uuid.UUID] = {}
    slot_holding = {status.value for status in SLOT_HOLDING_STATUSES}
    ended = {status.value for status in ENDED_STATUSES}
    for row in await session.execute(
        select(
            placements.c.id,
            placements.c.candidate_id,
            placements.c.job_order_id,
            placements.c.status,
        ).where(placements.c.candidate_id.in_(ids))
    ):
        if row.status in slot_holding:
            holding.setdefault(row.candidate_id, row.id)
        if row.job_order_id == order_id and row.status not in ended:
            on_order.setdefault(row.candidate_id, row.id)
    return holding, on_order


async def _claim_slots(session: AsyncSession, order_id: uuid.UUID, count: int) -> None:
    claimed = await session.execute(
        update(job_orders)
        .where(
            job_orders.c.id == order_id,
            job_orders.c.filled + count <= job_orders.c.slots,
            job_orders.c.closed_at.is_(None),
        )
        .values(filled=job_orders.c.filled + count)
    )
    if cast(CursorResult[Any], claimed).rowcount != 1:
        raise ChangedMeanwhile


async def _last_step_dates(session: AsyncSession, ids: list[uuid.UUID]) -> dict[uuid.UUID, date]:
    """The date of each placement's latest step (steps are dated in order)."""
    last: dict[uuid.UUID, date] = {}
    for row in await session.execute(
        select(placement_steps.c.placement_id, placement_steps.c.happened_on)
        .where(placement_steps.c.placement_id.in_(ids))
        .order_by(placement_steps.c.happened_on, placement_steps.c.recorded_at)
    ):
        last[row.placement_id] = row.happened_on
    return last


async def _move(
    session: AsyncSession,
    before: dict[uuid.UUID, dict[str, Any]],
    after: dict[uuid.UUID, dict[str, Any]],
) -> None:
    """Write the placements whose status changed, one UPDATE for each kind of change (from a
    status to a status, with the same departure date), each conditional on the status read."""
    changes: dict[tuple[str, tuple[tuple[str, Any], ...]], list[uuid.UUID]] = {}
    for placement_id, placement in after.items():
        was = before[placement_id]
        if placement["status"] == was["status"]:
            continue
        change = {"status": placement["status"]}
        if placement["departure_date"] != was["departure_date"]:
            change["departure_date"] = placement["departure_date"]
        changes.setdefault((was["status"], tuple(change.items())), []).append(placement_id)
    for (status, values), ids in changes.items():
        moved = await session.execute(
            update(placements)
            .where(placements.c.id.in_(ids), placements.c.status == status)
            .values(dict(values))
        )
        if cast(CursorResult[Any], moved).rowcount != len(ids):
            raise ChangedMeanwhile


async def _insert(session: AsyncSession, table: Any, rows: list[dict[str, Any]]) -> None:
    try:
        await session.execute(insert(table), rows)
    except IntegrityError as exc:
        raise ChangedMeanwhile from exc


def _placement_view(row: dict[str, Any], order_row: Any) -> dict[str, Any]:
    return {
        **row,
        "track": order_row.track,
        "sector": order_row.sector,
        "supervising_organisation": order_row.supervising_organisation,
        "monthly_wage_jpy": order_row.monthly_wage_jpy,
        "contract_months": order_row.contract_months,
    }
