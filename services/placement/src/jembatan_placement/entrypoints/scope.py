"""Which agency a record belongs to, so the API can apply the one scope rule of
`jembatan_kit.auth` before reading or changing it. Unknown records are left to the handlers,
which answer 404.

Job orders come from the Japanese side through this placement service: every authenticated
agency may read them and see its own candidates' matches; only the agency running the service
(or Kemnaker) opens and closes them."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from jembatan_kit.auth import Caller, require_agency
from jembatan_kit.runtime import ServiceRuntime

from ..adapters.orm import placements, ready_candidates, waiting_readiness


def authorise_job_orders(caller: Caller, runtime: ServiceRuntime) -> None:
    require_agency(caller, runtime.settings.agency, "the job orders of this placement service")


async def authorise_candidate(
    session: AsyncSession, caller: Caller, candidate_id: uuid.UUID
) -> None:
    agency = await session.scalar(
        select(ready_candidates.c.agency).where(ready_candidates.c.candidate_id == candidate_id)
    ) or await session.scalar(
        select(waiting_readiness.c.agency).where(waiting_readiness.c.candidate_id == candidate_id)
    )
    if agency is not None:
        require_agency(caller, agency, f"candidate {candidate_id}")


async def authorise_placement(
    session: AsyncSession, caller: Caller, placement_id: uuid.UUID
) -> None:
    agency = await session.scalar(
        select(placements.c.agency).where(placements.c.id == placement_id)
    )
    if agency is not None:
        require_agency(caller, agency, f"placement {placement_id}")
