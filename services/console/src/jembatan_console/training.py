"""The training centre: cohorts with their free seats, members, and a day's scores for a
whole class in one save (one call per member to training, each answered on its row), with the
members below the daily target highlighted; each member's readiness (what is missing) and
training's penjurusan suggestions with their reasons, one applied by the trainer as a sector
change; a test centre's results file imported, each row answered, the refused rows given back
as a file to fix and send again."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import date, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from .backend import Backend, Refusal
from .i18n import language, number, translator
from .registration import refused_rows_file
from .web import Operator, SignedIn, backend_of, render, require, whole

router = APIRouter()
ROLE = "trainer"
RESULT_COLUMNS = "candidate_id, test, issuer, taken_on, level, score, sector, passed"
"""As training's results file takes them (`POST /results/bulk`)."""
REASON_CODES = (
    "declared_interest",
    "skill_test_passed",
    "skill_test_failed",
    "certificates_complete",
    "certificates_missing",
    "daily_scores_at_target",
    "daily_scores_below_target",
    "steered_away",
    "cohort_sector",
    "in_demand",
)
"""Training's reasons for a penjurusan suggestion, each worded here as `suggest.<code>`."""
READINESS_RULES = ("japanese_n4", "ssw_skill_sector", "nursing_care_japanese")
"""Training's readiness rules, each worded here as `readiness.<rule>`."""
SUGGESTIONS_SHOWN = 3
REASON_MAX = 1000
"""Training keeps a penjurusan's reason up to this length."""


async def _training_page(
    request: Request, operator: Operator, status_code: int = 200, **extra: Any
) -> HTMLResponse:
    cohorts = await backend_of(request, operator).get("training", "/cohorts")
    extra.setdefault("values", {})
    return render(
        request,
        "training.html",
        operator,
        status_code,
        cohorts=cohorts,
        result_columns=RESULT_COLUMNS,
        **extra,
    )


@router.get("/training", response_class=HTMLResponse)
async def cohorts_page(request: Request, operator: SignedIn) -> HTMLResponse:
    require(operator, ROLE)
    return await _training_page(request, operator)


@router.post("/training/results", response_class=HTMLResponse)
async def import_results(request: Request, operator: SignedIn) -> HTMLResponse:
    """A test centre's results file (JLPT, JFT-Basic, SSW skill tests) sent whole to training,
    which records each row by its rules or refuses it naming the column to fix."""
    require(operator, ROLE)
    form = await request.form()
    file = form.get("file")
    content = await file.read() if file is not None and not isinstance(file, str) else b""
    backend = backend_of(request, operator)
    try:
        answer = await backend.call(
            "training", "POST", "/results/bulk", content=content, content_type="text/csv"
        )
    except Refusal as refusal:
        if refusal.status >= 500 or refusal.signed_out:
            raise
        return await _training_page(request, operator, refusal.status, import_refusal=refusal)
    sent = with_commas(content)
    return await _training_page(
        request,
        operator,
        results_import=answer,
        names=await _names(backend),
        tests=results_sent(sent),
        refused_file=refused_rows_file(sent, answer["rows"]),
    )


def results_sent(content: bytes) -> dict[int, str]:
    """What each line of a (comma-separated) results file says it is, e.g. `JLPT N4` or
    `SSW_SKILL agriculture`, by line number as training numbers them."""
    reader = csv.DictReader(io.StringIO(content.decode("utf-8-sig", errors="replace")))
    reader.fieldnames = [name.strip().lower() for name in reader.fieldnames or []]
    tests = {}
    for line, row in enumerate(reader, start=2):
        words = [row.get(column) or "" for column in ("test", "level", "sector", "score")]
        tests[line] = " ".join(word.strip() for word in words if word.strip())
    return tests


def with_commas(content: bytes) -> bytes:
    """The file as comma-separated CSV, as the refused rows' file is written: spreadsheets set
    to Indonesian export with semicolons (the comma is their decimal mark), which training
    reads as well."""
    text = content.decode("utf-8-sig", errors="replace")
    try:
        dialect: Any = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        return content
    if dialect.delimiter == ",":
        return content
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(csv.reader(io.StringIO(text), dialect))
    return out.getvalue().encode()


async def _names(backend: Backend) -> dict[str, str]:
    registered = await backend.get("registration", "/candidates", limit=500)
    return {c["candidate_id"]: c["full_name"] for c in registered}


def reason_words(lang: str, reason: dict[str, Any]) -> str:
    """A reason in `lang` from its code and facts; training's words for a code the console
    does not know."""
    if reason["code"] not in REASON_CODES:
        return str(reason["text"])
    t = translator(lang)
    facts = {
        key: number(value, lang) if isinstance(value, float) else value
        for key, value in (reason.get("facts") or {}).items()
    }
    if "missing" in facts:
        facts["missing"] = ", ".join(
            t(f"readiness.{rule}") if rule in READINESS_RULES else rule
            for rule in str(facts["missing"]).split(", ")
        )
    return t(f"suggest.{reason['code']}", **facts)


