"""Who may see which figures.

The API takes the bearer token every service takes (`Authorization: Bearer <token>`, issued by
`jembatan token`). A browser signs in once on /login by pasting that token; the page keeps it in
an HttpOnly, SameSite=Strict cookie, so it never appears in a URL, a log line or the browser's
history. A caller sees the figures of the agency in their token; Kemnaker sees every agency and
may pick one.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from jembatan_kit.auth import NATIONAL_AGENCY, Caller, NotAuthenticated, caller_of, trust_of
from jembatan_kit.errors import RuleViolation
from jembatan_kit.revocation import refuse_if_revoked

from ..service_layer.queries import Scope

TOKEN_COOKIE = "jembatan_token"


def token_of(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token:
        return token
    return request.cookies.get(TOKEN_COOKIE) or None


async def check_token(request: Request, token: str | None) -> Caller:
    """The caller `token` names, as every service judges it (`jembatan_kit.auth.caller_of`)."""
    trust_of(request.app)  # a dashboard that cannot check tokens says so first
    if not token:
        raise NotAuthenticated(
            "send 'Authorization: Bearer <token>' or sign in on /login; an administrator issues "
            "tokens with `jembatan token --user <login> --agency <agency>`"
        )
    caller = await caller_of(request.app, token)
    refuse_if_revoked(request.app, caller)
    return caller


async def dashboard_caller(request: Request) -> Caller:
    return await check_token(request, token_of(request))


DashboardCaller = Annotated[Caller, Depends(dashboard_caller)]


def scope_of(caller: Caller, agency: str | None, programme: str | None) -> Scope:
    """The figures `caller` asked for, if they may see them: their own agency's, or any
    agency's (or all together) for Kemnaker."""
    if caller.agency == NATIONAL_AGENCY:
        return Scope(agency or None, programme or None)
    if agency and agency != caller.agency:
        raise RuleViolation(
            "agency_scope",
            f"the figures of {agency} are for {agency} and Kemnaker; {caller.user} acts for "
            f"{caller.agency}, so ask for agency={caller.agency} or leave it out",
            status_code=403,
        )
    return Scope(caller.agency, programme or None)


def require_national(caller: Caller, what: str) -> None:
    if caller.agency != NATIONAL_AGENCY:
        raise RuleViolation(
            "national_only",
            f"{what} is for Kemnaker's operators; {caller.user} acts for {caller.agency}",
            status_code=403,
        )
