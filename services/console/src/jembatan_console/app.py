"""The console's composition: settings, the agency's issuer key, the session cookie, the
pages, and how a refusal becomes a page in words (never a 500)."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote, urlsplit

import httpx
from fastapi import FastAPI, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from jembatan_kit.issuers import LocalIssuer, issue_token

from . import candidates, loans, placement, registration, statement, training
from .backend import TIMEOUT_S, Refusal
from .config import ConsoleSettings
from .oidc import CALLBACK_PATH, PENDING_SECONDS, ProviderSignIn, SignInFailed
from .operators import authenticate
from .web import HERE, RoleMissing, SignedIn, SignInNeeded, is_htmx, render

log = logging.getLogger(__name__)
SESSION_COOKIE = "jembatan_console_{agency}"
"""One cookie per agency: cookies are not kept apart by port, and two consoles (a province's
and Kemnaker's) may share a host."""


def session_secret(path: Path) -> str:
    """The key of the session cookies and statement links, made at first start (0600)."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    secret = secrets.token_urlsafe(48)
    with os.fdopen(fd, "w") as handle:
        handle.write(secret + "\n")
    return secret


def build_app(settings: ConsoleSettings | None = None) -> FastAPI:
    settings = settings or ConsoleSettings()
    secret = session_secret(settings.console_secret_file)
    # Either the agency's provider signs operators in, or the console does, with the agency's
    # key: never both, so a console given a provider reads no key at all.
    provider = ProviderSignIn(settings, secret) if settings.console_oidc_issuer else None
    issuer = None if provider is not None else LocalIssuer.load(settings.console_issuer_file)
    if issuer is not None and issuer.agency != settings.console_agency:
        raise RuntimeError(
            f"the issuer file {settings.console_issuer_file} is agency {issuer.agency}'s, but"
            f" this console serves {settings.console_agency} (CONSOLE_AGENCY)"
        )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with httpx.AsyncClient(timeout=TIMEOUT_S) as client:
            app.state.http = client
            yield

    app = FastAPI(
        title="Jembatan console",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.settings = settings
    app.state.issuer = issuer
    app.state.provider = provider
    app.state.secret = secret
    app.add_middleware(
        SessionMiddleware,
        secret_key=secret,
        session_cookie=SESSION_COOKIE.format(agency=settings.console_agency),
        max_age=settings.console_token_minutes * 60,
        same_site="strict",
        https_only=settings.console_secure_cookies,
    )

    @app.middleware("http")
    async def same_origin_posts(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        """A form posted from another site is refused, besides the SameSite=Strict cookie."""
        origin = request.headers.get("origin")
        if (
            request.method == "POST"
            and origin
            and origin != "null"
            and urlsplit(origin).netloc != request.headers.get("host")
        ):
            return HTMLResponse("cross-site form refused", status_code=403)
        return await call_next(request)

    @app.exception_handler(SignInNeeded)
    async def _sign_in(request: Request, _exc: Exception) -> Response:
        target = "/login?next=" + quote(request.url.path)
        if is_htmx(request):
            return Response(status_code=200, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)

    @app.exception_handler(RoleMissing)
    async def _role_missing(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RoleMissing)
        return render(request, "refused.html", None, 403, role=exc.role, refusal=None)

    @app.exception_handler(Refusal)
    async def _refused(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Refusal)
        if exc.signed_out:
            request.session.pop("operator", None)
            return await _sign_in(request, exc)
        status = exc.status if 400 <= exc.status < 500 else 502
        return render(request, "refused.html", None, status, refusal=exc, role=None)

    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.get("/health", include_in_schema=False)
    async def health() -> JSONResponse:
        sign_in = "oidc" if provider is not None else "local"
        return JSONResponse(
            {
                "service": "console",
                "status": "ok",
                "agency": settings.console_agency,
                "sign_in": sign_in,
            }
        )

    def login_form(
        request: Request, next: str, status: int = 200, failed: bool = False
    ) -> Response:
        return render(
            request,
            "login.html",
            None,
            status,
            next=_local(next),
            failed=failed,
            provider=provider is not None,
        )

    @app.get("/login", response_class=HTMLResponse)
    async def login_page(request: Request, next: str = "/") -> Response:
        return login_form(request, next)

    @app.get("/login/oidc")
    async def login_at_provider(request: Request, next: str = "/") -> Response:
        """To the provider's sign-in, the flow's state kept in its own cookie meanwhile."""
        if provider is None:
            return login_form(request, next, 404)
        try:
            url, pending = await provider.start(str(request.url_for("oidc_callback")), _local(next))
        except SignInFailed as failure:
            log.warning("console sign-in at the provider cannot start: %s", failure.reason)
            return login_form(request, next, 502, failed=True)
        response = RedirectResponse(url, status_code=302)
        response.set_cookie(
            provider.cookie,
            pending,
            max_age=PENDING_SECONDS,
            path=CALLBACK_PATH,
            httponly=True,
            samesite="lax",
            secure=settings.console_secure_cookies,
        )
        return response

    @app.get(CALLBACK_PATH, name="oidc_callback")
    async def login_from_provider(request: Request) -> Response:
        """The provider's answer: the code exchanged (with the PKCE verifier), the tokens
        checked, the operator signed in with the provider's access token."""
        if provider is None:
            return login_form(request, "/", 404)
        try:
            pending = provider.read_pending(request.cookies.get(provider.cookie))
            signed_in = await provider.finish(pending, dict(request.query_params))
        except SignInFailed as failure:
            log.info("console sign-in at the provider refused: %s", failure.reason)
            response = login_form(request, "/", 401, failed=True)
        else:
            caller = signed_in.caller
            request.session["operator"] = {
                "login": caller.user,
                "name": signed_in.name,
                "roles": sorted(caller.roles),
                "token": signed_in.token,
                "expires_at": signed_in.expires_at,
            }
            # Not a redirect: the provider's redirect to here began on another site, and the
            # browser keeps that for every redirect after it, so the session's SameSite=Strict
            # cookie would not come along. A refresh from this page is this site's own.
            target = quote(_local(pending["next"]), safe=":/%#?=@[]!$&'()*+,;")  # as redirects
            response = render(request, "login.html", None, signed_in_to=target)
            response.headers["Refresh"] = f"0; url={target}"
        response.delete_cookie(provider.cookie, path=CALLBACK_PATH)
        return response

    @app.post("/login", response_class=HTMLResponse)
    async def login(request: Request) -> Response:
        if provider is not None:  # no passwords here: the provider asks for them
            return RedirectResponse("/login/oidc", status_code=303)
        form = await request.form()
        login = str(form.get("login", "")).strip()
        password = str(form.get("password", ""))
        target = _local(str(form.get("next", "/")))
        # Argon2 takes tens of milliseconds of CPU on purpose: off the event loop.
        operator = await asyncio.to_thread(
            authenticate, settings.console_operators_file, login, password
        )
        if operator is None:
            log.info("console sign-in refused")
            return login_form(request, target, 401, failed=True)
        assert issuer is not None
        valid_for = timedelta(minutes=settings.console_token_minutes)
        token = issue_token(
            issuer, operator.login, sorted(operator.roles), valid_for, settings.auth_audience
        )
        request.session["operator"] = {
            "login": operator.login,
            "name": operator.name,
            "roles": sorted(operator.roles),
            "token": token,
            "expires_at": time.time() + valid_for.total_seconds(),
        }
        return RedirectResponse(target, status_code=303)

    @app.post("/logout")
    async def logout(request: Request) -> Response:
        request.session.clear()
        return RedirectResponse("/login", status_code=303)

    @app.get("/", response_class=HTMLResponse)
    async def home(request: Request, operator: SignedIn) -> HTMLResponse:
        return render(request, "home.html", operator)

    for module in (registration, candidates, training, placement, loans, statement):
        app.include_router(module.router)
    return app


def _local(target: str) -> str:
    """Only a path of this console: never a redirect to another site after sign-in."""
    return target if target.startswith("/") and not target.startswith("//") else "/"
