"""Loans: the lists (by status, arrears bucket or funder), one loan with everything an officer
does to it, and the funders. Every command is financing's own (placement's for an early
return), called with the officer's token; the console adds only the confirmation that shows
the result before it is saved:

- a transfer, with the balance it leaves;
- a loan that needs a decision (no schedule within the contract fits the cap on the wage): why,
  in financing's figures, and its ways out, each confirmed first: a subsidy, the funder's
  write-off (by default the shortfall), the schedule within the contract;
- cost items added, corrected or removed while the loan is open (frozen once the participant
  departs: `costs_frozen`, said in words), subsidies;
- an early return, which placement records and financing learns through the bus (the loan
  part waits for the pause), then the restructuring of the balance;
- the signed link a loan officer hands to the participant (`statement.py`).

Effects that come through the bus (the schedule fixed at departure, the pause after an early
return) are shown pending; the part asks again every two seconds and the page reloads once
they land."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from jembatan_contracts import EarlyReturnReason

from .backend import Backend, Refusal
from .statement import statement_link
from .web import Operator, SignedIn, backend_of, render, require, settings_of, whole

router = APIRouter()
ROLE = "loan-officer"
BUCKETS = ("1-30", "31-60", "61-90", "90+")
STATUSES = ("repaying", "needs_decision", "open", "paused", "settled", "closed")
RETURN_REASONS = tuple(reason.value for reason in EarlyReturnReason)
POLL_SECONDS = 2


@router.get("/loans", response_class=HTMLResponse)
async def loans_page(
    request: Request, operator: SignedIn, bucket: str = "", status: str = "", funder: str = ""
) -> HTMLResponse:
    """Loans by arrears bucket, status or funder (financing lists no loans without one of
    them): the loans being repaid, unless the officer chose otherwise."""
    require(operator, ROLE)
    backend = backend_of(request, operator)
    funders = await backend.get("financing", "/funders")
    funder = funder if funder in {f["funder_id"] for f in funders} else ""
    bucket = bucket if bucket in BUCKETS else ""
    status = status if status in STATUSES else ("" if bucket or funder else "repaying")
    loans = await backend.get("financing", "/loans", bucket=bucket, status=status, funder_id=funder)
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
        funders=funders,
        funder=funder,
    )


async def _names(backend: Backend, candidate_ids: list[str]) -> dict[str, str]:
    names: dict[str, str] = {}
    for candidate_id in dict.fromkeys(candidate_ids):
        found = await backend.maybe("registration", f"/candidates/{candidate_id}")
        names[candidate_id] = found["full_name"] if found else candidate_id[:8]
    return names


async def _placement(backend: Backend, placement_id: str) -> dict[str, Any] | None:
    """The loan's placement, or None when placement cannot say now (the loan is shown all
    the same; only the waiting and the early return need it)."""
    try:
        return await backend.maybe("placement", f"/placements/{placement_id}")
    except Refusal as refusal:
        if refusal.status < 500:
            raise
        return None


def waiting_for(loan: dict[str, Any], placement: dict[str, Any] | None) -> str:
    """What the loan waits to hear through the bus: placement already records it, financing
    not yet. '' when nothing."""
    placed = placement["status"] if placement else ""
    if loan["status"] == "open" and placed in ("departed", "returned_early"):
        return "departure"  # Departed fixes the schedule
    if loan["status"] in ("repaying", "needs_decision") and placed == "returned_early":
        return "early_return"  # EarlyReturned pauses it
    return ""


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
    placement = await _placement(backend, loan["placement_id"])
    funders = {f["funder_id"]: f["name"] for f in await backend.get("financing", "/funders")}
    days = settings_of(request).console_statement_link_days
    return render(
        request,
        "loan.html",
        operator,
        status_code,
        loan=loan,
        name=names[loan["candidate_id"]],
        placement=placement,
        waiting=waiting_for(loan, placement),
        poll=POLL_SECONDS,
        funder_name=funders.get(loan["funder_id"] or "", "-"),
        return_reasons=RETURN_REASONS,
        link=statement_link(request, loan_id),
        link_until=(date.today() + timedelta(days=days)).isoformat(),
        today=date.today().isoformat(),
        **extra,
    )


@router.get("/loans/{loan_id}", response_class=HTMLResponse)
async def loan_page(request: Request, loan_id: uuid.UUID, operator: SignedIn) -> HTMLResponse:
    require(operator, ROLE)
    return await _loan(request, operator, loan_id)


@router.get("/loans/{loan_id}/state", response_class=HTMLResponse)
async def loan_state(request: Request, loan_id: uuid.UUID, operator: SignedIn) -> HTMLResponse:
    """The waiting part, asked again every two seconds: once the effect has landed, the page
    reloads (`HX-Refresh`) to show the loan as it now is."""
    require(operator, ROLE)
    backend = backend_of(request, operator)
    loan = await backend.get("financing", f"/loans/{loan_id}")
    waiting = waiting_for(loan, await _placement(backend, loan["placement_id"]))
    response = render(
        request, "loan_state.html", operator, loan=loan, waiting=waiting, poll=POLL_SECONDS
    )
    if not waiting:
        response.headers["HX-Refresh"] = "true"
    return response


async def _act(
    request: Request,
    operator: Operator,
    loan_id: uuid.UUID,
    service: str,
    method: str,
    path: str,
    body: Any,
    done: str,
    typed: dict[str, Any] | None = None,
) -> HTMLResponse:
    """Send one command; the loan page then shows the service's answer: what was done, or
    the refusal in the service's words with what was typed kept to correct."""
    try:
        answer = await backend_of(request, operator).call(service, method, path, json=body)
    except Refusal as refusal:
        if refusal.status >= 500 or refusal.signed_out:
            raise
        return await _loan(
            request, operator, loan_id, refusal.status, refusal=refusal, typed=typed or {}
        )
    return await _loan(request, operator, loan_id, done=done, answer=answer)


