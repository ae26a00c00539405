"""Who is calling, and what they may see: a bearer JWT naming the user (`sub`), their agency
and their roles, signed by an issuer of the service's trust list (`trust.TrustList`,
AUTH_TRUST_FILE) with a private key only that issuer holds.

A token is checked in this order, and refused with a 401 naming the first rule it breaks:
- its issuer (`iss`) is on the trust list (`unknown_issuer`);
- it is signed with one of the issuer's algorithms, all public-key ones (`algorithm_not_allowed`:
  an HS256 token made with a public key as its secret, `none`);
- the key its header names (`kid`) is one of the issuer's (`unknown_key`), and the signature
  holds with it (`bad_signature`);
- its claims have the types `TokenClaims` gives (`claim_type`), it names the issuer's audience
  (AUTH_AUDIENCE unless the trust list says otherwise; `wrong_audience`);
- its agency is its issuer's (`agency_not_issuers`): an issuer speaks for one agency, so only
  Kemnaker's issuer makes national callers. A token without `agency` (a plain OpenID Connect
  provider's) is for its issuer's agency;
- that agency is one this deployment knows (KNOWN_AGENCIES and the service's own AGENCY;
  `unknown_agency`), and it carries `iat` and lives no longer than AUTH_MAX_TOKEN_HOURS
  (`token_lifetime`).

The scope rule lives here and nowhere else: a caller acts for the agency of its token. A record
that belongs to an agency (a candidate's registration, enrolment, results, cohort membership,
placement, loan, payments, statement; a cohort; the job orders and funders of the agency running
the service) is seen and changed only by that agency, or by Kemnaker, which sees every agency.
Lists are limited the same way. Missing or bad tokens get 401, out-of-scope calls 403, each with a
message that names the rule and says what to do."""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

import jwt
from fastapi import Depends, FastAPI, Request
from jwt import PyJWK
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from .errors import RuleViolation
from .revocation import refuse_if_revoked
from .settings import AGENCY_CODE, ServiceSettings
from .trust import TrustedIssuer, TrustList

AUDIENCE = "jembatan"
"""The audience of the tokens the repository issues (the AUTH_AUDIENCE default)."""
NIK_READER = "nik-reader"
ROLES = frozenset({NIK_READER})
"""The roles the services check (`require_role`); `jembatan token` issues no other."""
NATIONAL_AGENCY = "kemnaker"
"""The ministry sees every agency's candidates."""


class TokenClaims(BaseModel):
    """The claims a token must carry, with their types. Strict: a number is not a string, a
    string not a list. Claims not named here (`nbf`, an OIDC provider's own) are ignored.
    `roles` is read from the issuer's roles claim (`roles` unless the trust list says
    otherwise)."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True, allow_inf_nan=False)

    iss: Annotated[str, StringConstraints(min_length=1)]
    sub: Annotated[str, StringConstraints(min_length=1, max_length=256, pattern=r"\S")]
    agency: Annotated[str, StringConstraints(pattern=AGENCY_CODE)] | None = None
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
    """A token this deployment does not accept. `reason` names the rule it breaks
    (`unknown_issuer`, `algorithm_not_allowed`, `unknown_key`, `claim_type`, `wrong_audience`,
    `agency_not_issuers`, `unknown_agency`, `token_lifetime`)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class IssuerUnreachable(jwt.InvalidTokenError):
    """The key a token names is not known, and its issuer's keys cannot be fetched now: the
    token may be good, but cannot be checked."""


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


def bearer(token: str) -> dict[str, str]:
    """The header that carries `token`."""
    return {"Authorization": f"Bearer {token}"}


def read_token(
    trust: TrustList, token: str, policy: TokenPolicy | None = None, *, fetch: bool = True
) -> Caller:
    """The caller `token` names, if an issuer of `trust` signed it and it keeps to `policy`
    (by default the environment's settings). Raises a `jwt.InvalidTokenError` saying why not.
    An issuer's keys published at a URL are fetched here when needed (blocking), unless
    `fetch` is false; on an event loop, use `read_token_async`."""
    issuer, key = _key_of(trust, token, fetch)
    caller, expires_at = _verified(token, key, issuer, policy or environment_policy())
    if expires_at <= time.time():  # as PyJWT judges `exp`, for a token verified before
        raise jwt.ExpiredSignatureError("Signature has expired")
    return caller


