"""Which agency a record belongs to, so the API can apply the one scope rule of
`jembatan_kit.auth` before reading or changing it."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from jembatan_kit.auth import Caller, require_agency

from ..service_layer.queries import agency_of


async def authorise_candidate(
    session: AsyncSession, caller: Caller, candidate_id: uuid.UUID
) -> None:
    """Refuse a caller outside the candidate's agency. An unknown candidate is left to the
    handler, which answers 404."""
    agency = await agency_of(session, candidate_id)
    if agency is not None:
        require_agency(caller, agency, f"candidate {candidate_id}")
