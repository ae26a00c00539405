"""A candidate's journey across the four services on one page, and the waiting that events
need: a part whose record arrives through the bus (training's enrolment after registration,
placement's ready candidate after the certificates, financing's loan after the contract) is
shown as pending and asks again every two seconds (htmx polling) until it lands, so nobody
meets `candidate_not_enrolled` for a candidate they have just registered."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from jembatan_contracts import TestKind, WithdrawalReason

from .backend import Backend, Refusal
from .web import Operator, SignedIn, backend_of, render, require, whole

router = APIRouter()
SECTIONS = ("registration", "training", "placement", "financing")
POLL_SECONDS = 2


@router.get("/candidates", response_class=HTMLResponse)
async def candidate_list(request: Request, operator: SignedIn) -> HTMLResponse:
    found = await backend_of(request, operator).get("registration", "/candidates", limit=200)
    found.sort(key=lambda c: c["registered_at"], reverse=True)
    return render(request, "candidates.html", operator, candidates=found)


async def section(
    backend: Backend, candidate_id: uuid.UUID, name: str, after_action: bool = False
) -> dict[str, Any]:
    """What the page shows of one service: its record, or `pending` while the event that makes
    it is on its way (the part then polls). A service that cannot answer now is said in its
    part, which keeps asking, and the rest of the page is shown: only registration, which
    names the candidate, is needed for the page."""
    try:
        return await _section(backend, candidate_id, name, after_action)
    except Refusal as refusal:
        if name == "registration" or refusal.status < 500:
            raise
        return {"name": name, "pending": True, "unavailable": refusal}


async def _section(
    backend: Backend, candidate_id: uuid.UUID, name: str, after_action: bool
) -> dict[str, Any]:
    c = str(candidate_id)
    if name == "registration":
        return {"name": name, "candidate": await backend.get("registration", f"/candidates/{c}")}
    if name == "training":
        enrolment = await backend.maybe("training", f"/candidates/{c}")
        # After a withdrawal, until training has it: `awaiting` keeps the part polling.
        awaiting = after_action and (enrolment is None or enrolment["status"] != "withdrawn")
        return {
            "name": name,
            "enrolment": enrolment,
            "pending": enrolment is None or awaiting,
            "awaiting": "withdrawal" if awaiting else "",
        }
    if name == "placement":
        enrolment = await backend.maybe("training", f"/candidates/{c}")
        ready = await backend.maybe("placement", f"/ready-candidates/{c}")
        placements = await backend.get("placement", "/placements", candidate_id=c)
        waiting = bool(enrolment and enrolment["ready"] and ready is None)
        return {
            "name": name,
            "ready": ready,
            "placements": placements,
            "pending": waiting or (after_action and ready is None),
            "not_ready": enrolment is not None and not enrolment["ready"],
        }
    loans = await backend.get("financing", "/loans", candidate_id=c)
    placements = await backend.get("placement", "/placements", candidate_id=c)
    contracted = any(p["placed_at"] for p in placements)
    return {"name": name, "loans": loans, "pending": contracted and not loans}


def timeline(parts: dict[str, dict[str, Any]]) -> list[tuple[str, str, str]]:
    """(when, service, what) of each thing that happened, oldest first."""
    events: list[tuple[str, str, str]] = []
    candidate = parts["registration"]["candidate"]
    events.append((candidate["registered_at"], "registration", "CandidateRegistered"))
    if enrolment := parts["training"].get("enrolment"):
        events.append((enrolment["enrolled_at"], "training", "enrolled"))
        for result in enrolment["results"]:
            outcome = "passed" if result["passed"] else "failed"
            level = result["level"] or result["score"] or ""
            events.append(
                (result["recorded_at"], "training", f"{result['test']} {level} {outcome}")
            )
        if enrolment["ready_at"]:
            events.append((enrolment["ready_at"], "training", "CandidateReadyForPlacement"))
    for placement in parts["placement"].get("placements", []):
        for step in placement["steps"]:
            events.append(
                (step["happened_on"], "placement", f"{step['status']} ({placement['employer']})")
            )
    for loan in parts["financing"].get("loans", []):
        events.append((loan["opened_at"], "financing", "loan opened"))
    return sorted(events)


@router.get("/candidates/{candidate_id}", response_class=HTMLResponse)
async def journey_page(
    request: Request, candidate_id: uuid.UUID, operator: SignedIn
) -> HTMLResponse:
    backend = backend_of(request, operator)
    parts = {name: await section(backend, candidate_id, name) for name in SECTIONS}
    return render(
        request,
        "journey.html",
        operator,
        candidate_id=candidate_id,
        parts=parts,
        events=timeline(parts),
        tests=[kind.value for kind in TestKind],
        reasons=[reason.value for reason in WithdrawalReason],
        poll=POLL_SECONDS,
    )


@router.get("/candidates/{candidate_id}/part/{name}", response_class=HTMLResponse)
async def journey_part(
    request: Request, candidate_id: uuid.UUID, name: str, operator: SignedIn, awaiting: str = ""
) -> HTMLResponse:
    """One part of the journey page, for htmx to poll while it is pending (`awaiting`: the
    event an action started, which the part waits for even once its record exists)."""
    if name not in SECTIONS:
        return HTMLResponse("", status_code=404)
    backend = backend_of(request, operator)
    part = await section(backend, candidate_id, name, after_action=bool(awaiting))
    return render_part(request, operator, candidate_id, part)


def render_part(
    request: Request,
    operator: Operator,
    candidate_id: uuid.UUID,
    part: dict[str, Any],
    **extra: Any,
) -> HTMLResponse:
    return render(
        request,
        "journey_part.html",
        operator,
        candidate_id=candidate_id,
        part=part,
        tests=[kind.value for kind in TestKind],
        reasons=[reason.value for reason in WithdrawalReason],
        poll=POLL_SECONDS,
        **extra,
    )


@router.post("/candidates/{candidate_id}/results", response_class=HTMLResponse)
async def record_result(
    request: Request, candidate_id: uuid.UUID, operator: SignedIn
) -> HTMLResponse:
    """A test result (a certificate); when it makes the candidate ready, the placement part is
    sent along as pending (out of band), so it starts waiting for placement's record. A
    refusal is shown in the part (htmx swaps only 2xx answers)."""
    require(operator, "trainer")
    form = await request.form()
    body: dict[str, Any] = {
        "test": str(form.get("test", "")),
        "issuer": str(form.get("issuer", "")).strip(),
        "taken_on": str(form.get("taken_on", "")),
    }
    if level := str(form.get("level", "")).strip():
        body["level"] = level
    if score := str(form.get("score", "")).strip():
        body["score"] = whole(score)
    if form.get("passed") in ("true", "false"):
        body["passed"] = form.get("passed") == "true"
    backend = backend_of(request, operator)
    recorded: dict[str, Any] | None = None
    refusal: Refusal | None = None
    try:
        recorded = await backend.post("training", f"/candidates/{candidate_id}/results", body)
    except Refusal as refused:
        if refused.status >= 500 or refused.signed_out:
            raise
        refusal = refused
    part = await section(backend, candidate_id, "training")
    placement = None
    if recorded and recorded["became_ready"]:
        placement = await section(backend, candidate_id, "placement", after_action=True)
    return render_part(
        request,
        operator,
        candidate_id,
        part,
        recorded=recorded,
        refusal=refusal,
        oob=placement,
    )


@router.post("/candidates/{candidate_id}/sector", response_class=HTMLResponse)
async def change_sector(
    request: Request, candidate_id: uuid.UUID, operator: SignedIn
) -> HTMLResponse:
    """Penjurusan: the training sector chosen for the candidate, with the reason, as training
    records it (and the readiness it leaves)."""
    require(operator, "trainer")
    form = await request.form()
    body = {
        "sector": str(form.get("sector", "")).strip(),
        "reason": str(form.get("reason", "")).strip(),
    }
    backend = backend_of(request, operator)
    changed: dict[str, Any] | None = None
    refusal: Refusal | None = None
    try:
        changed = await backend.call(
            "training", "PUT", f"/candidates/{candidate_id}/sector", json=body
        )
    except Refusal as refused:
        if refused.status >= 500 or refused.signed_out:
            raise
        refusal = refused
    part = await section(backend, candidate_id, "training")
    placement = None
    if changed and changed["became_ready"]:
        placement = await section(backend, candidate_id, "placement", after_action=True)
    return render_part(
        request,
        operator,
        candidate_id,
        part,
        sector_changed=changed,
        refusal=refusal,
        oob=placement,
    )


@router.post("/candidates/{candidate_id}/withdrawal", response_class=HTMLResponse)
async def withdraw(request: Request, candidate_id: uuid.UUID, operator: SignedIn) -> HTMLResponse:
    """The candidate leaves the programme, with the reason; training, placement and financing
    learn of it through the bus (their parts show it as it lands)."""
    require(operator, "registrar")
    form = await request.form()
    body: dict[str, Any] = {"reason": str(form.get("withdraw_reason", ""))}
    if note := str(form.get("note", "")).strip():
        body["note"] = note
    backend = backend_of(request, operator)
    refusal: Refusal | None = None
    try:
        await backend.post("registration", f"/candidates/{candidate_id}/withdrawal", body)
    except Refusal as refused:
        if refused.status >= 500 or refused.signed_out:
            raise
        refusal = refused
    part = await section(backend, candidate_id, "registration")
    training = None
    if refusal is None:
        training = await section(backend, candidate_id, "training", after_action=True)
    return render_part(
        request,
        operator,
        candidate_id,
        part,
        refusal=refusal,
        withdrawn=refusal is None,
        oob=training,
    )
