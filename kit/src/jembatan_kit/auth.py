"""Who is calling, and what they may see: a bearer JWT (HS256, key from configuration) naming the
user (`sub`), their agency and their roles.

The scope rule lives here and nowhere else: a caller acts for the agency in its token. A record
that belongs to an agency (a candidate's registration, enrolment, results, cohort membership,
placement, loan, payments, statement; a cohort; the job orders and funders of the agency running
the service) is seen and changed only by that agency, or by Kemnaker, which sees every agency.
Lists are limited the same way. Missing or bad tokens get 401, out-of-scope calls 403, each with a
message that names the rule and says what to do."""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated

import jwt
from fastapi import Depends, Request

from .errors import RuleViolation

ALGORITHM = "HS256"
NIK_READER = "nik-reader"
NATIONAL_AGENCY = "kemnaker"
"""The ministry sees every agency's candidates."""


@dataclass(frozen=True)
class Caller:
    user: str
    agency: str
    roles: frozenset[str]

    @property
    def is_national(self) -> bool:
        return self.agency == NATIONAL_AGENCY


class NotAuthenticated(RuleViolation):
    def __init__(self, message: str) -> None:
        super().__init__("authentication", message, status_code=401)


class OutOfScope(RuleViolation):
    def __init__(self, rule: str, message: str, **details: object) -> None:
        super().__init__(rule, message, dict(details), status_code=403)


def issue_token(
    secret: str, user: str, agency: str, roles: list[str], valid_for: timedelta = timedelta(hours=8)
) -> str:
    now = datetime.now(UTC)
    claims = {"sub": user, "agency": agency, "roles": roles, "iat": now, "exp": now + valid_for}
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def bearer(token: str) -> dict[str, str]:
    """The header that carries `token`."""
    return {"Authorization": f"Bearer {token}"}


def read_token(secret: str, token: str) -> Caller:
    caller, expires_at = _verified(secret, token)
    if expires_at <= time.time():  # as PyJWT judges `exp`, for a token verified before
        raise jwt.ExpiredSignatureError("Signature has expired")
    return caller


@functools.lru_cache(maxsize=4096)
def _verified(secret: str, token: str) -> tuple[Caller, float]:
    """The caller a token names and when it expires, once its signature and claims are checked.
    A client sends the same token with every request: checking it once saves each later request
    the signature's work. Only good tokens are kept (a refusal raises, and is not cached)."""
    claims = jwt.decode(
        token, secret, algorithms=[ALGORITHM], options={"require": ["sub", "agency", "exp"]}
    )
    caller = Caller(claims["sub"], claims["agency"], frozenset(claims.get("roles", [])))
    return caller, float(claims["exp"])


async def current_caller(request: Request) -> Caller:
    secret = getattr(request.app.state, "auth_secret", None)
    if not secret:
        raise RuleViolation(
            "authentication_not_configured",
            "this service has no AUTH_JWT_SECRET configured, so it cannot check callers; "
            "set AUTH_JWT_SECRET to the key that signs the agencies' tokens",
            status_code=503,
        )
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise NotAuthenticated(
            "send 'Authorization: Bearer <token>'; an administrator issues tokens with "
            "`jembatan token --user <login> --agency <agency>`"
        )
    try:
        return read_token(secret, token)
    except jwt.ExpiredSignatureError:
        raise NotAuthenticated("the token has expired; ask for a new one") from None
    except jwt.InvalidTokenError as exc:
        raise NotAuthenticated(
            f"the token is not valid here ({exc}); ask for a token signed for this deployment"
        ) from None


CurrentCaller = Annotated[Caller, Depends(current_caller)]


def require_role(caller: Caller, role: str) -> None:
    if role not in caller.roles:
        raise OutOfScope(
            "role_required",
            f"{caller.user} of {caller.agency} lacks the role '{role}' needed for this; "
            f"ask an administrator for a token with --role {role}",
        )


def require_agency(caller: Caller, agency: str, what: str) -> None:
    """Refuse unless the caller acts for `agency` or is national. `what` names the record."""
    if caller.is_national or caller.agency == agency:
        return
    allowed = agency if agency == NATIONAL_AGENCY else f"{agency} or {NATIONAL_AGENCY}"
    raise OutOfScope(
        "agency_scope",
        f"{what} belongs to agency {agency}; {caller.user} acts for {caller.agency}, and only "
        f"{allowed} may see or change it. Ask {agency}, or use a token of the right agency",
        record_agency=agency,
        caller_agency=caller.agency,
    )


def agency_filter(caller: Caller, requested: str | None = None) -> str | None:
    """The agency a list is limited to: the caller's own, or for Kemnaker the one requested
    (None: every agency). A province asking for another agency's list is refused."""
    if caller.is_national:
        return requested
    if requested is not None and requested != caller.agency:
        require_agency(caller, requested, f"the list of agency {requested}")
    return caller.agency
