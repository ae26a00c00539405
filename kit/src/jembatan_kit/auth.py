"""Who is calling, and what they may see: a bearer JWT (HS256, key from configuration) naming the
user (`sub`), their agency and their roles.

A token is accepted only within bounds (`TokenPolicy`, from the settings): its claims have the
types `TokenClaims` gives, its agency is one this deployment knows (KNOWN_AGENCIES and the
service's own AGENCY), it names this deployment's audience (AUTH_AUDIENCE), and it carries `iat`
and lives no longer than AUTH_MAX_TOKEN_HOURS. A token outside them is a 401 naming the reason,
however good its signature.

The scope rule lives here and nowhere else: a caller acts for the agency in its token. A record
that belongs to an agency (a candidate's registration, enrolment, results, cohort membership,
placement, loan, payments, statement; a cohort; the job orders and funders of the agency running
the service) is seen and changed only by that agency, or by Kemnaker, which sees every agency.
Lists are limited the same way. Missing or bad tokens get 401, out-of-scope calls 403, each with a
message that names the rule and says what to do."""

from __future__ import annotations

import functools
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import jwt
from fastapi import Depends, FastAPI, Request
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from .errors import RuleViolation
from .revocation import refuse_if_revoked
from .settings import AGENCY_CODE, ServiceSettings

ALGORITHM = "HS256"
AUDIENCE = "jembatan"
"""The audience of the tokens the repository issues (the AUTH_AUDIENCE default)."""
NIK_READER = "nik-reader"
ROLES = frozenset({NIK_READER})
"""The roles the services check (`require_role`); `jembatan token` issues no other."""
NATIONAL_AGENCY = "kemnaker"
"""The ministry sees every agency's candidates."""


class TokenClaims(BaseModel):
    """The claims a token must carry, with their types. Strict: a number is not a string, a
    string not a list. Claims not named here (`nbf`, an OIDC provider's own) are ignored."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True, allow_inf_nan=False)

    sub: Annotated[str, StringConstraints(min_length=1, max_length=256, pattern=r"\S")]
    agency: Annotated[str, StringConstraints(pattern=AGENCY_CODE)]
    roles: list[Annotated[str, StringConstraints(min_length=1, max_length=64)]] = Field(
        default_factory=list, max_length=32
    )
    iat: float
    exp: float
    aud: str | list[str]
    jti: str | None = None


@dataclass(frozen=True)
class TokenPolicy:
    """The bounds a token must keep to be accepted here."""

    agencies: frozenset[str]
    audience: str = AUDIENCE
    max_lifetime_s: float = 12 * 3600.0

    @classmethod
    def of(cls, settings: ServiceSettings) -> TokenPolicy:
        """The known agencies (KNOWN_AGENCIES and the service's own AGENCY), AUTH_AUDIENCE and
        AUTH_MAX_TOKEN_HOURS of `settings`."""
        return cls(
            agencies=frozenset((*settings.known_agencies, settings.agency)),
            audience=settings.auth_audience,
            max_lifetime_s=settings.auth_max_token_hours * 3600.0,
        )

    @property
    def max_hours(self) -> float:
        return self.max_lifetime_s / 3600.0


@functools.lru_cache(maxsize=1)
def environment_policy() -> TokenPolicy:
    """The policy of the settings in this process's environment: for a caller that has no
    service settings at hand (`read_token` without a policy, `jembatan token`)."""
    return TokenPolicy.of(ServiceSettings())


def policy_of(app: FastAPI) -> TokenPolicy:
    """The policy of the settings of the app's runtime (the environment's while it has none)."""
    settings = getattr(getattr(app.state, "runtime", None), "settings", None)
    if isinstance(settings, ServiceSettings):
        return TokenPolicy.of(settings)
    return environment_policy()


class TokenRefused(jwt.InvalidTokenError):
    """A token whose signature holds but which this deployment does not accept. `reason`
    names the rule it breaks (`claim_type`, `unknown_agency`, `token_lifetime`,
    `wrong_audience`)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class Caller:
    user: str
    agency: str
    roles: frozenset[str]
    token_id: str | None = field(default=None, compare=False)
    """The token's `jti`, when it has one: the audit trail names the token that acted. Not part
    of who the caller is (two tokens of one user are the same caller)."""
    issued_at: float | None = field(default=None, compare=False)

    @property
    def is_national(self) -> bool:
        return self.agency == NATIONAL_AGENCY


class NotAuthenticated(RuleViolation):
    def __init__(self, message: str, reason: str | None = None) -> None:
        details: dict[str, object] = {"reason": reason} if reason else {}
        super().__init__("authentication", message, details, status_code=401)


class OutOfScope(RuleViolation):
    def __init__(self, rule: str, message: str, **details: object) -> None:
        super().__init__(rule, message, dict(details), status_code=403)


