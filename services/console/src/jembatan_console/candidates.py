"""A candidate's journey across the four services on one page, and the waiting that events
need: a part whose record arrives through the bus (training's enrolment after registration,
placement's ready candidate after the certificates, financing's loan after the contract) is
shown as pending and asks again every two seconds (htmx polling) until it lands, so nobody
meets `candidate_not_enrolled` for a candidate they have just registered."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from jembatan_contracts import TestKind, WithdrawalReason

from .backend import Backend, Refusal
from .web import Operator, SignedIn, backend_of, render, require, settings_of, whole

router = APIRouter()
SECTIONS = ("registration", "training", "placement", "financing")
POLL_SECONDS = 2
CORRECTABLE = (
    "nik",
    "full_name",
    "birth_date",
    "sex",
    "education",
    "preferred_sector",
    "phone",
    "region_code",
)
"""What registration's correction (`PATCH /candidates/{id}`) takes; a field left empty is not
corrected."""
NATIONAL_STANDINGS = ("cleared", "provisional", "duplicate", "suspended")


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
        candidate = await backend.get("registration", f"/candidates/{c}")
        # Provisional: the national identity index has still to hear of the candidate, which
        # registration tells it by itself as soon as it can be asked.
        provisional = candidate["status"] == "active" and candidate["national_check"] == (
            "provisional"
        )
        return {"name": name, "candidate": candidate, "pending": provisional}
    if name == "training":
        enrolment = await backend.maybe("training", f"/candidates/{c}")
        # After a withdrawal, until training has it: `awaiting` keeps the part polling.
        awaiting = after_action and (enrolment is None or enrolment["status"] != "withdrawn")
        identity = await _identity_on_its_way(backend, c, enrolment)
        return {
            "name": name,
            "enrolment": enrolment,
            "pending": enrolment is None or awaiting or identity,
            "awaiting": "withdrawal" if awaiting else "",
            "identity": identity,
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


async def _identity_on_its_way(
    backend: Backend, candidate_id: str, enrolment: dict[str, Any] | None
) -> bool:
    """Whether registration's national check stands otherwise than training's hold of the
    candidate: the event that tells training (a clearance, a duplicate found) is on its way."""
    if enrolment is None or enrolment["status"] != "enrolled":
        return False
    candidate = await backend.get("registration", f"/candidates/{candidate_id}")
    held = enrolment.get("national_hold") or "cleared"
    return candidate["status"] == "active" and held != candidate["national_check"]


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
        if enrolment["withdrawn_on"]:
            events.append((enrolment["withdrawn_on"], "training", "withdrawn"))
    for placement in parts["placement"].get("placements", []):
        for step in placement["steps"]:
            events.append(
                (step["happened_on"], "placement", f"{step['status']} ({placement['employer']})")
            )
    for loan in parts["financing"].get("loans", []):
        events.append((loan["opened_at"], "financing", "loan opened"))
    return sorted(events)


async def journey_events(
    backend: Backend, candidate_id: uuid.UUID, trace_url: str | None, awaiting: str = ""
) -> dict[str, Any]:
    """The journey's events as the page lists them: they keep coming while any part waits for
    one (`awaiting`: the part an action set waiting), so the list asks again as the parts do."""
    parts = {
        name: await section(backend, candidate_id, name, after_action=name == awaiting)
        for name in SECTIONS
    }
    return _events_of(parts, trace_url, awaiting)


def _events_of(
    parts: dict[str, dict[str, Any]], trace_url: str | None, awaiting: str = ""
) -> dict[str, Any]:
    pending = any(part.get("pending") for part in parts.values())
    journey_id = parts["registration"]["candidate"]["journey_id"]
    return {
        "list": [
            (when, service, what, trace_link(trace_url, journey_id, when))
            for when, service, what in timeline(parts)
        ],
        "journey_id": journey_id,
        "pending": pending,
        "awaiting": awaiting if pending else "",
    }


TRACE_WINDOW = timedelta(minutes=5)


def trace_link(template: str | None, journey_id: str, when: str) -> str | None:
    """A trace viewer's search for the journey's spans around the event's time
    (`CONSOLE_TRACE_URL`, with `{journey_id}`, `{start_us}` and `{end_us}`); an event known
    by its day only is searched for over that day. None without a trace viewer."""
    if not template:
        return None
    if len(when) == len("2026-12-05"):
        start = datetime.combine(date.fromisoformat(when), datetime.min.time(), UTC)
        end = start + timedelta(days=1)
    else:
        moment = datetime.fromisoformat(when.replace("Z", "+00:00"))
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        start, end = moment - TRACE_WINDOW, moment + TRACE_WINDOW
    return template.format(
        journey_id=journey_id,
        start_us=int(start.timestamp() * 1_000_000),
        end_us=int(end.timestamp() * 1_000_000),
    )


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
        events=_events_of(parts, settings_of(request).console_trace_url),
        tests=[kind.value for kind in TestKind],
        reasons=[reason.value for reason in WithdrawalReason],
        standings=NATIONAL_STANDINGS,
        poll=POLL_SECONDS,
    )


@router.get("/candidates/{candidate_id}/events", response_class=HTMLResponse)
async def journey_events_part(
    request: Request, candidate_id: uuid.UUID, operator: SignedIn, awaiting: str = ""
) -> HTMLResponse:
    """The list of the journey's events, for htmx to poll while a part of the page waits."""
    backend = backend_of(request, operator)
    events = await journey_events(
        backend,
        candidate_id,
        settings_of(request).console_trace_url,
        awaiting if awaiting in SECTIONS else "",
    )
    return render(
        request,
        "journey_events.html",
        operator,
        candidate_id=candidate_id,
        events=events,
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
        standings=NATIONAL_STANDINGS,
        poll=POLL_SECONDS,
        **extra,
    )


