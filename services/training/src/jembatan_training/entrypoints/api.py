from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Body, Depends, Query
from pydantic import BaseModel, Field

from jembatan_contracts import TestKind
from jembatan_kit.auth import CurrentCaller, agency_filter, current_caller
from jembatan_kit.bodies import CommandBody
from jembatan_kit.runtime import Runtime

from ..adapters.repository import TrainingRepository
from ..domain.certificates import RecordResult
from ..domain.commands import ChangeSector, RecordCandidateResult, RecordDailyScore
from ..domain.daily_scores import MAX_SCORE, DailyScore
from ..service_layer import handlers, queries
from ..service_layer.outcomes import only
from .results_csv import OPTIONAL_COLUMNS, REQUIRED_COLUMNS, read_results_file
from .scope import authorise_candidate, authorise_results_file

router = APIRouter(tags=["candidates"], dependencies=[Depends(current_caller)])


class ResultRequest(CommandBody):
    test: TestKind
    issuer: str = Field(max_length=120, examples=["Japan Foundation"])
    taken_on: date
    level: str | None = Field(default=None, description="JLPT only: N5 to N1.", examples=["N4"])
    score: int | None = Field(default=None, description="JFT-Basic only: 0 to 250.")
    sector: str | None = Field(
        default=None, max_length=40, description="SSW skill test only.", examples=["caregiver"]
    )
    passed: bool | None = Field(
        default=None,
        description="Required for SSW skill and nursing-care Japanese tests. JLPT: false records"
        " a failed attempt, which never counts (without it, the result certifies its level)."
        " JFT-Basic: the score decides; a flag that disagrees with it is refused.",
    )


class RuleOutcomeView(BaseModel):
    rule: str
    description: str
    met: bool
    evidence: str | None


class ReadinessView(BaseModel):
    ready: bool
    language_level: str | None
    met: list[RuleOutcomeView]
    missing: list[RuleOutcomeView]


class ResultRecorded(BaseModel):
    result_id: uuid.UUID
    passed: bool
    became_ready: bool
    readiness: ReadinessView


class EnrolmentView(BaseModel):
    candidate_id: uuid.UUID
    journey_id: uuid.UUID
    agency: str
    track: str
    sector: str
    registered_on: date
    enrolled_at: datetime
    status: str = Field(description="enrolled or withdrawn")
    withdrawn_on: date | None
    withdrawal_reason: str | None
    ready: bool
    ready_at: datetime | None
    national_hold: str | None = Field(
        default=None,
        description="Why readiness for placement waits for the national identity index: "
        "provisional, duplicate or suspended; null once the person is cleared",
    )
    cohort_id: uuid.UUID | None = Field(
        default=None, description="The cohort the candidate sits in now."
    )


class ResultView(BaseModel):
    result_id: uuid.UUID
    test: str
    level: str | None
    score: int | None
    sector: str | None
    issuer: str
    taken_on: date
    passed: bool
    recorded_at: datetime


class SectorChangeView(BaseModel):
    previous_sector: str | None
    sector: str
    reason: str
    changed_at: datetime


class CandidateView(EnrolmentView):
    cohort_id: uuid.UUID | None = Field(description="The cohort the candidate sits in now.")
    sector_history: list[SectorChangeView] = Field(
        description="The registration's preferred sector, then every penjurusan change."
    )
    results: list[ResultView]
    readiness: ReadinessView


class SectorRequest(CommandBody):
    sector: str = Field(max_length=40, examples=["agriculture"])
    reason: str = Field(
        max_length=1000, examples=["strong practical scores; interest in farm machinery"]
    )


class SectorChangedView(BaseModel):
    candidate_id: uuid.UUID
    sector: str
    became_ready: bool
    readiness: ReadinessView


class DailyScoreRequest(CommandBody):
    day: date
    score: int = Field(ge=0, le=MAX_SCORE)


class DailyScoreView(BaseModel):
    day: date
    score: int
    recorded_at: datetime


