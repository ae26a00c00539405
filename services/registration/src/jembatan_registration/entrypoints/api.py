from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Body, Depends, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from jembatan_contracts import AGENCY_PATTERN, Track, WithdrawalReason
from jembatan_contracts.limits import CODE_MAX_LENGTH, LEVEL_MAX_LENGTH
from jembatan_kit.auth import (
    NIK_READER,
    Caller,
    CurrentCaller,
    agency_filter,
    current_caller,
    require_agency,
)
from jembatan_kit.bodies import CommandBody
from jembatan_kit.errors import RuleViolation
from jembatan_kit.runtime import Runtime

from ..adapters.national_index import NationalIndex
from ..adapters.protection import IdentityProtector
from ..adapters.repository import SqlRegistrationRepository
from ..domain.duplicates import RegisteredElsewhere, Registrar
from ..domain.model import (
    CorrectCandidate,
    RegisterCandidate,
    Sex,
    WithdrawCandidate,
    check_view,
    mask_nik,
    redact_warnings,
)
from ..service_layer import handlers, queries, uploads
from ..service_layer.handlers import raise_if_refused
from .scope import authorise_candidate


def registrar_of(caller: Caller) -> Registrar:
    return Registrar(caller.user, caller.agency, national=caller.is_national)


@asynccontextmanager
async def logging_refusals_elsewhere(
    runtime: Runtime, protector: IdentityProtector, caller: Caller
) -> AsyncIterator[None]:
    """Log a refusal for a NIK registered with another agency in a transaction of its own: the
    refused request's transaction is rolled back, and the log must outlive it. Not a unit of
    work: that would record the request in the audit trail as the change it was not; the audit
    trail records it as refused (409) once answered."""
    try:
        yield
    except RegisteredElsewhere as refusal:
        async with runtime.sessions() as session, session.begin():
            await handlers.log_refusals_elsewhere(
                repository(session, protector),
                [handlers.Refused(refusal)],
                registrar_of(caller),
                runtime.clock.now(),
            )
        raise


def repository(session: AsyncSession, protector: IdentityProtector) -> SqlRegistrationRepository:
    return SqlRegistrationRepository(session, protector)


router = APIRouter(tags=["candidates"], dependencies=[Depends(current_caller)])


async def get_protector(request: Request) -> IdentityProtector:
    protector: IdentityProtector = request.app.state.protector
    return protector


Protector = Annotated[IdentityProtector, Depends(get_protector)]


async def get_national_index(request: Request) -> NationalIndex | None:
    index: NationalIndex | None = request.app.state.national_index
    return index


Index = Annotated[NationalIndex | None, Depends(get_national_index)]


class RegistrationRequest(CommandBody):
    agency: str = Field(pattern=AGENCY_PATTERN, examples=["kaltim"])
    nik: str = Field(examples=["6471054506010003"], description="16-digit NIK")
    full_name: str = Field(max_length=200)
    birth_date: date
    sex: Sex
    education: str = Field(max_length=LEVEL_MAX_LENGTH, examples=["SMA", "SMK", "D3"])
    track: Track
    preferred_sector: str = Field(max_length=CODE_MAX_LENGTH, examples=["caregiver", "automotive"])
    phone: str | None = None
    region_code: str | None = Field(
        default=None,
        pattern=r"^\d{2}(\d{2})?$",
        description="Declared home region: province (2 digits) or regency (4 digits)",
    )
    selection_date: date | None = Field(
        default=None,
        description="Date eligibility is judged on; today when not given. Never in the future,"
        " and at most the selection window's days back (domain/data/eligibility.toml).",
    )


class RuleCheckView(BaseModel):
    rule: str
    passed: bool
    requirement: str
    finding: str


class RegistrationResponse(BaseModel):
    candidate_id: uuid.UUID
    journey_id: uuid.UUID
    nik_masked: str
    status: str
    national_check: str = Field(
        description="cleared, or provisional: registered while the national identity index "
        "could not be asked; ready for placement only once it clears"
    )
    rule_set: str | None
    checks: list[RuleCheckView]
    warnings: list[str]


class RegistrationCheckResponse(BaseModel):
    nik_masked: str
    rule_set: str | None
    checks: list[RuleCheckView]
    warnings: list[str]
    left_to_registration: str = Field(
        description="What only the registration itself judges: whether another agency, here "
        "or at the national identity index, holds the NIK"
    )


LEFT_TO_REGISTRATION = (
    "not yet judged: whether the NIK has an active registration with another agency, here or"
    " at the national identity index; the registration itself asks"
)


