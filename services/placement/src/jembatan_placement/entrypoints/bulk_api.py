"""Bulk calls for a supervising organisation that handles many candidates at once: contracts
signed on one job order, and the steps after the contract (Certificate of Eligibility, visa,
departure) for many placements.

The rows go to the same handlers as the single calls, as one list: judged by the same rules, in
the order given, staging the same events. A refused row never blocks the others, and the answer
names the rule each refused row broke.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from enum import StrEnum
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from jembatan_kit.auth import CurrentCaller
from jembatan_kit.bodies import CommandBody
from jembatan_kit.runtime import Runtime

from ..adapters.repository import SqlPlacementRepository
from ..domain.journey import Step
from ..domain.placement import AdvancePlacement, PlaceCandidate
from ..service_layer import handlers
from ..service_layer.outcomes import PlacementIds, Refused

router = APIRouter(tags=["bulk"])

MAX_ROWS = 1000


class BulkPlacementRequest(CommandBody):
    candidate_ids: list[uuid.UUID] = Field(
        min_length=1, max_length=MAX_ROWS, description="Candidates whose contracts were signed"
    )


class BulkStep(StrEnum):
    CERTIFICATE_OF_ELIGIBILITY = "certificate-of-eligibility"
    VISA = "visa"
    DEPARTURE = "departure"


class StepRow(CommandBody):
    placement_id: uuid.UUID
    step: BulkStep
    on: date = Field(description="The day of the step; for a departure, the departure date")


class BulkStepsRequest(CommandBody):
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
    commands = [PlaceCandidate(job_order_id, candidate) for candidate in body.candidate_ids]
    async with runtime.unit_of_work() as session:
        outcomes = await handlers.place_candidates(
            commands, SqlPlacementRepository(session), runtime.clock, caller
        )
    return _summary(outcomes, refused_ids=[{"candidate_id": c.candidate_id} for c in commands])


@router.post(
    "/placements/steps/bulk",
    response_model=BulkOutcome,
    summary="Record Certificates of Eligibility, visas and departures for many placements",
)
async def record_steps(
    body: BulkStepsRequest, runtime: Runtime, caller: CurrentCaller
) -> dict[str, Any]:
    commands = [
        AdvancePlacement(row.placement_id, _STEP_OF[row.step], row.on) for row in body.steps
    ]
    async with runtime.unit_of_work() as session:
        outcomes = await handlers.advance_placements(
            commands, SqlPlacementRepository(session), runtime.clock, caller
        )
    return _summary(outcomes, refused_ids=[{"placement_id": c.placement_id} for c in commands])


_STEP_OF = {
    BulkStep.CERTIFICATE_OF_ELIGIBILITY: Step.ISSUE_COE,
    BulkStep.VISA: Step.ISSUE_VISA,
    BulkStep.DEPARTURE: Step.DEPART,
}


def _summary(
    outcomes: Sequence[PlacementIds | Refused], refused_ids: list[dict[str, uuid.UUID]]
) -> dict[str, Any]:
    """The answer to each row, numbered from 1; a refused row keeps the id it was sent with."""
    rows: list[dict[str, Any]] = []
    for number, (outcome, sent) in enumerate(zip(outcomes, refused_ids, strict=True), start=1):
        row: dict[str, Any] = {"row": number, "placement_id": None, "candidate_id": None}
        if isinstance(outcome, Refused):
            rows.append(
                row
                | sent
                | {
                    "status": "refused",
                    "error": outcome.refusal.rule,
                    "message": outcome.refusal.message,
                }
            )
        else:
            rows.append(
                row
                | {
                    "status": "accepted",
                    "placement_id": outcome.placement_id,
                    "candidate_id": outcome.candidate_id,
                }
            )
    accepted = sum(1 for row in rows if row["status"] == "accepted")
    return {"accepted": accepted, "refused": len(rows) - accepted, "rows": rows}