async def read_token_async(
    trust: TrustList, token: str, policy: TokenPolicy | None = None
) -> Caller:
    """`read_token` for a caller on the event loop: keys to fetch are fetched in a thread."""
    if (fetch := _fetch_needed(trust, token)) is not None:
        await asyncio.to_thread(fetch)
    return read_token(trust, token, policy, fetch=False)


@functools.lru_cache(maxsize=4096)
def _unverified(token: str) -> tuple[object, object, object]:
    """The token's `alg` and `kid` (header) and `iss`, read before anything is checked: they
    say which issuer and key check the rest."""
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, options={"verify_signature": False})
    return header.get("alg"), header.get("kid"), claims.get("iss")


def _issuer_of(trust: TrustList, token: str) -> tuple[TrustedIssuer, str, str]:
    """The token's issuer, algorithm and key id, once each is one the trust list allows."""
    alg, kid, iss = _unverified(token)
    if iss is None:
        raise jwt.MissingRequiredClaimError("iss")
    if not isinstance(iss, str):
        raise TokenRefused("claim_type", "the token's claim 'iss' is not valid: not a string")
    issuer = trust.issuer(iss)
    if issuer is None:
        raise TokenRefused(
            "unknown_issuer",
            f"the token was issued by '{iss}', which this deployment does not trust (trusted:"
            f" {', '.join(sorted(trust.issuers))}); an operator adds an agency's issuer to the"
            " trust list (AUTH_TRUST_FILE)",
        )
    if not isinstance(alg, str) or alg not in issuer.algorithms:
        raise TokenRefused(
            "algorithm_not_allowed",
            f"the token is signed with alg {alg!r}; its issuer '{iss}' signs only with"
            f" {', '.join(sorted(issuer.algorithms))}",
        )
    if not isinstance(kid, str) or not kid:
        raise TokenRefused(
            "unknown_key",
            f"the token's header names no key (kid); issuer '{iss}' names the key it signs"
            " with in each token",
        )
    return issuer, alg, kid


def _fetch_needed(trust: TrustList, token: str) -> Callable[[], None] | None:
    try:
        issuer, _alg, kid = _issuer_of(trust, token)
    except jwt.InvalidTokenError:
        return None  # refused without any key: `read_token` says why
    return issuer.keys.fetch_for(kid)


def _key_of(trust: TrustList, token: str, fetch: bool) -> tuple[TrustedIssuer, PyJWK]:
    issuer, alg, kid = _issuer_of(trust, token)
    if fetch and (pending := issuer.keys.fetch_for(kid)) is not None:
        pending()
    public = issuer.keys.key(kid)
    if public is None:
        if issuer.keys.problem:
            raise IssuerUnreachable(f"{issuer.keys.problem}; the token's key '{kid}' is unknown")
        raise TokenRefused(
            "unknown_key",
            f"the token is signed with key '{kid}', which is not a key of its issuer"
            f" '{issuer.name}' (it may have been replaced); ask for a new token",
        )
    key = public.for_algorithm(alg)
    if key is None:
        raise TokenRefused(
            "algorithm_not_allowed",
            f"the token is signed with alg '{alg}', but key '{kid}' of issuer '{issuer.name}'"
            f" signs with {', '.join(public.algorithms) or 'no algorithm allowed here'}",
        )
    return issuer, key


REQUIRED_CLAIMS = ("sub", "iat", "exp", "aud")
_SIGNATURE_ONLY: Any = {
    "verify_exp": False,
    "verify_nbf": False,
    "verify_iat": False,
    "verify_aud": False,
    "verify_iss": False,
    "verify_sub": False,
    "verify_jti": False,
}
_VALUES_ONLY: Any = {
    "verify_signature": False,
    "verify_exp": True,
    "verify_nbf": True,
    "verify_iat": True,
    "verify_aud": True,
    "verify_iss": True,
    "verify_sub": False,
    "verify_jti": False,
    "require": list(REQUIRED_CLAIMS),
}


