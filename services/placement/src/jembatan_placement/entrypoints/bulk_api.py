"""Bulk calls for a supervising organisation that handles many candidates at once: contracts
signed on one job order, and the steps after the contract (Certificate of Eligibility, visa,
departure) for many placements.

The rows are judged by the same rules as the single calls and stage the same events; a refused row
never blocks the others, and the answer names the rule each refused row broke. The set-based path
(`service_layer.bulk`) does it in a few statements; if a concurrent request changed what it read,
the request is done again row by row, each row through the single call's use case in its own
savepoint.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import date
from enum import StrEnum
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from jembatan_kit.auth import CurrentCaller
from jembatan_kit.errors import RuleViolation
from jembatan_kit.runtime import Runtime

from ..domain.journey import Step
from ..service_layer import bulk, handlers
from .scope import authorise_candidate, authorise_placement

router = APIRouter(tags=["bulk"])

MAX_ROWS = 1000


class BulkPlacementRequest(BaseModel):
    candidate_ids: list[uuid.UUID] = Field(
        min_length=1, max_length=MAX_ROWS, description="Candidates whose contracts were signed"
    )


class BulkStep(StrEnum):
    CERTIFICATE_OF_ELIGIBILITY = "certificate-of-eligibility"
    VISA = "visa"
    DEPARTURE = "departure"


class StepRow(BaseModel):
    placement_id: uuid.UUID
    step: BulkStep
    on: date = Field(description="The day of the step; for a departure, the departure date")


class BulkStepsRequest(BaseModel):
    steps: list[StepRow] = Field(
        min_length=1,
        max_length=MAX_ROWS,
        description="Applied in the order given, so one placement's visa may follow its "
        "Certificate of Eligibility in the same request",
    )


class RowOutcome(BaseModel):
    row: int = Field(description="Position in the request, from 1")
    status: Literal["accepted", "refused"]
    placement_id: uuid.UUID | None = None
    candidate_id: uuid.UUID | None = None
    error: str | None = Field(default=None, description="The rule broken, when refused")
    message: str | None = None


class BulkOutcome(BaseModel):
    accepted: int
    refused: int
    rows: list[RowOutcome]


@router.post(
    "/job-orders/{job_order_id}/placements/bulk",
    response_model=BulkOutcome,
    summary="Record many signed contracts on one job order",
)
async def place_candidates(
    job_order_id: uuid.UUID, body: BulkPlacementRequest, runtime: Runtime, caller: CurrentCaller
) -> dict[str, Any]:
    now = runtime.clock.now()
    async with runtime.unit_of_work() as session:
        try:
            async with session.begin_nested():
                outcomes = await bulk.place_many(
                    session, caller, job_order_id, body.candidate_ids, now
                )
            return _summary([_outcome(number, o) for number, o in enumerate(outcomes, start=1)])
        except bulk.ChangedMeanwhile:
            pass
        rows = []
        for number, candidate_id in enumerate(body.candidate_ids, start=1):

            async def place(session: AsyncSession, candidate_id: uuid.UUID = candidate_id) -> Any:
                await authorise_candidate(session, caller, candidate_id)
                return await handlers.place_candidate(session, job_order_id, candidate_id, now)

            outcome = await _row(session, number, place)
            outcome.setdefault("candidate_id", candidate_id)
            rows.append(outcome)
    return _summary(rows)


@router.post(
    "/placements/steps/bulk",
    response_model=BulkOutcome,
    summary="Record Certificates of Eligibility, visas and departures for many placements",
)
async def record_steps(
    body: BulkStepsRequest, runtime: Runtime, caller: CurrentCaller
) -> dict[str, Any]:
    now = runtime.clock.now()
    async with runtime.unit_of_work() as session:
        try:
            async with session.begin_nested():
                outcomes = await bulk.advance_many(
                    session,
                    caller,
                    [(row.placement_id, _STEP_OF[row.step], row.on) for row in body.steps],
                    now,
                )
            return _summary([_outcome(number, o) for number, o in enumerate(outcomes, start=1)])
        except bulk.ChangedMeanwhile:
            pass
        rows = []
        for number, step in enumerate(body.steps, start=1):

            async def apply(session: AsyncSession, step: StepRow = step) -> Any:
                await authorise_placement(session, caller, step.placement_id)
                return await _STEPS[step.step](session, step.placement_id, step.on, now)

            outcome = await _row(session, number, apply)
            outcome.setdefault("placement_id", step.placement_id)
            rows.append(outcome)
    return _summary(rows)


_STEP_OF = {
    BulkStep.CERTIFICATE_OF_ELIGIBILITY: Step.ISSUE_COE,
    BulkStep.VISA: Step.ISSUE_VISA,
    BulkStep.DEPARTURE: Step.DEPART,
}
_STEPS: dict[BulkStep, Callable[..., Awaitable[dict[str, Any]]]] = {
    BulkStep.CERTIFICATE_OF_ELIGIBILITY: handlers.issue_coe,
    BulkStep.VISA: handlers.issue_visa,
    BulkStep.DEPARTURE: handlers.record_departure,
}


async def _row(
    session: AsyncSession, number: int, apply: Callable[[AsyncSession], Awaitable[Any]]
) -> dict[str, Any]:
    try:
        async with session.begin_nested():
            placement = await apply(session)
    except RuleViolation as exc:
        return {"row": number, "status": "refused", "error": exc.rule, "message": exc.message}
    return {
        "row": number,
        "status": "accepted",
        "placement_id": placement["id"],
        "candidate_id": placement["candidate_id"],
    }


def _outcome(number: int, outcome: bulk.RowOutcome) -> dict[str, Any]:
    row: dict[str, Any] = {
        "row": number,
        "placement_id": outcome.placement_id,
        "candidate_id": outcome.candidate_id,
    }
    if outcome.refusal is None:
        return row | {"status": "accepted"}
    return row | {
        "status": "refused",
        "error": outcome.refusal.rule,
        "message": outcome.refusal.message,
    }


def _summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    accepted = sum(1 for row in rows if row["status"] == "accepted")
    return {"accepted": accepted, "refused": len(rows) - accepted, "rows": rows}