class CandidateView(BaseModel):
    candidate_id: uuid.UUID
    journey_id: uuid.UUID
    agency: str
    nik_masked: str = Field(description="Province and regency only, e.g. 6471************")
    full_name: str
    age_years: int = Field(description="Age in whole years today")
    birth_date: date | None = Field(
        description="Only for callers with the nik-reader role (digits 7-12 of the NIK); "
        "each such read is logged in the NIK read log"
    )
    sex: str | None = Field(description="Only for callers with the nik-reader role, logged")
    education: str
    track: str
    preferred_sector: str
    province_code: str
    status: str
    national_check: str = Field(
        description="cleared; provisional (the national identity index has not answered yet); "
        "duplicate (the earlier of two active registrations of the person, held); suspended "
        "(the later one)"
    )
    national_check_explained: str = Field(description="What it means, and the ways out")
    rule_set: str | None
    warnings: list[str]
    registered_at: datetime
    selection_date: date = Field(description="The date eligibility was judged on")


class NikReadRequest(CommandBody):
    reason: str = Field(description="Why the full NIK is needed; kept in the read log")


@router.post("/candidates", status_code=201, response_model=RegistrationResponse)
async def register(
    body: RegistrationRequest,
    runtime: Runtime,
    protector: Protector,
    index: Index,
    caller: CurrentCaller,
) -> RegistrationResponse:
    require_agency(caller, body.agency, "a registration for agency " + body.agency)
    command = RegisterCandidate(**body.model_dump())
    async with (
        logging_refusals_elsewhere(runtime, protector, caller),
        runtime.unit_of_work() as session,
    ):
        [outcome] = await handlers.register_candidates(
            [command],
            repository(session, protector),
            runtime.clock,
            registrar_of(caller),
            index,
        )
        registered = raise_if_refused(outcome)
    return RegistrationResponse(
        candidate_id=registered.candidate_id,
        journey_id=registered.journey_id,
        nik_masked=mask_nik(body.nik),
        status="active",
        national_check=registered.national_check.value,
        rule_set=registered.decision.rule_set,
        checks=[RuleCheckView(**check_view(check)) for check in registered.decision.checks],
        warnings=registered.decision.warnings,
    )


@router.post(
    "/candidates/check",
    response_model=RegistrationCheckResponse,
    summary="Judge a registration without making it (a dry run)",
    description="The body of `POST /candidates`, judged by the same rules: refused with the "
    "same refusal, or answered with every rule checked and the warnings. Nothing is kept, "
    "published or claimed at the national identity index. Another agency's registration of "
    "the NIK is not disclosed here: the registration itself judges it (and logs it).",
)
async def check_registration(
    body: RegistrationRequest, runtime: Runtime, protector: Protector, caller: CurrentCaller
) -> RegistrationCheckResponse:
    require_agency(caller, body.agency, "a registration for agency " + body.agency)
    command = RegisterCandidate(**body.model_dump())
    async with runtime.sessions() as session:
        [outcome] = await handlers.register_candidates(
            [command],
            repository(session, protector),
            runtime.clock,
            registrar_of(caller),
            dry_run=True,
        )
        judged = raise_if_refused(outcome)
    return RegistrationCheckResponse(
        nik_masked=mask_nik(body.nik),
        rule_set=judged.decision.rule_set,
        checks=[RuleCheckView(**check_view(check)) for check in judged.decision.checks],
        warnings=judged.decision.warnings,
        left_to_registration=LEFT_TO_REGISTRATION,
    )


@router.get("/candidates/{candidate_id}", response_model=CandidateView)
async def get_candidate(
    candidate_id: uuid.UUID, runtime: Runtime, protector: Protector, caller: CurrentCaller
) -> dict[str, object]:
    async with runtime.unit_of_work() as session:
        await authorise_candidate(session, caller, candidate_id)
        return await queries.get_candidate(
            session, candidate_id, protector, caller, runtime.clock.now()
        )