@functools.lru_cache(maxsize=4096)
def _verified(
    token: str, key: PyJWK, issuer: TrustedIssuer, policy: TokenPolicy
) -> tuple[Caller, float]:
    """The caller a token names and when it expires, once its signature and claims are checked.
    A client sends the same token with every request: checking it once saves each later request
    the signature's work. Only good tokens are kept (a refusal raises, and is not cached); a key
    the issuer no longer lists finds nothing here, as `_key_of` refuses the token before."""
    # The signature first, then the claims' presence and types (a wrong type is named, not a
    # crash further on), then PyJWT's checks of their values: audience, expiry, `iat` not ahead.
    signed = jwt.decode(token, key.key, algorithms=[key.algorithm_name], options=_SIGNATURE_ONLY)
    if missing := [claim for claim in REQUIRED_CLAIMS if claim not in signed]:
        raise jwt.MissingRequiredClaimError(missing[0])
    claims = _typed(signed, issuer.roles_claim)
    audience = issuer.audience or policy.audience
    try:
        jwt.decode(token, audience=audience, issuer=issuer.name, options=_VALUES_ONLY)
    except jwt.InvalidAudienceError:
        raise TokenRefused(
            "wrong_audience",
            f"the token is meant for another audience than this deployment's ('{audience}',"
            " AUTH_AUDIENCE or the trust list's for its issuer); ask for a token issued for it",
        ) from None
    if claims.agency is not None and claims.agency != issuer.agency:
        raise TokenRefused(
            "agency_not_issuers",
            f"the token claims agency '{claims.agency}', but its issuer '{issuer.name}' speaks"
            f" only for agency '{issuer.agency}'; a token for {claims.agency} comes from"
            f" {claims.agency}'s own issuer",
        )
    if issuer.agency not in policy.agencies:
        raise TokenRefused(
            "unknown_agency",
            f"the token is for agency '{issuer.agency}', which is not known to this deployment"
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
    caller = Caller(
        claims.sub, issuer.agency, frozenset(claims.roles), claims.jti, issued_at=claims.iat
    )
    return caller, claims.exp


def _typed(decoded: dict[str, Any], roles_claim: str) -> TokenClaims:
    """The claims with their types checked; the roles read from the issuer's roles claim (a
    dotted path reaches into objects, e.g. `realm_access.roles`)."""
    claims = {name: value for name, value in decoded.items() if name != "roles"}
    roles: Any = decoded
    for part in roles_claim.split("."):
        roles = roles.get(part) if isinstance(roles, dict) else None
    if roles is not None:
        claims["roles"] = roles
    try:
        return TokenClaims.model_validate(claims)
    except ValidationError as exc:
        error = exc.errors()[0]
        claim = str(error["loc"][0]) if error["loc"] else "?"
        claim = roles_claim if claim == "roles" else claim
        raise TokenRefused(
            "claim_type", f"the token's claim '{claim}' is not valid: {error['msg']}"
        ) from None


def trust_of(app: FastAPI) -> TrustList:
    """The trust list of the app's runtime (or one set on the app itself)."""
    trust = getattr(getattr(app.state, "runtime", None), "trust", None)
    trust = trust if trust is not None else getattr(app.state, "trust", None)
    if not isinstance(trust, TrustList):
        raise RuleViolation(
            "authentication_not_configured",
            "this service has no trust list (AUTH_TRUST_FILE), so it cannot check callers; set"
            " AUTH_TRUST_FILE to the file naming the issuers whose tokens it accepts",
            status_code=503,
        )
    return trust


async def caller_of(app: FastAPI, token: str) -> Caller:
    """The caller `token` names, as the app's trust list and settings judge it; else a 401
    naming the reason (503 when its issuer's keys cannot be fetched to check it)."""
    trust = trust_of(app)
    try:
        return await read_token_async(trust, token, policy_of(app))
    except jwt.ExpiredSignatureError:
        raise NotAuthenticated("the token has expired; ask for a new one", "expired") from None
    except TokenRefused as exc:
        raise NotAuthenticated(exc.message, exc.reason) from None
    except IssuerUnreachable as exc:
        raise RuleViolation(
            "issuer_unreachable",
            f"{exc}; the token cannot be checked now, try again shortly",
            status_code=503,
        ) from None
    except jwt.InvalidTokenError as exc:
        raise NotAuthenticated(
            f"the token is not valid here ({exc}); ask for a token signed for this deployment",
            _reason(exc),
        ) from None


async def current_caller(request: Request) -> Caller:
    trust_of(request.app)  # a service that cannot check tokens says so first
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise NotAuthenticated(
            "send 'Authorization: Bearer <token>'; an administrator issues tokens with "
            "`jembatan token --user <login> --agency <agency>`"
        )
    caller = await caller_of(request.app, token)
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
        (jwt.InvalidIssuerError, "unknown_issuer"),
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