def issue_token(
    secret: str,
    user: str,
    agency: str,
    roles: list[str],
    valid_for: timedelta = timedelta(hours=8),
    audience: str = AUDIENCE,
) -> str:
    """A signed token with the claims `TokenClaims` asks for (`iat`, `aud`, a `jti` to name it).
    It checks nothing: `jembatan token` checks agency, roles and lifetime before calling it."""
    now = datetime.now(UTC)
    claims = {
        "sub": user,
        "agency": agency,
        "roles": roles,
        "iat": now,
        "exp": now + valid_for,
        "aud": audience,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def bearer(token: str) -> dict[str, str]:
    """The header that carries `token`."""
    return {"Authorization": f"Bearer {token}"}


def read_token(secret: str, token: str, policy: TokenPolicy | None = None) -> Caller:
    """The caller `token` names, if it is signed with `secret` and keeps to `policy` (by
    default the environment's settings). Raises a `jwt.InvalidTokenError` saying why not."""
    caller, expires_at = _verified(secret, token, policy or environment_policy())
    if expires_at <= time.time():  # as PyJWT judges `exp`, for a token verified before
        raise jwt.ExpiredSignatureError("Signature has expired")
    return caller


REQUIRED_CLAIMS = ("sub", "agency", "iat", "exp", "aud")
_SIGNATURE_ONLY: Any = {
    "verify_exp": False,
    "verify_nbf": False,
    "verify_iat": False,
    "verify_aud": False,
    "verify_iss": False,
    "verify_sub": False,
    "verify_jti": False,
}


@functools.lru_cache(maxsize=4096)
def _verified(secret: str, token: str, policy: TokenPolicy) -> tuple[Caller, float]:
    """The caller a token names and when it expires, once its signature and claims are checked.
    A client sends the same token with every request: checking it once saves each later request
    the signature's work. Only good tokens are kept (a refusal raises, and is not cached)."""
    # The signature first, then the claims' presence and types (a wrong type is named, not a
    # crash further on), then PyJWT's checks of their values: audience, expiry, `iat` not ahead.
    signed = jwt.decode(token, secret, algorithms=[ALGORITHM], options=_SIGNATURE_ONLY)
    if missing := [claim for claim in REQUIRED_CLAIMS if claim not in signed]:
        raise jwt.MissingRequiredClaimError(missing[0])
    claims = _typed(signed)
    try:
        jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            audience=policy.audience,
            options={"require": list(REQUIRED_CLAIMS), "verify_sub": False, "verify_jti": False},
        )
    except jwt.InvalidAudienceError:
        raise TokenRefused(
            "wrong_audience",
            f"the token is meant for another audience than this deployment's"
            f" ('{policy.audience}', AUTH_AUDIENCE); ask for a token issued for it",
        ) from None
    if claims.agency not in policy.agencies:
        raise TokenRefused(
            "unknown_agency",
            f"the token is for agency '{claims.agency}', which is not known to this deployment"
            f" (known: {', '.join(sorted(policy.agencies))}); an operator adds an agency to"
            " KNOWN_AGENCIES",
        )
    lifetime_s = claims.exp - claims.iat
    if lifetime_s > policy.max_lifetime_s:
        raise TokenRefused(
            "token_lifetime",
            f"the token is valid for {lifetime_s / 3600:.4g} hours (exp - iat), longer than the"
            f" {policy.max_hours:g} this deployment allows (AUTH_MAX_TOKEN_HOURS); ask for a"
            " shorter one",
        )
    caller = Caller(claims.sub, claims.agency, frozenset(claims.roles), claims.jti, claims.iat)
    return caller, claims.exp


def _typed(decoded: dict[str, Any]) -> TokenClaims:
    try:
        return TokenClaims.model_validate(decoded)
    except ValidationError as exc:
        error = exc.errors()[0]
        claim = str(error["loc"][0]) if error["loc"] else "?"
        raise TokenRefused(
            "claim_type", f"the token's claim '{claim}' is not valid: {error['msg']}"
        ) from None


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
        caller = read_token(secret, token, policy_of(request.app))
    except jwt.ExpiredSignatureError:
        raise NotAuthenticated("the token has expired; ask for a new one", "expired") from None
    except TokenRefused as exc:
        raise NotAuthenticated(exc.message, exc.reason) from None
    except jwt.InvalidTokenError as exc:
        raise NotAuthenticated(
            f"the token is not valid here ({exc}); ask for a token signed for this deployment",
            _reason(exc),
        ) from None
    refuse_if_revoked(request.app, caller)
    request.state.caller = caller  # for the audit trail (`audit.RequestAudit.caller`)
    return caller


def _reason(exc: jwt.InvalidTokenError) -> str:
    """A short name for why PyJWT refused a token, for the 401's details."""
    reasons: tuple[tuple[type[jwt.InvalidTokenError], str], ...] = (
        (jwt.InvalidAlgorithmError, "algorithm_not_allowed"),
        (jwt.InvalidSignatureError, "bad_signature"),
        (jwt.MissingRequiredClaimError, "missing_claim"),
        (jwt.InvalidAudienceError, "wrong_audience"),
        (jwt.ImmatureSignatureError, "not_yet_valid"),
        (jwt.DecodeError, "malformed"),
    )
    return next((name for kind, name in reasons if isinstance(exc, kind)), "invalid")


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
