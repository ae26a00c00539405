"""Which agency a record belongs to, so the API can apply the one scope rule of
`jembatan_kit.auth` before reading or changing it. Unknown records are left to the handlers,
which answer 404."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from jembatan_kit.auth import Caller, OutOfScope, require_agency

from ..adapters.orm import cohorts, enrolments
from ..domain.commands import ImportResults


async def authorise_candidate(
    session: AsyncSession, caller: Caller, candidate_id: uuid.UUID
) -> None:
    agency = await session.scalar(
        select(enrolments.c.agency).where(enrolments.c.candidate_id == candidate_id)
    )
    if agency is not None:
        require_agency(caller, agency, f"candidate {candidate_id}")


async def authorise_cohort(session: AsyncSession, caller: Caller, cohort_id: uuid.UUID) -> None:
    agency = await session.scalar(select(cohorts.c.agency).where(cohorts.c.id == cohort_id))
    if agency is not None:
        require_agency(caller, agency, f"cohort {cohort_id}")


async def authorise_results_file(
    session: AsyncSession, caller: Caller, results_file: ImportResults
) -> None:
    """Every candidate a results file names must be the caller's to change; otherwise the whole
    file is refused, naming the lines, before anything is recorded."""
    if caller.is_national:
        return
    named: dict[uuid.UUID, list[int]] = {}
    for line in results_file.lines:
        try:
            named.setdefault(uuid.UUID(line.candidate_id or ""), []).append(line.number)
        except ValueError:
            continue  # the import refuses the line itself, naming the column
    if not named:
        return
    owners = await session.execute(
        select(enrolments.c.candidate_id, enrolments.c.agency).where(
            enrolments.c.candidate_id.in_(named)
        )
    )
    foreign = sorted(
        line
        for candidate_id, agency in owners
        if agency != caller.agency
        for line in named[candidate_id]
    )
    if foreign:
        raise OutOfScope(
            "agency_scope",
            f"lines {', '.join(map(str, foreign))} name candidates of other agencies; "
            f"{caller.user} acts for {caller.agency} and may record results only for its own "
            "candidates. Remove those lines, or send the file with a Kemnaker token",
            lines=foreign,
        )
