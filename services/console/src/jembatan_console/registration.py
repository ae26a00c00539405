"""The registration desk: one candidate through the form, checked as it is typed, or a class
list as a CSV file. The rules are registration's: the console sends what the operator typed
(to registration's check while typing, which keeps nothing) and shows each finding in its
words (eligibility explained rule by rule, warnings, refusals, the duplicate)."""

from __future__ import annotations

import base64
import csv
import io
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from jembatan_contracts import Track
from jembatan_kit.auth import NATIONAL_AGENCY
from jembatan_kit.settings import SHIPPED_AGENCIES

from .backend import Refusal
from .web import SignedIn, backend_of, render, require, settings_of

router = APIRouter()
ROLE = "registrar"
FIELDS = (
    "nik",
    "full_name",
    "birth_date",
    "sex",
    "education",
    "track",
    "preferred_sector",
    "phone",
    "region_code",
)
COLUMNS = (*FIELDS[:7], "phone", "region_code", "selection_date")
EDUCATION = ("SD", "SMP", "SMA", "SMK", "D3", "S1")


def _form_context(request: Request, values: dict[str, str]) -> dict[str, Any]:
    agency = settings_of(request).console_agency
    return {
        "values": values,
        "tracks": [track.value for track in Track],
        "education_levels": EDUCATION,
        "agencies": [a for a in SHIPPED_AGENCIES if a != NATIONAL_AGENCY]
        if agency == NATIONAL_AGENCY
        else [],
        "columns": ", ".join(COLUMNS),
    }


@router.get("/registration", response_class=HTMLResponse)
async def registration_page(request: Request, operator: SignedIn) -> HTMLResponse:
    require(operator, ROLE)
    return render(request, "registration.html", operator, **_form_context(request, {}))


async def _typed(request: Request) -> tuple[dict[str, str], dict[str, Any]]:
    """The form as typed, and the registration it asks for, as registration's API takes it."""
    form = await request.form()
    values = {name: str(form.get(name, "")).strip() for name in (*FIELDS, "agency")}
    agency = settings_of(request).console_agency
    optional = ("phone", "region_code")
    body: dict[str, Any] = {
        name: values[name] for name in FIELDS if values[name] or name not in optional
    }
    body["agency"] = values["agency"] if agency == NATIONAL_AGENCY and values["agency"] else agency
    return values, body


CHECKED_AS_TYPED = {"name_present": "full_name", "sector_for_track": "preferred_sector"}
"""Rules about a field the operator has not reached yet: while it is empty, the checks as the
operator types do not report it (the registration itself will)."""


@router.post("/registration/check", response_class=HTMLResponse)
async def check(request: Request, operator: SignedIn) -> HTMLResponse:
    """The registration judged as it stands while the operator types (htmx, on the NIK, the
    birth date, the sex and the region): registration's own check (`POST /candidates/check`),
    which applies the rules of a registration and keeps nothing. Its findings about the NIK
    come back as a fragment: the NIK's reading, warnings where it disagrees with what was
    declared, refusals with their rule."""
    require(operator, ROLE)
    values, body = await _typed(request)
    context: dict[str, Any] = {"values": values}
    if values["nik"] and values["birth_date"]:
        try:
            context["checked"] = await backend_of(request, operator).post(
                "registration", "/candidates/check", body
            )
        except Refusal as refusal:
            if refusal.signed_out:
                raise
            context["refusal"] = refusal
            failed = [
                check
                for check in refusal.details.get("checks") or []
                if not check["passed"] and values.get(CHECKED_AS_TYPED.get(check["rule"], "nik"))
            ]
            problems = [
                problem
                for problem in refusal.details.get("problems") or []
                if values.get(str(problem.get("field", "")).rsplit(".", 1)[-1])
            ]
            context["failed"] = failed
            context["problems"] = problems
            context["unanswered"] = refusal.status >= 500
            context["not_yet"] = refusal.rule in ("registration_refused", "invalid_request") and (
                not failed and not problems
            )
    return render(request, "nik_check.html", operator, **context)


@router.post("/registration", response_class=HTMLResponse)
async def register(request: Request, operator: SignedIn) -> HTMLResponse:
    require(operator, ROLE)
    values, body = await _typed(request)
    try:
        registered = await backend_of(request, operator).post("registration", "/candidates", body)
    except Refusal as refusal:
        if refusal.status >= 500 or refusal.signed_out:
            raise
        return render(
            request,
            "registration.html",
            operator,
            refusal.status,
            refusal=refusal,
            checks=refusal.details.get("checks") or [],
            problems=refusal.details.get("problems") or [],
            **_form_context(request, values),
        )
    return render(
        request,
        "registration.html",
        operator,
        registered=registered,
        checks=registered["checks"],
        name=values["full_name"],
        **_form_context(request, {}),
    )


@router.post("/registration/upload", response_class=HTMLResponse)
async def upload(request: Request, operator: SignedIn) -> HTMLResponse:
    require(operator, ROLE)
    form = await request.form()
    file = form.get("file")
    content = await file.read() if file is not None and not isinstance(file, str) else b""
    try:
        answer = await backend_of(request, operator).call(
            "registration",
            "POST",
            "/candidates/bulk",
            params={"agency": settings_of(request).console_agency},
            content=content,
            content_type="text/csv",
        )
    except Refusal as refusal:
        if refusal.status >= 500 or refusal.signed_out:
            raise
        return render(
            request,
            "registration.html",
            operator,
            refusal.status,
            upload_refusal=refusal,
            **_form_context(request, {}),
        )
    return render(
        request,
        "registration.html",
        operator,
        upload=answer,
        refused_file=refused_rows_file(content, answer["rows"]),
        **_form_context(request, {}),
    )


def refused_rows_file(content: bytes, rows: list[dict[str, Any]]) -> str | None:
    """The refused rows of the file as sent, each with its errors in a last column, as a
    data: URL to download, fix and upload again; None when no row was refused."""
    refused = {row["line"]: row for row in rows if row.get("status") == "refused"}
    if not refused:
        return None
    text = content.decode("utf-8-sig", errors="replace")
    reader = csv.DictReader(io.StringIO(text))
    fields = [*(reader.fieldnames or []), "errors"]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=fields, extrasaction="ignore")
    writer.writeheader()
    for line, row in enumerate(reader, start=2):
        if line in refused:
            errors = "; ".join(
                f"{error['rule']}: {error['message']}" for error in refused[line]["errors"]
            )
            writer.writerow({**row, "errors": errors})
    encoded = base64.b64encode(out.getvalue().encode()).decode()
    return f"data:text/csv;charset=utf-8;base64,{encoded}"
