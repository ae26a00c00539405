from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, cast

from fastapi import APIRouter, Depends, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from jembatan_kit.auth import CurrentCaller, agency_filter, current_caller
from jembatan_kit.bodies import CommandBody
from jembatan_kit.runtime import Runtime

from ..adapters.repository import SqlFinancingRepository
from ..config import FinancingSettings
from ..domain import commands
from ..domain.costs import CostItem
from ..domain.model import ArrearsBucket, LoanStatus, LoanTerms, RepaymentChannel
from ..service_layer import handlers, queries
from ..service_layer.handlers import raise_if_refused
from .scope import LoanInScope, authorise_funders
from .statement_page import render_statement

router = APIRouter(tags=["loans"], dependencies=[Depends(current_caller)])


def _terms(runtime: Runtime) -> LoanTerms:
    return cast(FinancingSettings, runtime.settings).loan_terms()


Terms = Annotated[LoanTerms, Depends(_terms)]


class NewFunder(CommandBody):
    name: str = Field(min_length=1, max_length=120)


class FunderView(BaseModel):
    funder_id: uuid.UUID
    name: str
    created_at: datetime


class CostItemView(BaseModel):
    code: str
    description: str
    amount_idr: int
    charged_on: date | None = None


class NewCostItem(CommandBody):
    code: str = Field(min_length=1, max_length=40, pattern=r"^[a-z][a-z0-9_]*$")
    description: str = Field(min_length=1)
    amount_idr: int = Field(strict=True, gt=0, description="Whole rupiah.")


class NewSubsidy(CommandBody):
    provider: str = Field(min_length=1, max_length=120, examples=["Kemnaker", "JOE Cooperative"])
    item: str = Field(min_length=1, max_length=120, examples=["BLK training"])
    amount_idr: int = Field(strict=True, gt=0)


class SubsidyView(BaseModel):
    provider: str
    item: str
    amount_idr: int
    granted_on: date


class NewPayment(CommandBody):
    reference: str = Field(min_length=1, max_length=80, description="The transfer's reference.")
    paid_on: date
    amount_idr: int = Field(strict=True, gt=0)
    channel: str = Field(
        default=RepaymentChannel.OWN_TRANSFER.value,
        description="Only own_transfer is accepted: never a deduction from the wage.",
    )


class PaymentView(BaseModel):
    payment_id: uuid.UUID
    reference: str
    paid_on: date
    amount_idr: int
    channel: str
    instalment_numbers: list[int]


class Restructuring(CommandBody):
    first_due_date: date
    instalments: int = Field(ge=1, le=120)


class ChosenSchedule(CommandBody):
    first_due_date: date | None = Field(
        default=None,
        description="Empty: the earliest, the 3rd month after departure or today if later.",
    )
    instalments: int | None = Field(
        default=None, ge=1, le=120, description="Empty: as many as end by the contract's end."
    )


class NewWriteOff(CommandBody):
    amount_idr: int | None = Field(
        default=None,
        strict=True,
        gt=0,
        description="Empty: the shortfall, the least that lets a schedule within the contract "
        "fit the cap.",
    )


class WriteOffView(BaseModel):
    amount_idr: int
    reason: str
    written_off_on: date


class WayOut(BaseModel):
    way: str
    request: str
    says: str


class DecisionView(BaseModel):
    """Why no schedule was fixed at departure, where the loan stands today, and the ways out."""

    reason: str
    owed_idr: int
    monthly_wage_jpy: int
    instalment_cap_idr: int
    share_of_wage_percent: int
    first_due_date: date
    contract_end: date
    instalments_within_contract: int
    smallest_instalment_idr: int = Field(
        description="The largest instalment of the longest schedule within the contract."
    )
    shortfall_idr: int = Field(
        description="What a subsidy or write-off must take off for that schedule to fit the cap."
    )
    ways_out: list[WayOut]


class InstalmentView(BaseModel):
    number: int
    due_date: date
    amount_idr: int
    paid_idr: int = 0
    announced_at: datetime | None = Field(
        description="When the participant was told this instalment is due; empty until then."
    )
    superseded: bool = Field(default=False, description="Replaced by a restructuring.")


class ArrearsView(BaseModel):
    as_of: date
    amount_idr: int
    days_past_due: int
    bucket: ArrearsBucket


