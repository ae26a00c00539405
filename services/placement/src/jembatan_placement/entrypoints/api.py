from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import AfterValidator, BaseModel, Field

from jembatan_contracts import EarlyReturnReason, TestKind, Track
from jembatan_kit.auth import Caller, CurrentCaller, agency_filter, current_caller
from jembatan_kit.bodies import CommandBody
from jembatan_kit.runtime import Runtime

from ..adapters.repository import SqlPlacementRepository
from ..domain.journey import PlacementStatus, Step
from ..domain.model import (
    DEFAULT_MINIMUM_LANGUAGE_LEVEL,
    CloseJobOrder,
    JobOrderStatus,
    LanguageLevel,
    OpenJobOrder,
    RecordCommitment,
)
from ..domain.placement import AdvancePlacement, PlaceCandidate, ShortlistCandidate
from ..service_layer import handlers, queries
from ..service_layer.outcomes import raise_if_refused
from .scope import authorise_candidate, authorise_job_orders, authorise_placement

router = APIRouter(dependencies=[Depends(current_caller)])

Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0)]


def in_utc(moment: datetime) -> datetime:
    """Instants are stored in UTC; SQLite hands them back without their offset."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


Instant = Annotated[datetime, AfterValidator(in_utc)]
"""A timestamp in an answer, always with its UTC offset."""


class JobOrderRequest(CommandBody):
    employer: str = Field(max_length=200, examples=["Sakura Kaigo K.K."])
    supervising_organisation: str = Field(max_length=200, examples=["IM Japan", "JOE Cooperative"])
    prefecture: str = Field(max_length=40, examples=["Aichi"])
    sector: str = Field(max_length=40, examples=["caregiver", "automotive"])
    track: Track
    slots: int = Field(description="How many candidates the employer takes; more than zero")
    monthly_wage_jpy: int = Field(description="Gross monthly wage in JPY; more than zero")
    contract_months: int = Field(description="Contract length in months; more than zero")
    minimum_language_level: LanguageLevel = DEFAULT_MINIMUM_LANGUAGE_LEVEL
    required_certificates: list[TestKind] = Field(
        default_factory=list, examples=[["SSW_SKILL", "NURSING_CARE_JAPANESE"]]
    )
    interview_date: date | None = None


class JobOrderView(BaseModel):
    id: uuid.UUID
    employer: str
    supervising_organisation: str
    prefecture: str
    sector: str
    track: Track
    slots: int
    filled: int
    remaining: int
    status: JobOrderStatus
    monthly_wage_jpy: int
    contract_months: int
    minimum_language_level: LanguageLevel
    required_certificates: list[TestKind]
    interview_date: date | None
    opened_at: Instant
    closed_at: Instant | None
    close_reason: str | None


class CloseRequest(CommandBody):
    reason: str = Field(max_length=500, examples=["employer hired locally"])


class MatchView(BaseModel):
    candidate_id: uuid.UUID
    agency: str
    language_level: str
    score: float
    explanation: str


class ExclusionView(BaseModel):
    candidate_id: uuid.UUID
    rule: str
    reason: str


class MatchesView(BaseModel):
    job_order_id: uuid.UUID
    matches: list[MatchView]
    excluded: list[ExclusionView]


class PlacementRequest(CommandBody):
    candidate_id: uuid.UUID


class ShortlistRequest(CommandBody):
    candidate_id: uuid.UUID
    shortlisted_on: date | None = Field(default=None, description="Defaults to today")


class InterviewRequest(CommandBody):
    passed: bool
    interviewed_on: date | None = Field(default=None, description="Defaults to today")


class StepRequest(CommandBody):
    on: date | None = Field(default=None, description="The day it happened; defaults to today")


class DepartureRequest(CommandBody):
    departure_date: date


class EarlyReturnRequest(CommandBody):
    return_date: date
    reason: EarlyReturnReason


class StepView(BaseModel):
    status: PlacementStatus
    happened_on: date
    detail: str | None


class PlacementView(BaseModel):
    id: uuid.UUID
    job_order_id: uuid.UUID
    candidate_id: uuid.UUID
    journey_id: uuid.UUID
    agency: str
    status: PlacementStatus
    started_at: Instant
    placed_at: Instant | None = Field(description="When the contract was signed and the slot taken")
    departure_date: date | None
    employer: str
    supervising_organisation: str
    prefecture: str
    sector: str
    track: Track
    monthly_wage_jpy: int
    contract_months: int
    steps: list[StepView]


class CommitmentRequest(CommandBody):
    months_willing_to_stay: int = Field(
        ge=1, le=120, description="How long the candidate commits to work in Japan, in months"
    )


class ReadyCandidateView(BaseModel):
    candidate_id: uuid.UUID
    journey_id: uuid.UUID
    agency: str
    track: Track
    sector: str
    language_level: str
    ready_at: Instant
    daily_score_average: float | None
    months_willing_to_stay: int | None
    certificates: list[TestKind]
    withdrawn_on: date | None = Field(
        description="The day the candidate withdrew from the programme; nothing more may be "
        "done for them. Withdrawn candidates are left out of the list."
    )
    identity_hold: str | None = Field(
        default=None,
        description="duplicate or suspended while the national identity index holds the person "
        "for two active registrations: nothing may be done for them until it clears them. Held "
        "candidates are left out of the list and of the matches.",
    )


@router.post("/job-orders", status_code=201, response_model=JobOrderView, tags=["job orders"])
async def open_job_order(
    body: JobOrderRequest, runtime: Runtime, caller: CurrentCaller
) -> dict[str, object]:
    authorise_job_orders(caller, runtime)
    async with runtime.unit_of_work() as session:
        [opened] = await handlers.open_job_orders(
            [OpenJobOrder(**body.model_dump())], SqlPlacementRepository(session), runtime.clock
        )
        return await queries.get_job_order(session, raise_if_refused(opened))


@router.get("/job-orders", response_model=list[JobOrderView], tags=["job orders"])
async def list_job_orders(
    runtime: Runtime,
    status: JobOrderStatus | None = None,
    sector: str | None = None,
    track: Track | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[dict[str, object]]:
    async with runtime.sessions() as session:
        return await queries.list_job_orders(session, status, sector, track, limit, offset)


@router.get("/job-orders/{job_order_id}", response_model=JobOrderView, tags=["job orders"])
async def get_job_order(job_order_id: uuid.UUID, runtime: Runtime) -> dict[str, object]:
    async with runtime.sessions() as session:
        return await queries.get_job_order(session, job_order_id)


@router.post("/job-orders/{job_order_id}/close", response_model=JobOrderView, tags=["job orders"])
async def close_job_order(
    job_order_id: uuid.UUID, body: CloseRequest, runtime: Runtime, caller: CurrentCaller
) -> dict[str, object]:
    authorise_job_orders(caller, runtime)
    async with runtime.unit_of_work() as session:
        [closed] = await handlers.close_job_orders(
            [CloseJobOrder(job_order_id, body.reason)],
            SqlPlacementRepository(session),
            runtime.clock,
        )
        return await queries.get_job_order(session, raise_if_refused(closed))


@router.get(
    "/job-orders/{job_order_id}/matches",
    response_model=MatchesView,
    tags=["job orders"],
    summary="Ready candidates ranked for the order, each rank explained",
)
async def match_candidates(
    job_order_id: uuid.UUID, runtime: Runtime, caller: CurrentCaller, limit: Limit = 100
) -> dict[str, object]:
    async with runtime.sessions() as session:
        return await queries.match_candidates(
            session, job_order_id, runtime.clock.today(), limit, agency=agency_filter(caller)
        )


@router.post(
    "/job-orders/{job_order_id}/shortlist",
    status_code=201,
    response_model=PlacementView,
    tags=["placements"],
    summary="Put a ready candidate on the order's path: shortlisted",
)
async def shortlist_candidate(
    job_order_id: uuid.UUID, body: ShortlistRequest, runtime: Runtime, caller: CurrentCaller
) -> dict[str, object]:
    command = ShortlistCandidate(
        job_order_id, body.candidate_id, body.shortlisted_on or runtime.clock.today()
    )
    async with runtime.unit_of_work() as session:
        [shortlisted] = await handlers.shortlist_candidates(
            [command], SqlPlacementRepository(session), runtime.clock, caller
        )
        return await queries.get_placement(session, raise_if_refused(shortlisted).placement_id)


@router.post(
    "/job-orders/{job_order_id}/placements",
    status_code=201,
    response_model=PlacementView,
    tags=["placements"],
)
async def place_candidate(
    job_order_id: uuid.UUID, body: PlacementRequest, runtime: Runtime, caller: CurrentCaller
) -> dict[str, object]:
    """Record a contract signed without the steps before it; the slot is taken at once."""
    async with runtime.unit_of_work() as session:
        [placed] = await handlers.place_candidates(
            [PlaceCandidate(job_order_id, body.candidate_id)],
            SqlPlacementRepository(session),
            runtime.clock,
            caller,
        )
        return await queries.get_placement(session, raise_if_refused(placed).placement_id)


async def advance(runtime: Runtime, caller: Caller, command: AdvancePlacement) -> dict[str, object]:
    """One step of a placement's path, answered with the placement as it is now."""
    async with runtime.unit_of_work() as session:
        [advanced] = await handlers.advance_placements(
            [command], SqlPlacementRepository(session), runtime.clock, caller
        )
        return await queries.get_placement(session, raise_if_refused(advanced).placement_id)


