"""The operators' page: server-rendered HTML with inline SVG charts, in English and Indonesian,
plus the sign-in form and the event catalogue (AsyncAPI)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from faststream.nats import NatsBroker
from faststream.specification import AsyncAPI
from jinja2 import Environment, FileSystemLoader, select_autoescape

from jembatan_contracts import CATALOGUE
from jembatan_kit.auth import NATIONAL_AGENCY
from jembatan_kit.errors import RuleViolation
from jembatan_kit.runtime import Runtime

from ..config import DashboardSettings
from ..domain.stages import STAGES
from ..service_layer.queries import known_agencies, known_years
from . import charts
from .access import TOKEN_COOKIE, check_token, dashboard_caller, scope_of
from .api import figures_for
from .i18n import TEXTS, language, number

HERE = Path(__file__).parent
STATIC = HERE / "static"
templates = Environment(
    loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"])
)

router = APIRouter(include_in_schema=False)


def _render(name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(templates.get_template(name).render(**context), status_code=status_code)


def _common(request: Request, lang: str, runtime: Any) -> dict[str, Any]:
    settings: DashboardSettings = runtime.settings
    texts = TEXTS[lang]
    other = "id" if lang == "en" else "en"
    return {
        "t": texts,
        "lang": lang,
        "other_lang_url": str(request.url.include_query_params(lang=other)),
        "n": lambda value: number(value, lang),
        "service_urls": settings.service_urls,
    }


@router.get("/", response_class=HTMLResponse)
async def dashboard_page(
    request: Request,
    runtime: Runtime,
    agency: str | None = None,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    programme: str | None = None,
) -> Response:
    lang = language(request)
    common = _common(request, lang, runtime)
    try:
        caller = await dashboard_caller(request)
        scope = scope_of(caller, agency, programme)
    except RuleViolation as refused:
        if refused.status_code == 401:
            return RedirectResponse(f"/login?lang={lang}", status_code=303)
        return _render("error.html", refused.status_code, message=refused.message, **common)
    figures = await figures_for(request, runtime, scope, year)
    async with runtime.sessions() as session:
        agencies = await known_agencies(session) if caller.agency == NATIONAL_AGENCY else []
        years = await known_years(session, runtime.clock.today().year)
    texts = common["t"]
    months = texts["months"].split()
    target = figures["target"]
    return _render(
        "dashboard.html",
        caller=caller,
        figures=figures,
        agencies=agencies,
        years=years,
        programmes=["TITP", "SSW"],
        stage_codes=[s.value for s in STAGES],
        funnel=charts.proportional_bars(
            [(s["stage"], s["reached"], "") for s in figures["stages"]]
        ),
        months=charts.columns(
            [
                (months[int(m["month"][5:]) - 1], m["departed"])
                for m in figures["departures_by_month"]
            ]
        ),
        buckets=charts.proportional_bars(
            [
                (b["bucket"], b["loans"], f"Rp {number(b['amount_idr'], lang)}")
                for b in figures["arrears"]["buckets"]
            ]
        ),
        progress=charts.percent(target["departed"], target["departures_target"]),
        trend_from=_month_name(figures["departures_by_month"][0]["month"], months),
        trend_to=_month_name(figures["departures_by_month"][-1]["month"], months),
        **common,
    )


def _month_name(month: str, names: list[str]) -> str:
    """'2027-05' as 'May 2027' (or 'Mei 2027')."""
    return f"{names[int(month[5:]) - 1]} {month[:4]}"


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request, runtime: Runtime) -> HTMLResponse:
    return _render("login.html", **_common(request, language(request), runtime))


@router.post("/login")
async def login(request: Request, runtime: Runtime) -> Response:
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    token = (form.get("token") or [""])[0].strip()
    lang = (form.get("lang") or ["en"])[0]
    lang = lang if lang in TEXTS else "en"
    try:
        await check_token(request, token)
    except RuleViolation as refused:
        return _render(
            "login.html",
            refused.status_code,
            message=refused.message,
            **_common(request, lang, runtime),
        )
    response = RedirectResponse(f"/?lang={lang}", status_code=303)
    response.set_cookie(
        TOKEN_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    lang = language(request)
    response = RedirectResponse(f"/login?lang={lang}", status_code=303)
    response.delete_cookie(TOKEN_COOKIE)
    return response


@cache
def asyncapi_document() -> dict[str, Any]:
    """The event catalogue as an AsyncAPI 3.0 document: one channel per event."""
    catalogue = NatsBroker()
    for event_type in CATALOGUE:
        catalogue.publisher(
            event_type.subject_any_agency(),
            schema=event_type,
            title=event_type.name,
            description=" ".join((event_type.__doc__ or event_type.name).split()),
        )
    spec = AsyncAPI(
        catalogue,
        title="Jembatan events",
        version="1",
        description="Every event the services publish, on jembatan.<agency>.<service>.…",
        schema_version="3.0.0",
    )
    document: dict[str, Any] = json.loads(spec.to_specification().to_json())
    return document


@router.get("/asyncapi.json")
async def asyncapi_json() -> JSONResponse:
    return JSONResponse(asyncapi_document())


@router.get("/asyncapi", response_class=HTMLResponse)
async def asyncapi_page(request: Request, runtime: Runtime) -> HTMLResponse:
    events = []
    for event_type in CATALOGUE:
        schema = event_type.model_json_schema(mode="serialization")
        required = set(schema.get("required", []))
        events.append(
            {
                "name": event_type.name,
                "version": event_type.version,
                "subject": event_type.subject_any_agency(),
                "description": " ".join((event_type.__doc__ or "").split()),
                "fields": [
                    {
                        "name": name,
                        "type": _type_of(node),
                        "required": name in required,
                        "description": node.get("description", ""),
                    }
                    for name, node in schema.get("properties", {}).items()
                ],
            }
        )
    return _render("asyncapi.html", events=events, **_common(request, language(request), runtime))


def _type_of(node: dict[str, Any]) -> str:
    if "anyOf" in node:
        return " | ".join(_type_of(option) for option in node["anyOf"])
    if "$ref" in node:
        return node["$ref"].split("/")[-1]
    kind = str(node.get("type", "any"))
    if kind == "array":
        return f"array of {_type_of(node.get('items', {}))}"
    return f"{kind} ({node['format']})" if "format" in node else kind
