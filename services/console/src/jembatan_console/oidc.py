"""Sign-in with the agency's own OpenID Connect provider: the authorization code flow with PKCE
(S256), through Authlib's client. The console then calls the services with the provider's
access token, which their trust list already accepts; it holds no key and no passwords.

The flow's state (the `state`, the PKCE verifier, the nonce and where to go back to) waits in a
cookie of its own, signed with the console's secret, SameSite=Lax and ten minutes long: the
provider's redirect back is a navigation from another site, which a SameSite=Strict cookie (the
session's) does not come with. The state in the cookie must be the one the provider sends back,
so a callback started in another browser signs nobody in.

Before anything is kept, the access token is read with the trust list exactly as a service reads
it (`jembatan_kit.auth.read_token_async`): its issuer, signature, audience and lifetime, and the
roles where the issuer's `roles_claim` says. A token the services would refuse, or one of
another agency, signs nobody in."""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass
from typing import Any

import jwt
from authlib.integrations.base_client import OAuthError
from authlib.integrations.starlette_client import OAuth
from itsdangerous import BadSignature, URLSafeTimedSerializer

from jembatan_kit.auth import Caller, IssuerUnreachable, TokenPolicy, read_token_async
from jembatan_kit.trust import TrustList

from .config import ConsoleSettings

PENDING_COOKIE = "jembatan_console_{agency}_oidc"
PENDING_SECONDS = 600
CALLBACK_PATH = "/login/oidc/callback"


class SignInFailed(Exception):
    """The provider's answer signs nobody in; `reason` names why (logged, never shown raw)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class SignedInAtProvider:
    caller: Caller
    name: str
    token: str
    expires_at: float


class ProviderSignIn:
    """The console as a client of the agency's provider."""

    def __init__(self, settings: ConsoleSettings, secret: str) -> None:
        if settings.auth_trust_file is None:
            raise RuntimeError(
                "CONSOLE_OIDC_ISSUER is set but AUTH_TRUST_FILE is not: the console checks the"
                " provider's tokens against the trust list, as the services do"
            )
        self.trust = TrustList.load(settings.auth_trust_file)
        self.issuer = settings.console_oidc_issuer
        entry = self.trust.issuer(self.issuer)
        if entry is None or entry.agency != settings.console_agency:
            raise RuntimeError(
                f"the trust list {settings.auth_trust_file} has no issuer {self.issuer} for"
                f" {settings.console_agency} (CONSOLE_OIDC_ISSUER, CONSOLE_AGENCY)"
            )
        self.agency = settings.console_agency
        self.policy = TokenPolicy(frozenset({settings.console_agency}), settings.auth_audience)
        self.redirect_url = settings.console_oidc_redirect_url
        client_secret = None
        if settings.console_oidc_client_secret_file is not None:
            client_secret = settings.console_oidc_client_secret_file.read_text().strip()
        oauth = OAuth()
        self.client: Any = oauth.register(
            "provider",
            client_id=settings.console_oidc_client_id,
            client_secret=client_secret,
            server_metadata_url=f"{self.issuer.rstrip('/')}/.well-known/openid-configuration",
            client_kwargs={
                "scope": settings.console_oidc_scopes,
                "code_challenge_method": "S256",
                "token_endpoint_auth_method": "client_secret_basic" if client_secret else "none",
            },
        )
        self.pending = URLSafeTimedSerializer(secret, salt="console-oidc-pending")
        self.cookie = PENDING_COOKIE.format(agency=settings.console_agency)

    async def start(self, redirect_url: str, next_path: str) -> tuple[str, str]:
        """Where to send the browser (the provider's authorization endpoint), and the pending
        sign-in to keep in the cookie until it comes back."""
        redirect_url = self.redirect_url or redirect_url
        try:
            started = await self.client.create_authorization_url(redirect_url)
        except Exception as exc:  # the provider's discovery cannot be read
            raise SignInFailed(f"provider_unreachable: {type(exc).__name__}") from None
        pending = {
            "state": started["state"],
            "code_verifier": started["code_verifier"],
            "nonce": started["nonce"],
            "redirect_url": redirect_url,
            "next": next_path,
        }
        return started["url"], self.pending.dumps(pending)

    def read_pending(self, kept: str | None) -> dict[str, str]:
        if not kept:
            raise SignInFailed("no_pending_sign_in")
        try:
            pending: dict[str, str] = self.pending.loads(kept, max_age=PENDING_SECONDS)
        except BadSignature:
            raise SignInFailed("pending_sign_in_not_ours_or_expired") from None
        return pending

    async def finish(self, pending: dict[str, str], params: dict[str, str]) -> SignedInAtProvider:
        """The operator the provider's answer signs in, or SignInFailed."""
        if params.get("error"):
            raise SignInFailed(f"provider_said: {params['error']}")
        if not hmac.compare_digest(params.get("state", ""), pending["state"]):
            raise SignInFailed("state_mismatch")
        try:
            token = await self.client.fetch_access_token(
                redirect_uri=pending["redirect_url"],
                code=params.get("code", ""),
                code_verifier=pending["code_verifier"],
            )
            identity = await self.client.parse_id_token(token, nonce=pending["nonce"])
        except OAuthError as exc:
            raise SignInFailed(f"provider_refused: {exc.error}") from None
        except Exception as exc:  # unreachable, or an ID token that does not hold
            raise SignInFailed(f"token_exchange_failed: {type(exc).__name__}: {exc}") from None
        access = str(token.get("access_token", ""))
        try:
            caller = await read_token_async(self.trust, access, self.policy)
        except IssuerUnreachable:
            raise SignInFailed("provider_keys_unreachable") from None
        except jwt.InvalidTokenError as exc:
            raise SignInFailed(f"access_token_refused: {getattr(exc, 'reason', exc)}") from None
        if caller.agency != self.agency:
            raise SignInFailed(f"agency_mismatch: {caller.agency}")
        if identity is not None and identity.get("sub") != caller.user:
            raise SignInFailed("id_token_and_access_token_name_different_users")
        claims = identity or {}
        name = str(claims.get("name") or claims.get("preferred_username") or caller.user)
        expires_at = float(token.get("expires_at") or time.time() + 300)
        return SignedInAtProvider(caller, name, access, expires_at)