class LoanSummary(BaseModel):
    loan_id: uuid.UUID
    placement_id: uuid.UUID
    candidate_id: uuid.UUID
    funder_id: uuid.UUID | None
    agency: str
    journey_id: uuid.UUID
    track: str
    status: LoanStatus
    principal_idr: int = Field(description="The sum of the itemised charges.")
    repayment_channel: RepaymentChannel
    channel: str | None = Field(
        description="How the participant was placed (im_japan, private_lpk): the most they may "
        "be charged in all depends on it. Empty on loans opened before it was recorded."
    )
    contract_months: int
    monthly_wage_jpy: int | None
    opened_at: datetime
    departure_date: date | None
    paused_on: date | None
    closed_on: date | None = Field(
        description="The day the candidate withdrew, on a loan closed as they never departed."
    )
    arrears: ArrearsView


class LoanView(LoanSummary):
    cost_items: list[CostItemView]
    subsidies: list[SubsidyView]
    write_offs: list[WriteOffView]
    payments: list[PaymentView]
    written_off_idr: int = Field(description="What the funder wrote off: its loss.")
    owed_idr: int = Field(description="Charges less subsidies and write-offs.")
    paid_idr: int
    balance_idr: int
    refund_due_idr: int = Field(description="Over-payment beyond the balance, refunded.")
    schedule: list[InstalmentView] = Field(description="Empty until the departure date is known.")
    decision: DecisionView | None = Field(
        description="Set while the loan needs a decision (status needs_decision)."
    )


@router.post("/funders", response_model=FunderView, status_code=201, tags=["funders"])
async def create_funder(new: NewFunder, runtime: Runtime, caller: CurrentCaller) -> dict[str, Any]:
    authorise_funders(caller, runtime)
    async with runtime.unit_of_work() as session:
        [created] = await handlers.create_funders(
            [commands.CreateFunder(new.name.strip())],
            SqlFinancingRepository(session),
            runtime.clock,
        )
        return await queries.funder(session, raise_if_refused(created))


@router.get("/funders", response_model=list[FunderView], tags=["funders"])
async def list_funders(runtime: Runtime) -> list[dict[str, Any]]:
    async with runtime.sessions() as session:
        return await queries.list_funders(session)


@router.get("/loans", response_model=list[LoanSummary])
async def list_loans(
    runtime: Runtime,
    caller: CurrentCaller,
    agency: str | None = None,
    candidate_id: uuid.UUID | None = None,
    funder_id: uuid.UUID | None = None,
    bucket: ArrearsBucket | None = None,
    status: LoanStatus | None = None,
) -> list[dict[str, Any]]:
    """Loans by candidate, funder, arrears bucket or status: `status=needs_decision` lists the
    loans of departed participants that wait for an operator's decision."""
    scope = agency_filter(caller, agency)
    async with runtime.sessions() as session:
        return await queries.list_loans(
            session,
            runtime.clock.today(),
            candidate_id,
            funder_id,
            bucket,
            agency=scope,
            status=status,
        )


@router.get("/loans/{loan_id}", response_model=LoanView)
async def get_loan(loan_id: LoanInScope, runtime: Runtime, terms: Terms) -> dict[str, Any]:
    async with runtime.sessions() as session:
        return await queries.loan_details(session, loan_id, runtime.clock.today(), terms)


@router.get("/loans/{loan_id}/schedule", response_model=list[InstalmentView])
async def get_schedule(loan_id: LoanInScope, runtime: Runtime) -> list[dict[str, Any]]:
    async with runtime.sessions() as session:
        return await queries.schedule_of(session, loan_id)


@router.post("/loans/{loan_id}/items", response_model=LoanView, status_code=201)
async def add_cost_item(
    loan_id: LoanInScope, new: NewCostItem, runtime: Runtime, terms: Terms
) -> dict[str, Any]:
    item = CostItem(new.code, new.description, new.amount_idr)
    async with runtime.unit_of_work() as session:
        [added] = await handlers.add_cost_items(
            [commands.AddCostItem(loan_id, item)],
            SqlFinancingRepository(session),
            terms=terms,
            clock=runtime.clock,
        )
        raise_if_refused(added)
    return await get_loan(loan_id, runtime, terms)


