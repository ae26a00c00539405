from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from jembatan_contracts import AGENCY_PATTERN
from jembatan_kit.auth import CurrentCaller, agency_filter, current_caller, require_agency
from jembatan_kit.bodies import CommandBody
from jembatan_kit.runtime import Runtime

from ..adapters.repository import TrainingRepository
from ..config import TrainingSettings
from ..domain.cohorts import DEFAULT_CAPACITY, CreateCohort, Mode, Stage
from ..domain.commands import AssignMember, LeaveCohort
from ..service_layer import handlers, queries
from ..service_layer.outcomes import only
from .scope import authorise_candidate, authorise_cohort

router = APIRouter(tags=["cohorts"], dependencies=[Depends(current_caller)])


def get_settings(runtime: Runtime) -> TrainingSettings:
    assert isinstance(runtime.settings, TrainingSettings)
    return runtime.settings


Settings = Annotated[TrainingSettings, Depends(get_settings)]


class StageRequest(CommandBody):
    centre: str = Field(max_length=120, examples=["BPVP Samarinda"])
    starts_on: date
    ends_on: date


class CohortRequest(CommandBody):
    agency: str | None = Field(
        default=None,
        pattern=AGENCY_PATTERN,
        description="The agency that owns the cohort; the caller's agency when not given.",
    )
    training_centre: str = Field(max_length=120, examples=["BPVP Samarinda"])
    name: str = Field(max_length=120, examples=["Kelas Jepang 2026-A"])
    mode: Mode
    capacity: int = Field(default=DEFAULT_CAPACITY, ge=1, le=500)
    sector: str | None = Field(default=None, max_length=40, examples=["caregiver"])
    stages: list[StageRequest] = Field(
        min_length=1, description="In order, without overlap, e.g. 3 months at each centre."
    )


class StageView(BaseModel):
    centre: str
    starts_on: date
    ends_on: date


class CohortView(BaseModel):
    cohort_id: uuid.UUID
    agency: str
    training_centre: str
    name: str
    mode: str
    sector: str | None
    capacity: int
    member_count: int
    seats_left: int
    starts_on: date | None
    ends_on: date | None
    stages: list[StageView]
    created_at: datetime


class MemberView(BaseModel):
    candidate_id: uuid.UUID
    joined_at: datetime


class FormerMemberView(MemberView):
    left_at: datetime
    left_reason: str = Field(description="left, moved or withdrawn")


class CohortDetailView(CohortView):
    members: list[MemberView]
    former_members: list[FormerMemberView]


class MemberRequest(CommandBody):
    candidate_id: uuid.UUID
    move: bool = Field(
        default=False,
        description="Move the candidate out of their current cohort into this one. Without it, "
        "a candidate already in another cohort is refused.",
    )


class BelowTargetView(BaseModel):
    candidate_id: uuid.UUID
    average: float
    scores: int = Field(description="How many recent scores the average is over.")


class MemberScoreView(BaseModel):
    candidate_id: uuid.UUID
    score: int
    recorded_at: datetime


class CohortDayScoresView(BaseModel):
    cohort_id: uuid.UUID
    day: date
    scores: list[MemberScoreView] = Field(
        description="Current members scored that day, in the order they joined."
    )


class EarlyWarningView(BaseModel):
    cohort_id: uuid.UUID
    target: int
    window: int
    below_target: list[BelowTargetView]
    without_scores: list[uuid.UUID]


@router.post("/cohorts", status_code=201, response_model=CohortDetailView)
async def create_cohort(
    body: CohortRequest, runtime: Runtime, caller: CurrentCaller
) -> dict[str, object]:
    agency = body.agency or caller.agency
    require_agency(caller, agency, f"a cohort of agency {agency}")
    command = CreateCohort(
        agency=agency,
        training_centre=body.training_centre,
        name=body.name,
        mode=body.mode,
        capacity=body.capacity,
        sector=body.sector,
        stages=[Stage(**stage.model_dump()) for stage in body.stages],
    )
    async with runtime.unit_of_work() as session:
        cohort_id = only(
            await handlers.create_cohorts([command], TrainingRepository(session), runtime.clock)
        )
        return await queries.get_cohort(session, cohort_id)


@router.get("/cohorts", response_model=list[CohortView])
async def list_cohorts(
    runtime: Runtime,
    caller: CurrentCaller,
    agency: str | None = None,
    training_centre: str | None = None,
    sector: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[dict[str, object]]:
    scope = agency_filter(caller, agency)
    async with runtime.sessions() as session:
        return await queries.list_cohorts(
            session, training_centre, sector, limit, offset, agency=scope
        )


@router.get("/cohorts/{cohort_id}", response_model=CohortDetailView)
async def get_cohort(
    cohort_id: uuid.UUID, runtime: Runtime, caller: CurrentCaller
) -> dict[str, object]:
    async with runtime.sessions() as session:
        await authorise_cohort(session, caller, cohort_id)
        return await queries.get_cohort(session, cohort_id)


@router.post("/cohorts/{cohort_id}/members", status_code=201, response_model=CohortDetailView)
async def assign_member(
    cohort_id: uuid.UUID, body: MemberRequest, runtime: Runtime, caller: CurrentCaller
) -> dict[str, object]:
    async with runtime.unit_of_work() as session:
        await authorise_cohort(session, caller, cohort_id)
        await authorise_candidate(session, caller, body.candidate_id)
        only(
            await handlers.assign_members(
                [AssignMember(cohort_id, body.candidate_id, body.move)],
                TrainingRepository(session),
                runtime.clock,
            )
        )
    async with runtime.sessions() as session:
        return await queries.get_cohort(session, cohort_id)


@router.delete(
    "/cohorts/{cohort_id}/members/{candidate_id}", summary="The candidate leaves the cohort"
)
async def leave_cohort(
    cohort_id: uuid.UUID, candidate_id: uuid.UUID, runtime: Runtime, caller: CurrentCaller
) -> dict[str, str]:
    async with runtime.unit_of_work() as session:
        await authorise_cohort(session, caller, cohort_id)
        await authorise_candidate(session, caller, candidate_id)
        only(
            await handlers.leave_cohorts(
                [LeaveCohort(cohort_id, candidate_id)], TrainingRepository(session), runtime.clock
            )
        )
    return {"cohort_id": str(cohort_id), "candidate_id": str(candidate_id), "status": "left"}


@router.get(
    "/cohorts/{cohort_id}/daily-scores",
    response_model=CohortDayScoresView,
    summary="A day's scores of the cohort's members, as a class grid shows them",
)
async def cohort_day_scores(
    cohort_id: uuid.UUID, day: date, runtime: Runtime, caller: CurrentCaller
) -> dict[str, object]:
    async with runtime.sessions() as session:
        await authorise_cohort(session, caller, cohort_id)
        return await queries.cohort_day_scores(session, cohort_id, day)


@router.get(
    "/cohorts/{cohort_id}/early-warning",
    response_model=EarlyWarningView,
    summary="Members whose recent daily scores average below the target",
)
async def early_warning(
    cohort_id: uuid.UUID, runtime: Runtime, settings: Settings, caller: CurrentCaller
) -> dict[str, object]:
    async with runtime.sessions() as session:
        await authorise_cohort(session, caller, cohort_id)
        return await queries.early_warning(
            session,
            cohort_id,
            settings.daily_score_target,
            settings.early_warning_window_days,
        )
