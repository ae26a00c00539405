"""Who is calling: a bearer JWT (HS256, key from configuration) naming the user (`sub`), their
agency and their roles. Missing or bad tokens get 401, a missing role 403, each with a message
that says what to do."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated

import jwt
from fastapi import Depends, HTTPException, Request

ALGORITHM = "HS256"
NIK_READER = "nik-reader"
NATIONAL_AGENCY = "kemnaker"
"""The ministry sees every agency's candidates."""


@dataclass(frozen=True)
class Caller:
    user: str
    agency: str
    roles: frozenset[str]


def issue_token(
    secret: str, user: str, agency: str, roles: list[str], valid_for: timedelta = timedelta(hours=8)
) -> str:
    now = datetime.now(UTC)
    claims = {"sub": user, "agency": agency, "roles": roles, "iat": now, "exp": now + valid_for}
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def read_token(secret: str, token: str) -> Caller:
    claims = jwt.decode(
        token, secret, algorithms=[ALGORITHM], options={"require": ["sub", "agency", "exp"]}
    )
    return Caller(claims["sub"], claims["agency"], frozenset(claims.get("roles", [])))


def current_caller(request: Request) -> Caller:
    secret = getattr(request.app.state, "auth_secret", None)
    if not secret:
        raise HTTPException(
            503, "this service has no AUTH_JWT_SECRET configured, so it cannot check callers"
        )
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise HTTPException(
            401,
            "send 'Authorization: Bearer <token>'; an administrator issues tokens with "
            "`jembatan token`",
            headers={"WWW-Authenticate": "Bearer"},
        )
    try:
        return read_token(secret, token)
    except jwt.ExpiredSignatureError:
        raise HTTPException(401, "the token has expired; ask for a new one") from None
    except jwt.InvalidTokenError as exc:
        raise HTTPException(401, f"the token is not valid here: {exc}") from None


CurrentCaller = Annotated[Caller, Depends(current_caller)]


def require_role(caller: Caller, role: str) -> None:
    if role not in caller.roles:
        raise HTTPException(
            403, f"{caller.user} of {caller.agency} lacks the role '{role}' needed for this"
        )