@router.delete("/loans/{loan_id}/items/{code}", response_model=LoanView)
async def remove_cost_item(
    loan_id: LoanInScope, code: str, runtime: Runtime, terms: Terms
) -> dict[str, Any]:
    async with runtime.unit_of_work() as session:
        [removed] = await handlers.remove_cost_items(
            [commands.RemoveCostItem(loan_id, code)],
            SqlFinancingRepository(session),
            terms=terms,
            clock=runtime.clock,
        )
        raise_if_refused(removed)
    return await get_loan(loan_id, runtime, terms)


@router.post("/loans/{loan_id}/subsidies", response_model=LoanView, status_code=201)
async def add_subsidy(
    loan_id: LoanInScope, new: NewSubsidy, runtime: Runtime, terms: Terms
) -> dict[str, Any]:
    grant = commands.GrantSubsidy(loan_id, new.provider, new.item, new.amount_idr)
    async with runtime.unit_of_work() as session:
        [granted] = await handlers.grant_subsidies(
            [grant], SqlFinancingRepository(session), runtime.clock
        )
        raise_if_refused(granted)
    return await get_loan(loan_id, runtime, terms)


@router.post("/loans/{loan_id}/payments", response_model=PaymentView, status_code=201)
async def record_payment(
    loan_id: LoanInScope, new: NewPayment, runtime: Runtime, response: Response
) -> dict[str, Any]:
    """Idempotent by `reference`: a repeat returns the first record with status 200."""
    payment = commands.RecordPayment(
        loan_id, new.reference, new.paid_on, new.amount_idr, new.channel
    )
    async with runtime.unit_of_work() as session:
        [outcome] = await handlers.record_payments(
            [payment], SqlFinancingRepository(session), runtime.clock
        )
        recorded = raise_if_refused(outcome)
        view = await queries.payment(session, recorded.payment_id)
    if not recorded.created:
        response.status_code = 200
    return view


@router.post("/loans/{loan_id}/restructure", response_model=LoanView)
async def restructure(
    loan_id: LoanInScope, chosen: Restructuring, runtime: Runtime, terms: Terms
) -> dict[str, Any]:
    command = commands.Restructure(loan_id, chosen.first_due_date, chosen.instalments)
    async with runtime.unit_of_work() as session:
        [restructured] = await handlers.restructure_loans(
            [command], SqlFinancingRepository(session), terms=terms, clock=runtime.clock
        )
        raise_if_refused(restructured)
    return await get_loan(loan_id, runtime, terms)


@router.post("/loans/{loan_id}/schedule", response_model=LoanView)
async def schedule_within_contract(
    loan_id: LoanInScope, chosen: ChosenSchedule, runtime: Runtime, terms: Terms
) -> dict[str, Any]:
    """A way out for a loan that needs a decision: the schedule chosen, within the contract."""
    command = commands.ScheduleWithinContract(loan_id, chosen.first_due_date, chosen.instalments)
    async with runtime.unit_of_work() as session:
        [scheduled] = await handlers.schedule_within_contracts(
            [command], SqlFinancingRepository(session), terms=terms, clock=runtime.clock
        )
        raise_if_refused(scheduled)
    return await get_loan(loan_id, runtime, terms)


@router.post("/loans/{loan_id}/write-offs", response_model=LoanView, status_code=201)
async def write_off(
    loan_id: LoanInScope, new: NewWriteOff, runtime: Runtime, terms: Terms
) -> dict[str, Any]:
    """A way out for a loan that needs a decision: the funder writes off part of what is owed,
    by default the shortfall. Its loss is shown on the loan and announced (LoanWrittenOff)."""
    async with runtime.unit_of_work() as session:
        [written_off] = await handlers.write_off_loans(
            [commands.WriteOff(loan_id, new.amount_idr)],
            SqlFinancingRepository(session),
            terms=terms,
            clock=runtime.clock,
        )
        raise_if_refused(written_off)
    return await get_loan(loan_id, runtime, terms)


@router.get("/loans/{loan_id}/statement")
async def get_statement(loan_id: LoanInScope, runtime: Runtime, terms: Terms) -> dict[str, Any]:
    async with runtime.sessions() as session:
        return await queries.statement(session, loan_id, runtime.clock.today(), terms)


@router.get("/loans/{loan_id}/statement.html", response_class=HTMLResponse)
async def get_statement_page(loan_id: LoanInScope, runtime: Runtime, terms: Terms) -> str:
    async with runtime.sessions() as session:
        return render_statement(
            await queries.statement(session, loan_id, runtime.clock.today(), terms)
        )