def _worded(request: Request, views: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each member's suggestions (the best few), every reason worded, with the reason to
    record when the trainer applies one."""
    lang = language(request)
    t = translator(lang)
    worded = {}
    for view in views:
        suggestions = []
        for suggestion in view["suggestions"][:SUGGESTIONS_SHOWN]:
            reasons = [
                reason | {"words": reason_words(lang, reason)} for reason in suggestion["reasons"]
            ]
            because = t("suggestion_reason", reasons="; ".join(r["words"] for r in reasons))
            suggestions.append(suggestion | {"reasons": reasons, "because": because[:REASON_MAX]})
        missing = [
            t(f"readiness.{rule['rule']}")
            if rule["rule"] in READINESS_RULES
            else rule["description"]
            for rule in view["readiness"]["missing"]
        ]
        worded[view["candidate_id"]] = view | {"suggestions": suggestions, "missing": missing}
    return worded


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
        return await _training_page(request, operator, 422, refusal=refusal, values=values)
    return await _cohort(request, operator, backend, uuid.UUID(opened["cohort_id"]), opened=True)


async def _cohort(
    request: Request,
    operator: Operator,
    backend: Backend,
    cohort_id: uuid.UUID,
    status_code: int = 200,
    **extra: Any,
) -> HTMLResponse:
    day = _day(extra.pop("day", None) or request.query_params.get("day"))
    cohort = await backend.get("training", f"/cohorts/{cohort_id}")
    warning = await backend.get("training", f"/cohorts/{cohort_id}/early-warning")
    below = {row["candidate_id"]: row for row in warning["below_target"]}
    suggestions = await backend.get("training", f"/cohorts/{cohort_id}/sector-suggestions")
    day_scores = await backend.get("training", f"/cohorts/{cohort_id}/daily-scores", day=day)
    names = await _names(backend)
    members = {member["candidate_id"] for member in cohort["members"]}
    enrolled = await backend.get("training", "/candidates", limit=500)
    # Those without a cohort first; those in another one are moved when the trainer says so.
    candidates = sorted(
        (
            (e["candidate_id"], names.get(e["candidate_id"], e["candidate_id"][:8]), e["cohort_id"])
            for e in enrolled
            if e["status"] == "enrolled" and e["candidate_id"] not in members
        ),
        key=lambda c: (c[2] is not None, c[1]),
    )
    return render(
        request,
        "cohort.html",
        operator,
        status_code,
        cohort=cohort,
        below=below,
        target=warning["target"],
        names=names,
        candidates=candidates,
        suggestions=_worded(request, suggestions),
        recorded={row["candidate_id"]: row["score"] for row in day_scores["scores"]},
        today=day,
        yesterday=(date.today() - timedelta(days=1)).isoformat(),
        **extra,
    )


def _day(asked: str | None) -> str:
    """The day the grid shows: the one asked for when it is a date, else today."""
    try:
        return date.fromisoformat(asked or "").isoformat()
    except ValueError:
        return date.today().isoformat()


@router.get("/training/cohorts/{cohort_id}", response_class=HTMLResponse)
async def cohort_page(request: Request, cohort_id: uuid.UUID, operator: SignedIn) -> HTMLResponse:
    require(operator, ROLE)
    return await _cohort(request, operator, backend_of(request, operator), cohort_id)


@router.post("/training/cohorts/{cohort_id}/members", response_class=HTMLResponse)
async def add_member(request: Request, cohort_id: uuid.UUID, operator: SignedIn) -> HTMLResponse:
    require(operator, ROLE)
    form = await request.form()
    body = {
        "candidate_id": str(form.get("candidate_id", "")).strip(),
        "move": form.get("move") == "yes",
    }
    backend = backend_of(request, operator)
    try:
        await backend.post("training", f"/cohorts/{cohort_id}/members", body)
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
    typed: dict[str, str] = {}
    for key, value in form.items():
        if not key.startswith("score-") or not str(value).strip():
            continue
        candidate = key.removeprefix("score-")
        typed[candidate] = str(value).strip()
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
        typed={c: typed[c] for c in refused},
        day=day,
    )


@router.post(
    "/training/cohorts/{cohort_id}/members/{candidate_id}/sector", response_class=HTMLResponse
)
async def apply_suggestion(
    request: Request, cohort_id: uuid.UUID, candidate_id: uuid.UUID, operator: SignedIn
) -> HTMLResponse:
    """Penjurusan from a suggestion: the sector change training records for any penjurusan,
    its reason the suggestion's reasons as the trainer read them."""
    require(operator, ROLE)
    form = await request.form()
    body = {
        "sector": str(form.get("sector", "")).strip(),
        "reason": str(form.get("reason", "")).strip()[:REASON_MAX],
    }
    backend = backend_of(request, operator)
    try:
        changed = await backend.call(
            "training", "PUT", f"/candidates/{candidate_id}/sector", json=body
        )
    except Refusal as refusal:
        if refusal.status >= 500 or refusal.signed_out:
            raise
        return await _cohort(request, operator, backend, cohort_id, refusal.status, refusal=refusal)
    return await _cohort(
        request,
        operator,
        backend,
        cohort_id,
        sector_changed=changed | {"candidate_id": str(candidate_id)},
    )