@router.get("/candidates", response_model=list[CandidateView])
async def list_candidates(
    runtime: Runtime,
    protector: Protector,
    caller: CurrentCaller,
    agency: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[dict[str, object]]:
    scope = agency_filter(caller, agency)
    async with runtime.unit_of_work() as session:
        return await queries.list_candidates(
            session, protector, caller, runtime.clock.now(), scope, limit, offset
        )


@router.post("/candidates/{candidate_id}/nik", summary="Read the full NIK (logged, with reason)")
async def read_nik(
    candidate_id: uuid.UUID,
    body: NikReadRequest,
    caller: CurrentCaller,
    runtime: Runtime,
    protector: Protector,
) -> dict[str, str]:
    async with runtime.unit_of_work() as session:
        nik = await queries.read_full_nik(
            session, candidate_id, caller, body.reason, protector, runtime.clock.now()
        )
    return {"nik": nik}


@router.get(
    "/candidates/{candidate_id}/nik-reads", summary="Who read this candidate's NIK, and why"
)
async def nik_read_log(
    candidate_id: uuid.UUID, runtime: Runtime, caller: CurrentCaller
) -> list[dict[str, object]]:
    async with runtime.sessions() as session:
        await authorise_candidate(session, caller, candidate_id)
        return await queries.nik_reads_of(session, candidate_id)


class WithdrawalRequest(CommandBody):
    reason: WithdrawalReason
    note: str | None = Field(default=None, max_length=1000, description="Kept here, not sent")


@router.post("/candidates/{candidate_id}/withdrawal", summary="Withdraw a candidate")
async def withdraw(
    candidate_id: uuid.UUID,
    body: WithdrawalRequest,
    runtime: Runtime,
    protector: Protector,
    caller: CurrentCaller,
) -> dict[str, str]:
    command = WithdrawCandidate(candidate_id, body.reason, body.note)
    async with runtime.unit_of_work() as session:
        await authorise_candidate(session, caller, candidate_id)
        [outcome] = await handlers.withdraw_candidates(
            [command], repository(session, protector), runtime.clock
        )
        raise_if_refused(outcome)
    return {"candidate_id": str(candidate_id), "status": "withdrawn"}


class CorrectionRequest(CommandBody):
    nik: str | None = None
    full_name: str | None = Field(default=None, max_length=200)
    phone: str | None = None
    birth_date: date | None = None
    sex: Sex | None = None
    education: str | None = Field(default=None, max_length=LEVEL_MAX_LENGTH)
    preferred_sector: str | None = Field(default=None, max_length=CODE_MAX_LENGTH)
    region_code: str | None = Field(default=None, pattern=r"^\d{2}(\d{2})?$")


@router.patch("/candidates/{candidate_id}", summary="Correct a candidate's personal data")
async def correct(
    candidate_id: uuid.UUID,
    body: CorrectionRequest,
    runtime: Runtime,
    protector: Protector,
    index: Index,
    caller: CurrentCaller,
) -> dict[str, object]:
    command = CorrectCandidate(candidate_id, body.model_dump(exclude_unset=True))
    async with (
        logging_refusals_elsewhere(runtime, protector, caller),
        runtime.unit_of_work() as session,
    ):
        await authorise_candidate(session, caller, candidate_id)
        [outcome] = await handlers.correct_candidates(
            [command],
            repository(session, protector),
            runtime.clock,
            registrar_of(caller),
            index,
        )
        corrected = raise_if_refused(outcome)
    # The caller may not have given the NIK: its birth date and sex are for nik-readers only.
    warnings = (
        corrected.warnings if NIK_READER in caller.roles else redact_warnings(corrected.warnings)
    )
    return {"candidate_id": str(candidate_id), "warnings": warnings}


@router.post(
    "/candidates/bulk",
    summary="Register many candidates from a CSV file",
    description="Send the CSV as the request body (`content-type: text/csv`). Columns: "
    + ", ".join(uploads.REQUIRED_COLUMNS + uploads.OPTIONAL_COLUMNS)
    + ". Each row is accepted or refused with its reasons; the same file twice registers "
    "nobody twice.",
)
async def bulk_upload(
    runtime: Runtime,
    protector: Protector,
    index: Index,
    caller: CurrentCaller,
    agency: Annotated[str, Query(pattern=AGENCY_PATTERN)],
    content: Annotated[bytes, Body(media_type="text/csv")],
) -> dict[str, object]:
    require_agency(caller, agency, "a registration for agency " + agency)
    async with runtime.unit_of_work() as session:
        return await uploads.register_upload(
            agency,
            content,
            repository(session, protector),
            runtime.clock,
            registrar_of(caller),
            index,
        )


@router.post(
    "/identity-index/resend",
    summary="Send every active candidate to the national identity index again (its rebuild)",
    description="For Kemnaker, after the index lost its data: each registration service sends "
    "its active candidates again, in order of registration, and the index stands as it stood "
    "(docs/identity-index.md, 'Rebuild'). Answers how many are due to be sent.",
)
async def resend_to_index(
    runtime: Runtime, protector: Protector, caller: CurrentCaller
) -> dict[str, int]:
    if not caller.is_national:
        raise RuleViolation(
            "index_rebuild_national_only",
            "only Kemnaker rebuilds the national identity index",
            status_code=403,
        )
    async with runtime.unit_of_work() as session:
        due = await repository(session, protector).send_all_to_index()
    return {"due": due}