def _refused_here(rule: str, message: str) -> Refusal:
    return Refusal("console", 422, rule, message)


def _not_positive(
    value: Any, field: str, message: str, *, optional: bool = False
) -> Refusal | None:
    """The console's own check of a number typed for a confirmation: a whole number more than
    zero (or nothing, where financing takes nothing as its own figure)."""
    if (value is None and optional) or (isinstance(value, int) and value > 0):
        return None
    return _refused_here(field, message)


async def _confirm(
    request: Request,
    operator: Operator,
    loan_id: uuid.UUID,
    form: Any,
    refusal: Refusal | None,
    **confirmation: Any,
) -> HTMLResponse:
    """The loan page with what will be sent and what it leaves, nothing saved yet; or, when the
    console's own check refused it, with the refusal and what was typed kept to correct."""
    if refusal is not None:
        return await _loan(request, operator, loan_id, 422, refusal=refusal, typed=_typed(form))
    return await _loan(request, operator, loan_id, **confirmation)


def _amount(form: Any, required: bool = True) -> int | str | None:
    typed = str(form.get("amount_idr", "")).strip()
    if not typed and not required:
        return None
    return whole(typed)


def _typed(form: Any) -> dict[str, str]:
    return {key: str(value) for key, value in form.items()}


# --- transfers ---------------------------------------------------------------------------------


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
    refusal = _not_positive(
        transfer["amount_idr"],
        "amount_idr",
        "the amount must be a whole number of rupiah, more than zero",
    )
    if refusal is not None:
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


# --- a loan that needs a decision: subsidy, write-off, schedule within the contract -----------


def _subsidy(form: Any) -> dict[str, Any]:
    return {
        "provider": str(form.get("provider", "")).strip(),
        "item": str(form.get("item", "")).strip(),
        "amount_idr": _amount(form),
    }


@router.post("/loans/{loan_id}/subsidy/check", response_class=HTMLResponse)
async def check_subsidy(request: Request, loan_id: uuid.UUID, operator: SignedIn) -> HTMLResponse:
    require(operator, ROLE)
    form = await request.form()
    subsidy = _subsidy(form)
    refusal = _not_positive(
        subsidy["amount_idr"],
        "amount_idr",
        "the subsidy must be a whole number of rupiah, more than zero",
    )
    return await _confirm(request, operator, loan_id, form, refusal, confirm_subsidy=subsidy)


