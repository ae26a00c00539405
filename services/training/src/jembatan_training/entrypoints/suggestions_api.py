"""Penjurusan suggestions: the sectors training would steer a candidate to, ranked, each with
its reasons (`domain.sector_suggestions`), for one candidate or a whole cohort. Advice only:
the trainer applies one with `PUT /candidates/{candidate_id}/sector`."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from jembatan_kit.auth import CurrentCaller, current_caller
from jembatan_kit.runtime import Runtime

from ..service_layer import queries
from .api import ReadinessView
from .cohorts_api import Settings
from .scope import authorise_candidate, authorise_cohort

router = APIRouter(tags=["penjurusan"], dependencies=[Depends(current_caller)])


class SuggestionReasonView(BaseModel):
    code: str = Field(
        description="declared_interest, skill_test_passed, skill_test_failed, "
        "certificates_complete, certificates_missing, daily_scores_at_target, "
        "daily_scores_below_target, steered_away, cohort_sector or in_demand"
    )
    points: int = Field(description="What the reason adds to (or takes from) the sector.")
    text: str
    facts: dict[str, str | int | float] = Field(
        description="The facts behind the reason, to word it in another language."
    )


class SectorSuggestionView(BaseModel):
    sector: str
    points: int
    current: bool = Field(description="The sector the candidate trains for now.")
    reasons: list[SuggestionReasonView]


class CandidateSuggestionsView(BaseModel):
    candidate_id: uuid.UUID
    track: str
    sector: str
    sector_fixed: str | None = Field(
        description="Why the sector can no longer change in training: ready_for_placement or "
        "withdrawn; null while it can."
    )
    readiness: ReadinessView = Field(description="Readiness on the current sector.")
    suggestions: list[SectorSuggestionView] = Field(description="Best first.")


@router.get(
    "/candidates/{candidate_id}/sector-suggestions",
    response_model=CandidateSuggestionsView,
    summary="Penjurusan suggestions for a candidate, ranked, each with its reasons",
)
async def candidate_suggestions(
    candidate_id: uuid.UUID, runtime: Runtime, settings: Settings, caller: CurrentCaller
) -> dict[str, object]:
    async with runtime.sessions() as session:
        await authorise_candidate(session, caller, candidate_id)
        (view,) = await queries.sector_suggestions(
            session,
            [candidate_id],
            settings.daily_score_target,
            settings.early_warning_window_days,
            settings.sectors_in_demand,
        )
    return view


@router.get(
    "/cohorts/{cohort_id}/sector-suggestions",
    response_model=list[CandidateSuggestionsView],
    summary="Penjurusan suggestions for each current member of a cohort",
)
async def cohort_suggestions(
    cohort_id: uuid.UUID, runtime: Runtime, settings: Settings, caller: CurrentCaller
) -> list[dict[str, object]]:
    async with runtime.sessions() as session:
        await authorise_cohort(session, caller, cohort_id)
        members = await queries.cohort_member_ids(session, cohort_id)
        return await queries.sector_suggestions(
            session,
            members,
            settings.daily_score_target,
            settings.early_warning_window_days,
            settings.sectors_in_demand,
        )