Answer = TypeVar("Answer")


async def attempt(call: Awaitable[Answer]) -> tuple[Answer | None, Refusal | None]:
    """A service's answer to an operator's action, or its refusal, kept to be said in the part
    the action was taken in (htmx swaps only 2xx answers). A service that cannot answer, or a
    token it refuses, is raised: the page says so, or the operator signs in again."""
    try:
        return await call, None
    except Refusal as refused:
        if refused.status >= 500 or refused.signed_out:
            raise
        return None, refused


async def acted(
    request: Request,
    operator: Operator,
    candidate_id: uuid.UUID,
    call: Awaitable[Any],
    *,
    part: str,
    answer_as: str,
    starts_wait: Callable[[Any], str | None] = lambda _answer: None,
    redraws: tuple[str, ...] = (),
) -> HTMLResponse:
    """An action taken in a part of the journey page: the service called, the part redrawn
    with the answer (as `answer_as`) or the refusal in words. When the answer starts a wait
    for an event (`starts_wait` names the part that waits for it), that part is sent along
    (out of band), pending, to ask again until the event lands; the parts the action may
    change through the bus (`redraws`) and the list of events are sent along as they are now,
    asking again while they wait."""
    backend = backend_of(request, operator)
    answer, refusal = await attempt(call)
    redrawn = await section(backend, candidate_id, part)
    waiting = starts_wait(answer) if refusal is None else None
    also = [await section(backend, candidate_id, name) for name in redraws if name != waiting]
    if waiting:
        also.append(await section(backend, candidate_id, waiting, after_action=True))
    events = await journey_events(
        backend, candidate_id, settings_of(request).console_trace_url, waiting or ""
    )
    return render_part(
        request,
        operator,
        candidate_id,
        redrawn,
        refusal=refusal,
        oob=also,
        events_oob=events,
        action=answer_as,
        **{answer_as: answer},
    )


@router.post("/candidates/{candidate_id}/results", response_class=HTMLResponse)
async def record_result(
    request: Request, candidate_id: uuid.UUID, operator: SignedIn
) -> HTMLResponse:
    """A test result (a certificate); when it makes the candidate ready, the placement part
    waits for placement's record of it."""
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
    return await acted(
        request,
        operator,
        candidate_id,
        backend.post("training", f"/candidates/{candidate_id}/results", body),
        part="training",
        answer_as="recorded",
        starts_wait=_placement_if_ready,
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
    return await acted(
        request,
        operator,
        candidate_id,
        backend.call("training", "PUT", f"/candidates/{candidate_id}/sector", json=body),
        part="training",
        answer_as="sector_changed",
        starts_wait=_placement_if_ready,
    )


def _placement_if_ready(answer: dict[str, Any]) -> str | None:
    """The candidate became ready: placement hears of it through the bus."""
    return "placement" if answer["became_ready"] else None


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
    return await acted(
        request,
        operator,
        candidate_id,
        backend.post("registration", f"/candidates/{candidate_id}/withdrawal", body),
        part="registration",
        answer_as="withdrawn",
        starts_wait=lambda _answer: "training",
    )


@router.post("/candidates/{candidate_id}/correction", response_class=HTMLResponse)
async def correct(request: Request, candidate_id: uuid.UUID, operator: SignedIn) -> HTMLResponse:
    """A correction of the candidate's personal data through registration's correction
    (`PATCH /candidates/{id}`): only the fields filled in are corrected, each judged again by
    the registration rules; a corrected NIK runs the national check again. Training hears of
    a clearance through the bus: its part waits for it."""
    require(operator, "registrar")
    form = await request.form()
    body = {
        name: value
        for name in CORRECTABLE
        if (value := str(form.get(f"correct_{name}", "")).strip())
    }
    backend = backend_of(request, operator)
    return await acted(
        request,
        operator,
        candidate_id,
        backend.call("registration", "PATCH", f"/candidates/{candidate_id}", json=body),
        part="registration",
        answer_as="corrected",
        redraws=("training",),
    )
