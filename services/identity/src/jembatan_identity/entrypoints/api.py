from __future__ import annotations

from fastapi import APIRouter

from jembatan_kit.auth import CurrentCaller, require_agency
from jembatan_kit.runtime import Runtime

from ..adapters.repository import SqlIndexRepository

router = APIRouter(tags=["index"])


@router.get(
    "/index",
    summary="How many active registrations the index holds, by standing (Kemnaker only)",
)
async def index_counts(runtime: Runtime, caller: CurrentCaller) -> dict[str, object]:
    require_agency(caller, runtime.settings.agency, "the national identity index")
    async with runtime.sessions() as session:
        repo = SqlIndexRepository(session)
        return {"epoch": await repo.epoch(), "active": await repo.counts()}