@router.post(
    "/placements/{placement_id}/interview", response_model=PlacementView, tags=["placements"]
)
async def record_interview(
    placement_id: uuid.UUID, body: InterviewRequest, runtime: Runtime, caller: CurrentCaller
) -> dict[str, object]:
    """A failed interview ends the path on this order; no slot was taken."""
    step = Step.PASS_INTERVIEW if body.passed else Step.FAIL_INTERVIEW
    on = body.interviewed_on or runtime.clock.today()
    return await advance(runtime, caller, AdvancePlacement(placement_id, step, on))


@router.post("/placements/{placement_id}/offer", response_model=PlacementView, tags=["placements"])
async def make_offer(
    placement_id: uuid.UUID, body: StepRequest, runtime: Runtime, caller: CurrentCaller
) -> dict[str, object]:
    on = body.on or runtime.clock.today()
    return await advance(runtime, caller, AdvancePlacement(placement_id, Step.OFFER, on))


@router.post(
    "/placements/{placement_id}/contract",
    response_model=PlacementView,
    tags=["placements"],
    summary="Record the signed contract: the candidate takes one of the order's slots",
)
async def sign_contract(
    placement_id: uuid.UUID, body: StepRequest, runtime: Runtime, caller: CurrentCaller
) -> dict[str, object]:
    on = body.on or runtime.clock.today()
    return await advance(runtime, caller, AdvancePlacement(placement_id, Step.SIGN_CONTRACT, on))


