"""The placement office: job orders, their ranked matches with the explanation, and each
placement's path (shortlist, interview, offer, contract, CoE, visa, departure) as a timeline
with the next step it allows. Placement decides; the console offers only the next step and
shows a refusal in placement's words."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from jembatan_contracts import TestKind, Track

from .backend import Refusal
from .web import Operator, SignedIn, backend_of, render, require, whole

router = APIRouter()
ROLE = "placement-officer"

PATH = ("shortlisted", "interviewed", "offered", "placed", "coe_issued", "visa_issued", "departed")
"""The path's states in order, as placement names them."""
NEXT_STEPS: dict[str, tuple[str, ...]] = {
    "shortlisted": ("interview_pass", "interview_fail"),
    "interviewed": ("offer",),
    "offered": ("contract",),
    "placed": ("certificate-of-eligibility",),
    "coe_issued": ("visa",),
    "visa_issued": ("departure",),
}
"""The steps each state allows next: the buttons of the placement's page."""


@router.get("/placement", response_class=HTMLResponse)
async def job_orders_page(request: Request, operator: SignedIn) -> HTMLResponse:
    require(operator, ROLE)
    orders = await backend_of(request, operator).get("placement", "/job-orders", status="open")
    return render(request, "placement.html", operator, orders=orders, values={}, **_choices())


def _choices() -> dict[str, Any]:
    return {
        "tracks": [track.value for track in Track],
        "certificates": [kind.value for kind in TestKind],
    }


@router.post("/placement/job-orders", response_class=HTMLResponse)
async def open_job_order(request: Request, operator: SignedIn) -> Response:
    require(operator, ROLE)
    form = await request.form()
    values = {k: str(v).strip() for k, v in form.items() if k != "required_certificates"}
    body: dict[str, Any] = {
        name: values.get(name, "")
        for name in ("employer", "supervising_organisation", "prefecture", "sector", "track")
    }
    for name in ("slots", "monthly_wage_jpy", "contract_months"):
        body[name] = whole(values.get(name, ""))
    body["required_certificates"] = [str(v) for v in form.getlist("required_certificates")]
    if values.get("minimum_language_level"):
        body["minimum_language_level"] = values["minimum_language_level"]
    backend = backend_of(request, operator)
    try:
        opened = await backend.post("placement", "/job-orders", body)
    except Refusal as refusal:
        if refusal.status >= 500 or refusal.signed_out:
            raise
        orders = await backend.get("placement", "/job-orders", status="open")
        return render(
            request,
            "placement.html",
            operator,
            refusal.status,
            orders=orders,
            refusal=refusal,
            values=values,
            **_choices(),
        )
    return RedirectResponse(f"/placement/job-orders/{opened['id']}", status_code=303)


@router.get("/placement/job-orders/{job_order_id}", response_class=HTMLResponse)
async def job_order_page(
    request: Request, job_order_id: uuid.UUID, operator: SignedIn
) -> HTMLResponse:
    require(operator, ROLE)
    return await _job_order(request, job_order_id, operator)


async def _job_order(
    request: Request,
    job_order_id: uuid.UUID,
    operator: Operator,
    refusal: Refusal | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    backend = backend_of(request, operator)
    order = await backend.get("placement", f"/job-orders/{job_order_id}")
    matches = await backend.get("placement", f"/job-orders/{job_order_id}/matches")
    placements = await backend.get("placement", "/placements", job_order_id=str(job_order_id))
    names: dict[str, str] = {}
    for candidate_id in {m["candidate_id"] for m in matches["matches"]} | {
        p["candidate_id"] for p in placements
    }:
        found = await backend.maybe("registration", f"/candidates/{candidate_id}")
        names[candidate_id] = found["full_name"] if found else candidate_id[:8]
    return render(
        request,
        "job_order.html",
        operator,
        status_code,
        order=order,
        matches=matches,
        placements=placements,
        names=names,
        refusal=refusal,
    )


@router.post("/placement/job-orders/{job_order_id}/shortlist", response_class=HTMLResponse)
async def shortlist(request: Request, job_order_id: uuid.UUID, operator: SignedIn) -> Response:
    require(operator, ROLE)
    form = await request.form()
    body = {"candidate_id": str(form.get("candidate_id", ""))}
    try:
        placement = await backend_of(request, operator).post(
            "placement", f"/job-orders/{job_order_id}/shortlist", body
        )
    except Refusal as refusal:
        if refusal.status >= 500 or refusal.signed_out:
            raise
        return await _job_order(request, job_order_id, operator, refusal, refusal.status)
    return RedirectResponse(f"/placement/placements/{placement['id']}", status_code=303)


@router.get("/placement/placements/{placement_id}", response_class=HTMLResponse)
async def placement_page(
    request: Request, placement_id: uuid.UUID, operator: SignedIn
) -> HTMLResponse:
    require(operator, ROLE)
    return await _placement(request, placement_id, operator)


async def _placement(
    request: Request,
    placement_id: uuid.UUID,
    operator: Operator,
    refusal: Refusal | None = None,
    status_code: int = 200,
    recorded: bool = False,
) -> HTMLResponse:
    backend = backend_of(request, operator)
    placement = await backend.get("placement", f"/placements/{placement_id}")
    candidate = await backend.maybe("registration", f"/candidates/{placement['candidate_id']}")
    reached = {step["status"] for step in placement["steps"]}
    return render(
        request,
        "placement_path.html",
        operator,
        status_code,
        placement=placement,
        name=candidate["full_name"] if candidate else placement["candidate_id"][:8],
        path=PATH,
        reached=reached,
        next_steps=NEXT_STEPS.get(placement["status"], ()),
        today=date.today().isoformat(),
        refusal=refusal,
        recorded=recorded,
    )


@router.post("/placement/placements/{placement_id}/step", response_class=HTMLResponse)
async def advance(request: Request, placement_id: uuid.UUID, operator: SignedIn) -> Response:
    require(operator, ROLE)
    form = await request.form()
    step = str(form.get("step", ""))
    on = str(form.get("on", "")) or None
    path, body = _step_call(step, on)
    if path is None:
        return await _placement(
            request,
            placement_id,
            operator,
            Refusal("console", 422, "unknown_step", f"'{step}' is not a step of the path"),
            422,
        )
    try:
        await backend_of(request, operator).post(
            "placement", f"/placements/{placement_id}/{path}", body
        )
    except Refusal as refusal:
        if refusal.status >= 500 or refusal.signed_out:
            raise
        return await _placement(request, placement_id, operator, refusal, refusal.status)
    return await _placement(request, placement_id, operator, recorded=True)


def _step_call(step: str, on: str | None) -> tuple[str | None, dict[str, Any]]:
    """Placement's path and body for a step of the form."""
    if step in ("interview_pass", "interview_fail"):
        body: dict[str, Any] = {"passed": step == "interview_pass"}
        if on:
            body["interviewed_on"] = on
        return "interview", body
    if step == "departure":
        return "departure", {"departure_date": on or ""}
    if step in ("offer", "contract", "certificate-of-eligibility", "visa"):
        return step, {"on": on} if on else {}
    return None, {}
