"""Loans: the list with arrears, one loan's statement, recording a transfer (a confirmation
first, showing the balance it leaves, then financing's own answer), restructuring, and the
signed link a loan officer hands to the participant (`statement.py`)."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from .backend import Backend, Refusal
from .statement import statement_link
from .web import Operator, SignedIn, backend_of, render, require, settings_of, whole

router = APIRouter()
ROLE = "loan-officer"
BUCKETS = ("1-30", "31-60", "61-90", "90+")
STATUSES = ("repaying", "needs_decision", "open", "paused", "settled", "closed")


@router.get("/loans", response_class=HTMLResponse)
async def loans_page(
    request: Request, operator: SignedIn, bucket: str = "", status: str = ""
) -> HTMLResponse:
    """Loans by arrears bucket or by status (financing lists no loans without one of them):
    the loans being repaid, unless the officer chose otherwise."""
    require(operator, ROLE)
    bucket = bucket if bucket in BUCKETS else ""
    status = status if status in STATUSES else ("" if bucket else "repaying")
    backend = backend_of(request, operator)
    loans = await backend.get("financing", "/loans", bucket=bucket, status=status)
    return render(
        request,
        "loans.html",
        operator,
        loans=loans,
        names=await _names(backend, [loan["candidate_id"] for loan in loans]),
        buckets=BUCKETS,
        bucket=bucket,
        statuses=STATUSES,
        status=status,
    )


async def _names(backend: Backend, candidate_ids: list[str]) -> dict[str, str]:
    names: dict[str, str] = {}
    for candidate_id in dict.fromkeys(candidate_ids):
        found = await backend.maybe("registration", f"/candidates/{candidate_id}")
        names[candidate_id] = found["full_name"] if found else candidate_id[:8]
    return names


async def _loan(
    request: Request,
    operator: Operator,
    loan_id: uuid.UUID,
    status_code: int = 200,
    **extra: Any,
) -> HTMLResponse:
    backend = backend_of(request, operator)
    loan = await backend.get("financing", f"/loans/{loan_id}")
    names = await _names(backend, [loan["candidate_id"]])
    days = settings_of(request).console_statement_link_days
    return render(
        request,
        "loan.html",
        operator,
        status_code,
        loan=loan,
        name=names[loan["candidate_id"]],
        link=statement_link(request, loan_id),
        link_until=(date.today() + timedelta(days=days)).isoformat(),
        today=date.today().isoformat(),
        **extra,
    )


@router.get("/loans/{loan_id}", response_class=HTMLResponse)
async def loan_page(request: Request, loan_id: uuid.UUID, operator: SignedIn) -> HTMLResponse:
    require(operator, ROLE)
    return await _loan(request, operator, loan_id)


def _transfer(form: Any) -> dict[str, Any]:
    return {
        "reference": str(form.get("reference", "")).strip(),
        "paid_on": str(form.get("paid_on", "")),
        "amount_idr": whole(str(form.get("amount_idr", ""))),
    }


@router.post("/loans/{loan_id}/transfer/check", response_class=HTMLResponse)
async def check_transfer(request: Request, loan_id: uuid.UUID, operator: SignedIn) -> HTMLResponse:
    """The confirmation: the transfer as it will be sent, and the balance it leaves. Nothing
    is saved yet."""
    require(operator, ROLE)
    transfer = _transfer(await request.form())
    if not isinstance(transfer["amount_idr"], int) or transfer["amount_idr"] <= 0:
        refusal = Refusal(
            "console",
            422,
            "amount_idr",
            "the amount must be a whole number of rupiah, more than zero",
        )
        return await _loan(request, operator, loan_id, 422, refusal=refusal, transfer=transfer)
    return await _loan(request, operator, loan_id, confirm=transfer)


@router.post("/loans/{loan_id}/transfer", response_class=HTMLResponse)
async def record_transfer(request: Request, loan_id: uuid.UUID, operator: SignedIn) -> HTMLResponse:
    require(operator, ROLE)
    transfer = _transfer(await request.form())
    try:
        payment = await backend_of(request, operator).post(
            "financing", f"/loans/{loan_id}/payments", transfer
        )
    except Refusal as refusal:
        if refusal.status >= 500 or refusal.signed_out:
            raise
        return await _loan(
            request, operator, loan_id, refusal.status, refusal=refusal, transfer=transfer
        )
    return await _loan(request, operator, loan_id, saved=payment)


@router.post("/loans/{loan_id}/restructure", response_class=HTMLResponse)
async def restructure(request: Request, loan_id: uuid.UUID, operator: SignedIn) -> HTMLResponse:
    require(operator, ROLE)
    form = await request.form()
    body = {
        "first_due_date": str(form.get("first_due_date", "")),
        "instalments": whole(str(form.get("instalments", ""))),
    }
    try:
        await backend_of(request, operator).post("financing", f"/loans/{loan_id}/restructure", body)
    except Refusal as refusal:
        if refusal.status >= 500 or refusal.signed_out:
            raise
        return await _loan(request, operator, loan_id, refusal.status, refusal=refusal)
    return await _loan(request, operator, loan_id, restructured=True)
