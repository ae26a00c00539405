"""Which agency a loan belongs to (the candidate's), so the API can apply the one scope rule of
`jembatan_kit.auth` before reading or changing the loan, its items, subsidies, payments,
schedule or statement. Funders are the agency running this financing service's to add."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends

from jembatan_kit.auth import Caller, CurrentCaller, require_agency
from jembatan_kit.runtime import Runtime, ServiceRuntime

from ..service_layer import queries


async def loan_in_scope(loan_id: uuid.UUID, runtime: Runtime, caller: CurrentCaller) -> uuid.UUID:
    """The loan id of the path, once the caller may act on the loan. An unknown loan is left to
    the handlers, which answer 404."""
    async with runtime.sessions() as session:
        agency = await queries.loan_agency(session, loan_id)
    if agency is not None:
        require_agency(caller, agency, f"loan {loan_id}")
    return loan_id


LoanInScope = Annotated[uuid.UUID, Depends(loan_in_scope)]


def authorise_funders(caller: Caller, runtime: ServiceRuntime) -> None:
    require_agency(caller, runtime.settings.agency, "the funders of this financing service")
