"""The training centre: cohorts with their free seats, members, and a day's scores for a
whole class in one save (one call per member to training, each answered on its row), with the
members below the daily target highlighted."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from .backend import Backend, Refusal
from .web import Operator, SignedIn, backend_of, render, require, whole

router = APIRouter()
ROLE = "trainer"


@router.get("/training", response_class=HTMLResponse)
async def cohorts_page(request: Request, operator: SignedIn) -> HTMLResponse:
    require(operator, ROLE)
    cohorts = await backend_of(request, operator).get("training", "/cohorts")
    return render(request, "training.html", operator, cohorts=cohorts, values={})


@router.post("/training/cohorts", response_class=HTMLResponse)
async def open_cohort(request: Request, operator: SignedIn) -> HTMLResponse:
    require(operator, ROLE)
    form = await request.form()
    values = {k: str(v).strip() for k, v in form.items()}
    body: dict[str, Any] = {
        "training_centre": values.get("training_centre", ""),
        "name": values.get("name", ""),
        "mode": values.get("mode", "offline"),
        "stages": [
            {
                "centre": values.get("training_centre", ""),
                "starts_on": values.get("starts_on", ""),
                "ends_on": values.get("ends_on", ""),
            }
        ],
    }
    if values.get("capacity"):
        body["capacity"] = whole(values["capacity"])
    if values.get("sector"):
        body["sector"] = values["sector"]
    backend = backend_of(request, operator)
    try:
        opened = await backend.post("training", "/cohorts", body)
    except Refusal as refusal:
        if refusal.status >= 500 or refusal.signed_out:
            raise
        cohorts = await backend.get("training", "/cohorts")
        return render(
            request,
            "training.html",
            operator,
            422,
            cohorts=cohorts,
            refusal=refusal,
            values=values,
        )
    return await _cohort(request, operator, backend, uuid.UUID(opened["cohort_id"]), opened=True)


async def _cohort(
    request: Request,
    operator: Operator,
    backend: Backend,
    cohort_id: uuid.UUID,
    status_code: int = 200,
    **extra: Any,
) -> HTMLResponse:
    cohort = await backend.get("training", f"/cohorts/{cohort_id}")
    warning = await backend.get("training", f"/cohorts/{cohort_id}/early-warning")
    below = {row["candidate_id"]: row for row in warning["below_target"]}
    registered = await backend.get("registration", "/candidates", limit=500)
    names = {c["candidate_id"]: c["full_name"] for c in registered}
    members = {member["candidate_id"] for member in cohort["members"]}
    enrolled = await backend.get("training", "/candidates", limit=500)
    candidates = [
        (e["candidate_id"], names.get(e["candidate_id"], e["candidate_id"][:8]))
        for e in enrolled
        if e["status"] == "enrolled" and e["candidate_id"] not in members
    ]
    return render(
        request,
        "cohort.html",
        operator,
        status_code,
        cohort=cohort,
        below=below,
        target=warning["target"],
        names=names,
        candidates=sorted(candidates, key=lambda c: c[1]),
        today=extra.pop("day", None) or date.today().isoformat(),
        yesterday=(date.today() - timedelta(days=1)).isoformat(),
        **extra,
    )


@router.get("/training/cohorts/{cohort_id}", response_class=HTMLResponse)
async def cohort_page(request: Request, cohort_id: uuid.UUID, operator: SignedIn) -> HTMLResponse:
    require(operator, ROLE)
    return await _cohort(request, operator, backend_of(request, operator), cohort_id)


@router.post("/training/cohorts/{cohort_id}/members", response_class=HTMLResponse)
async def add_member(request: Request, cohort_id: uuid.UUID, operator: SignedIn) -> HTMLResponse:
    require(operator, ROLE)
    form = await request.form()
    candidate = str(form.get("candidate_id", "")).strip()
    backend = backend_of(request, operator)
    try:
        await backend.post("training", f"/cohorts/{cohort_id}/members", {"candidate_id": candidate})
    except Refusal as refusal:
        if refusal.status >= 500 or refusal.signed_out:
            raise
        return await _cohort(request, operator, backend, cohort_id, 422, refusal=refusal)
    return await _cohort(request, operator, backend, cohort_id, added=True)


@router.post("/training/cohorts/{cohort_id}/scores", response_class=HTMLResponse)
async def save_scores(request: Request, cohort_id: uuid.UUID, operator: SignedIn) -> HTMLResponse:
    """Each filled score is sent for its member; a refused one is shown on its row, the
    others are saved (training's answer for each)."""
    require(operator, ROLE)
    form = await request.form()
    day = str(form.get("day", ""))
    backend = backend_of(request, operator)
    saved = 0
    refused: dict[str, Refusal] = {}
    for key, value in form.items():
        if not key.startswith("score-") or not str(value).strip():
            continue
        candidate = key.removeprefix("score-")
        try:
            await backend.post(
                "training",
                f"/candidates/{candidate}/daily-scores",
                {"day": day, "score": whole(str(value))},
            )
            saved += 1
        except Refusal as refusal:
            if refusal.status >= 500 or refusal.signed_out:
                raise
            refused[candidate] = refusal
    return await _cohort(
        request,
        operator,
        backend,
        cohort_id,
        422 if refused else 200,
        saved=saved,
        refused_scores=refused,
        day=day,
    )
