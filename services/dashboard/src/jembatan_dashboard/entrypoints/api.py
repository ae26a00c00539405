"""The figures as JSON, and the operator's rebuild."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from jembatan_kit.runtime import Runtime, ServiceRuntime

from ..config import DashboardSettings
from ..domain.targets import Targets
from ..service_layer.queries import Scope, ScoreRule, funnel
from ..service_layer.rebuild import rebuild
from .access import DashboardCaller, require_national, scope_of

router = APIRouter(tags=["figures"])


async def figures_for(
    request: Request, runtime: ServiceRuntime, scope: Scope, year: int | None
) -> dict[str, Any]:
    settings: DashboardSettings = runtime.settings  # type: ignore[assignment]
    targets: Targets = request.app.state.targets
    today = runtime.clock.today()
    async with runtime.sessions() as session:
        return await funnel(
            session,
            scope,
            year or today.year,
            today,
            targets,
            ScoreRule(settings.daily_score_target, settings.early_warning_window_days),
        )


@router.get(
    "/api/funnel",
    summary="The funnel, target, drop-outs, cohorts below target and arrears of an agency",
)
async def funnel_api(
    request: Request,
    runtime: Runtime,
    caller: DashboardCaller,
    agency: Annotated[
        str | None, Query(description="Kemnaker only: one agency (default: every agency)")
    ] = None,
    year: Annotated[int | None, Query(ge=2000, le=2100, description="Default: this year")] = None,
    programme: Annotated[str | None, Query(description="TITP or SSW (default: both)")] = None,
) -> dict[str, Any]:
    return await figures_for(request, runtime, scope_of(caller, agency, programme), year)


@router.get("/api/targets", summary="The departure targets in force, per agency and year")
async def targets_api(request: Request, caller: DashboardCaller) -> list[dict[str, Any]]:
    targets: Targets = request.app.state.targets
    return [
        {
            "agency": t.agency,
            "from_year": t.from_year,
            "departures": t.departures,
            "source": t.source,
        }
        for t in targets.all()
        if caller.agency in ("kemnaker", t.agency)
    ]


@router.post(
    "/api/rebuild",
    summary="Drop the read model and replay every stored event from the streams (Kemnaker)",
)
async def rebuild_api(runtime: Runtime, caller: DashboardCaller) -> dict[str, Any]:
    require_national(caller, "rebuilding the dashboard")
    return await rebuild(runtime.jetstream(), runtime.sessions, runtime.known_agencies)