@router.post("/candidates/{candidate_id}/results", status_code=201, response_model=ResultRecorded)
async def record_result(
    candidate_id: uuid.UUID, body: ResultRequest, runtime: Runtime, caller: CurrentCaller
) -> dict[str, object]:
    command = RecordCandidateResult(candidate_id, RecordResult(**body.model_dump()))
    async with runtime.unit_of_work() as session:
        await authorise_candidate(session, caller, candidate_id)
        recorded = only(
            await handlers.record_results([command], TrainingRepository(session), runtime.clock)
        )
    return {
        "result_id": recorded.result_id,
        "passed": recorded.passed,
        "became_ready": recorded.became_ready,
        "readiness": queries.readiness_view(recorded.readiness),
    }


@router.get("/candidates/{candidate_id}", response_model=CandidateView)
async def get_candidate(
    candidate_id: uuid.UUID, runtime: Runtime, caller: CurrentCaller
) -> dict[str, object]:
    async with runtime.sessions() as session:
        await authorise_candidate(session, caller, candidate_id)
        return await queries.get_candidate(session, candidate_id)


@router.get("/candidates", response_model=list[EnrolmentView])
async def list_candidates(
    runtime: Runtime,
    caller: CurrentCaller,
    agency: str | None = None,
    ready: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[dict[str, object]]:
    scope = agency_filter(caller, agency)
    async with runtime.sessions() as session:
        return await queries.list_candidates(session, scope, ready, limit, offset)


@router.put(
    "/candidates/{candidate_id}/sector",
    response_model=SectorChangedView,
    summary="Penjurusan: assign or change the candidate's training sector, with the reason",
)
async def change_sector(
    candidate_id: uuid.UUID, body: SectorRequest, runtime: Runtime, caller: CurrentCaller
) -> dict[str, object]:
    command = ChangeSector(candidate_id, body.sector, body.reason)
    async with runtime.unit_of_work() as session:
        await authorise_candidate(session, caller, candidate_id)
        changed = only(
            await handlers.change_sectors([command], TrainingRepository(session), runtime.clock)
        )
    return {
        "candidate_id": candidate_id,
        "sector": changed.sector,
        "became_ready": changed.became_ready,
        "readiness": queries.readiness_view(changed.readiness),
    }


@router.post(
    "/candidates/{candidate_id}/daily-scores",
    summary="Record a day's score (0-100); posting the same day again replaces it",
)
async def record_daily_score(
    candidate_id: uuid.UUID, body: DailyScoreRequest, runtime: Runtime, caller: CurrentCaller
) -> dict[str, object]:
    command = RecordDailyScore(candidate_id, DailyScore(body.day, body.score))
    async with runtime.unit_of_work() as session:
        await authorise_candidate(session, caller, candidate_id)
        replaced = only(
            await handlers.record_daily_scores(
                [command], TrainingRepository(session), runtime.clock
            )
        )
    return {
        "candidate_id": candidate_id,
        "day": body.day,
        "score": body.score,
        "replaced": replaced,
    }


@router.get("/candidates/{candidate_id}/daily-scores", response_model=list[DailyScoreView])
async def list_daily_scores(
    candidate_id: uuid.UUID, runtime: Runtime, caller: CurrentCaller
) -> list[dict[str, object]]:
    async with runtime.sessions() as session:
        await authorise_candidate(session, caller, candidate_id)
        return await queries.daily_scores_of(session, candidate_id)


@router.post(
    "/results/bulk",
    tags=["results"],
    summary="Import test results from a CSV file, as a test centre delivers it",
    description="Send the CSV as the request body (`content-type: text/csv`). Columns: "
    + ", ".join(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)
    + ". Each row is recorded or refused with the rule and column to fix; the same file twice "
    "records nothing twice (the answer then says replayed: true).",
)
async def import_results(
    runtime: Runtime,
    caller: CurrentCaller,
    content: Annotated[bytes, Body(media_type="text/csv")],
) -> dict[str, object]:
    results_file = read_results_file(content)
    async with runtime.unit_of_work() as session:
        await authorise_results_file(session, caller, results_file)
        imported = await handlers.import_results(
            results_file, TrainingRepository(session), runtime.clock
        )
    return {
        "import_id": str(imported.import_id),
        "replayed": imported.replayed,
        "accepted": imported.accepted,
        "refused": imported.refused,
        "rows": imported.rows,
    }