@router.post(
    "/placements/{placement_id}/certificate-of-eligibility",
    response_model=PlacementView,
    tags=["placements"],
)
async def issue_coe(
    placement_id: uuid.UUID, body: StepRequest, runtime: Runtime, caller: CurrentCaller
) -> dict[str, object]:
    on = body.on or runtime.clock.today()
    return await advance(runtime, caller, AdvancePlacement(placement_id, Step.ISSUE_COE, on))


@router.post("/placements/{placement_id}/visa", response_model=PlacementView, tags=["placements"])
async def issue_visa(
    placement_id: uuid.UUID, body: StepRequest, runtime: Runtime, caller: CurrentCaller
) -> dict[str, object]:
    on = body.on or runtime.clock.today()
    return await advance(runtime, caller, AdvancePlacement(placement_id, Step.ISSUE_VISA, on))


@router.post(
    "/placements/{placement_id}/departure", response_model=PlacementView, tags=["placements"]
)
async def record_departure(
    placement_id: uuid.UUID, body: DepartureRequest, runtime: Runtime, caller: CurrentCaller
) -> dict[str, object]:
    command = AdvancePlacement(placement_id, Step.DEPART, body.departure_date)
    return await advance(runtime, caller, command)


@router.post(
    "/placements/{placement_id}/early-return", response_model=PlacementView, tags=["placements"]
)
async def record_early_return(
    placement_id: uuid.UUID, body: EarlyReturnRequest, runtime: Runtime, caller: CurrentCaller
) -> dict[str, object]:
    command = AdvancePlacement(placement_id, Step.RETURN_EARLY, body.return_date, body.reason)
    return await advance(runtime, caller, command)


@router.get("/placements/{placement_id}", response_model=PlacementView, tags=["placements"])
async def get_placement(
    placement_id: uuid.UUID, runtime: Runtime, caller: CurrentCaller
) -> dict[str, object]:
    async with runtime.sessions() as session:
        await authorise_placement(session, caller, placement_id)
        return await queries.get_placement(session, placement_id)


@router.get("/placements", response_model=list[PlacementView], tags=["placements"])
async def list_placements(
    runtime: Runtime,
    caller: CurrentCaller,
    agency: str | None = None,
    candidate_id: uuid.UUID | None = None,
    job_order_id: uuid.UUID | None = None,
    status: PlacementStatus | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[dict[str, object]]:
    scope = agency_filter(caller, agency)
    async with runtime.sessions() as session:
        return await queries.list_placements(
            session, candidate_id, job_order_id, status, limit, offset, agency=scope
        )


@router.get(
    "/ready-candidates/{candidate_id}",
    response_model=ReadyCandidateView,
    tags=["ready candidates"],
    summary="A candidate training announced ready for placement",
)
async def get_ready_candidate(
    candidate_id: uuid.UUID, runtime: Runtime, caller: CurrentCaller
) -> dict[str, object]:
    async with runtime.sessions() as session:
        await authorise_candidate(session, caller, candidate_id)
        return await queries.get_ready_candidate(session, candidate_id)


@router.put(
    "/ready-candidates/{candidate_id}/commitment",
    response_model=ReadyCandidateView,
    tags=["ready candidates"],
    summary="Record how long the candidate commits to stay; employers favour longer",
)
async def set_commitment(
    candidate_id: uuid.UUID, body: CommitmentRequest, runtime: Runtime, caller: CurrentCaller
) -> dict[str, object]:
    async with runtime.unit_of_work() as session:
        [committed] = await handlers.record_commitments(
            [RecordCommitment(candidate_id, body.months_willing_to_stay)],
            SqlPlacementRepository(session),
            caller,
        )
        return await queries.get_ready_candidate(session, raise_if_refused(committed))


@router.get("/ready-candidates", response_model=list[ReadyCandidateView], tags=["ready candidates"])
async def list_ready_candidates(
    runtime: Runtime,
    caller: CurrentCaller,
    agency: str | None = None,
    sector: str | None = None,
    track: Track | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[dict[str, object]]:
    scope = agency_filter(caller, agency)
    async with runtime.sessions() as session:
        return await queries.list_ready_candidates(
            session, sector, track, limit, offset, agency=scope
        )
