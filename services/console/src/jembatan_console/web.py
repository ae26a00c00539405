"""What every page shares: the signed-in operator (kept in a signed session cookie with the
short-lived token the console minted for them), the services as that operator may call them,
the language, and rendering with the page's words."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from jembatan_kit.issuers import LocalIssuer

from .backend import Backend, Refusal
from .config import ConsoleSettings
from .i18n import LANG_COOKIE, LANGUAGES, language, number, rupiah, status_word, translator
from .operators import ROLES

HERE = Path(__file__).parent
templates = Environment(
    loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"])
)

SCREENS: tuple[tuple[str, str, str], ...] = (
    # (screen, path, role that sees it)
    ("registration", "/registration", "registrar"),
    ("candidates", "/candidates", ""),
    ("training", "/training", "trainer"),
    ("placement", "/placement", "placement-officer"),
    ("loans", "/loans", "loan-officer"),
)
"""The screens of the home page and the menu, in order; '' is every operator's."""


@dataclass(frozen=True)
class Operator:
    """The signed-in operator, as the session cookie keeps them."""

    login: str
    name: str
    roles: frozenset[str]
    token: str
    expires_at: float

    def may(self, role: str) -> bool:
        return not role or role in self.roles


class SignInNeeded(Exception):
    """No operator is signed in (or their token has expired): the sign-in page, then back."""


class RoleMissing(Exception):
    def __init__(self, role: str) -> None:
        super().__init__(role)
        self.role = role


def settings_of(request: Request) -> ConsoleSettings:
    settings: ConsoleSettings = request.app.state.settings
    return settings


def issuer_of(request: Request) -> LocalIssuer:
    """The agency's key, which a console signing in at the agency's provider does not hold."""
    issuer: LocalIssuer | None = request.app.state.issuer
    if issuer is None:
        raise Refusal(
            "console",
            409,
            "no_issuer_key",
            "This console signs operators in at the agency's identity provider and holds no"
            " key of the agency, so it cannot open participants' statement links.",
        )
    return issuer


def current_operator(request: Request) -> Operator:
    kept = request.session.get("operator")
    if not isinstance(kept, dict) or kept.get("expires_at", 0) <= time.time() + 30:
        request.session.pop("operator", None)
        raise SignInNeeded
    return Operator(
        kept["login"],
        kept["name"],
        frozenset(kept["roles"]),
        kept["token"],
        kept["expires_at"],
    )


SignedIn = Annotated[Operator, Depends(current_operator)]


def backend_of(request: Request, operator: Operator) -> Backend:
    return Backend(settings_of(request).service_urls, operator.token, request.app.state.http)


def require(operator: Operator, role: str) -> None:
    if not operator.may(role):
        raise RoleMissing(role)


def render(
    request: Request,
    template: str,
    operator: Operator | None = None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    lang = language(request)
    other = next(other for other in LANGUAGES if other != lang)
    settings = settings_of(request)
    page = templates.get_template(template).render(
        request=request,
        lang=lang,
        t=translator(lang),
        w=status_word(lang),
        n=lambda value: number(value, lang),
        rp=lambda value: rupiah(value, lang),
        other_lang=other,
        other_lang_url=str(request.url.include_query_params(lang=other)),
        operator=operator,
        agency=settings.console_agency,
        screens=[s for s in SCREENS if operator is not None and operator.may(s[2])],
        roles=ROLES,
        **context,
    )
    response = HTMLResponse(page, status_code=status_code)
    if request.query_params.get("lang") in LANGUAGES:
        response.set_cookie(
            LANG_COOKIE,
            lang,
            max_age=365 * 24 * 3600,
            samesite="lax",
            secure=settings.console_secure_cookies,
        )
    return response


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def whole(text: str) -> int | str:
    """A whole number typed in a form (dots and spaces as thousands separators allowed), or
    the text as typed, for the service to refuse in its own words."""
    cleaned = text.strip().replace(".", "").replace(" ", "").replace(",", "")
    return int(cleaned) if cleaned.isdigit() else text.strip()