@router.post("/loans/{loan_id}/subsidy", response_class=HTMLResponse)
async def grant_subsidy(request: Request, loan_id: uuid.UUID, operator: SignedIn) -> HTMLResponse:
    require(operator, ROLE)
    form = await request.form()
    path = f"/loans/{loan_id}/subsidies"
    body = _subsidy(form)
    return await _act(
        request, operator, loan_id, "financing", "POST", path, body, "subsidy", _typed(form)
    )


@router.post("/loans/{loan_id}/write-off/check", response_class=HTMLResponse)
async def check_write_off(request: Request, loan_id: uuid.UUID, operator: SignedIn) -> HTMLResponse:
    """The write-off as it will be sent: empty is the shortfall, as financing takes it."""
    require(operator, ROLE)
    form = await request.form()
    amount = _amount(form, required=False)
    refusal = _not_positive(
        amount,
        "amount_idr",
        "the write-off must be a whole number of rupiah, more than zero, or empty for the"
        " shortfall",
        optional=True,
    )
    confirmation = {"amount_idr": amount}
    return await _confirm(request, operator, loan_id, form, refusal, confirm_write_off=confirmation)


@router.post("/loans/{loan_id}/write-off", response_class=HTMLResponse)
async def write_off(request: Request, loan_id: uuid.UUID, operator: SignedIn) -> HTMLResponse:
    require(operator, ROLE)
    form = await request.form()
    body = {"amount_idr": _amount(form, required=False)}
    path = f"/loans/{loan_id}/write-offs"
    return await _act(
        request, operator, loan_id, "financing", "POST", path, body, "write_off", _typed(form)
    )


def _schedule(form: Any) -> dict[str, Any]:
    instalments = str(form.get("instalments", "")).strip()
    return {
        "first_due_date": str(form.get("first_due_date", "")).strip() or None,
        "instalments": whole(instalments) if instalments else None,
    }


@router.post("/loans/{loan_id}/schedule/check", response_class=HTMLResponse)
async def check_schedule(request: Request, loan_id: uuid.UUID, operator: SignedIn) -> HTMLResponse:
    """The schedule as it will be asked for; empty fields are financing's longest schedule
    within the contract, whose figures the decision gives."""
    require(operator, ROLE)
    form = await request.form()
    chosen = _schedule(form)
    refusal = _not_positive(
        chosen["instalments"],
        "instalments",
        "the number of instalments must be a whole number, more than zero",
        optional=True,
    )
    return await _confirm(request, operator, loan_id, form, refusal, confirm_schedule=chosen)


@router.post("/loans/{loan_id}/schedule", response_class=HTMLResponse)
async def fix_schedule(request: Request, loan_id: uuid.UUID, operator: SignedIn) -> HTMLResponse:
    require(operator, ROLE)
    form = await request.form()
    path = f"/loans/{loan_id}/schedule"
    body = _schedule(form)
    return await _act(
        request, operator, loan_id, "financing", "POST", path, body, "schedule", _typed(form)
    )


# --- cost items, before departure ----------------------------------------------------------------


def _cost_item(form: Any, code: str | None = None) -> dict[str, Any]:
    return {
        "code": code if code is not None else str(form.get("code", "")).strip(),
        "description": str(form.get("description", "")).strip(),
        "amount_idr": _amount(form),
    }


@router.post("/loans/{loan_id}/items", response_class=HTMLResponse)
async def add_cost_item(request: Request, loan_id: uuid.UUID, operator: SignedIn) -> HTMLResponse:
    require(operator, ROLE)
    form = await request.form()
    path = f"/loans/{loan_id}/items"
    body = _cost_item(form)
    return await _act(
        request, operator, loan_id, "financing", "POST", path, body, "item_added", _typed(form)
    )


@router.post("/loans/{loan_id}/items/{code}/remove", response_class=HTMLResponse)
async def remove_cost_item(
    request: Request, loan_id: uuid.UUID, code: str, operator: SignedIn
) -> HTMLResponse:
    require(operator, ROLE)
    path = f"/loans/{loan_id}/items/{code}"
    return await _act(request, operator, loan_id, "financing", "DELETE", path, None, "item_removed")


@router.post("/loans/{loan_id}/items/{code}/correct", response_class=HTMLResponse)
async def correct_cost_item(
    request: Request, loan_id: uuid.UUID, code: str, operator: SignedIn
) -> HTMLResponse:
    """A correction is financing's removal of the item and the corrected item added: should
    financing refuse the corrected one, the item as it was is put back, and the refusal
    shown."""
    require(operator, ROLE)
    form = await request.form()
    backend = backend_of(request, operator)
    loan = await backend.get("financing", f"/loans/{loan_id}")
    before = next((item for item in loan["cost_items"] if item["code"] == code), None)
    if before is None:
        raise Refusal("financing", 404, "not_found", f"loan {loan_id} has no cost item {code!r}")
    corrected = _cost_item(form, code)
    try:
        await backend.call("financing", "DELETE", f"/loans/{loan_id}/items/{code}")
        try:
            await backend.post("financing", f"/loans/{loan_id}/items", corrected)
        except Refusal:
            kept = {k: before[k] for k in ("code", "description", "amount_idr")}
            await backend.post("financing", f"/loans/{loan_id}/items", kept)
            raise
    except Refusal as refusal:
        if refusal.status >= 500 or refusal.signed_out:
            raise
        return await _loan(
            request, operator, loan_id, refusal.status, refusal=refusal, typed=_typed(form)
        )
    return await _loan(request, operator, loan_id, done="item_corrected")


# --- early return, and the restructuring after it --------------------------------------------


@router.post("/loans/{loan_id}/early-return", response_class=HTMLResponse)
async def early_return(request: Request, loan_id: uuid.UUID, operator: SignedIn) -> HTMLResponse:
    """Placement records the return; financing pauses the loan when its event arrives (the
    page waits for it)."""
    require(operator, ROLE)
    form = await request.form()
    loan = await backend_of(request, operator).get("financing", f"/loans/{loan_id}")
    body = {
        "return_date": str(form.get("return_date", "")),
        "reason": str(form.get("reason", "")),
    }
    path = f"/placements/{loan['placement_id']}/early-return"
    return await _act(
        request, operator, loan_id, "placement", "POST", path, body, "early_return", _typed(form)
    )


@router.post("/loans/{loan_id}/restructure", response_class=HTMLResponse)
async def restructure(request: Request, loan_id: uuid.UUID, operator: SignedIn) -> HTMLResponse:
    require(operator, ROLE)
    form = await request.form()
    body = {
        "first_due_date": str(form.get("first_due_date", "")),
        "instalments": whole(str(form.get("instalments", ""))),
    }
    path = f"/loans/{loan_id}/restructure"
    return await _act(
        request, operator, loan_id, "financing", "POST", path, body, "restructured", _typed(form)
    )


# --- funders -------------------------------------------------------------------------------------


async def _funders_page(
    request: Request, operator: Operator, status_code: int = 200, **extra: Any
) -> HTMLResponse:
    funders = await backend_of(request, operator).get("financing", "/funders")
    return render(request, "funders.html", operator, status_code, funders=funders, **extra)


@router.get("/funders", response_class=HTMLResponse)
async def funders_page(request: Request, operator: SignedIn) -> HTMLResponse:
    require(operator, ROLE)
    return await _funders_page(request, operator)


@router.post("/funders", response_class=HTMLResponse)
async def add_funder(request: Request, operator: SignedIn) -> HTMLResponse:
    """Funders are added by the agency running financing (Kemnaker on the embedded default);
    another agency's officer is refused in financing's words."""
    require(operator, ROLE)
    name = str((await request.form()).get("name", "")).strip()
    try:
        created = await backend_of(request, operator).post("financing", "/funders", {"name": name})
    except Refusal as refusal:
        if refusal.status >= 500 or refusal.signed_out:
            raise
        return await _funders_page(request, operator, refusal.status, refusal=refusal, name=name)
    return await _funders_page(request, operator, created=created)
