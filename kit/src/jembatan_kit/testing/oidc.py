"""An OpenID Connect provider on loopback for the tests: discovery, a JWKS of RS256 and ES256
keys, tokens signed as Keycloak signs them (no `agency`, roles under `realm_access.roles`), and
the authorization code flow with PKCE (S256) for a client such as the console: a sign-in form,
one-use codes bound to the client, its redirect URL and its code challenge, and a token
endpoint answering an access token and an ID token.

It is a real HTTP server (the standard library's, in a thread): every key, code and token is
made and checked as a provider would, and the services verify its tokens with the same trust
list entry a deployment would give them."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

AUDIENCE = "jembatan-boyolali"
AUTHORIZE_PATH = "/protocol/openid-connect/auth"
TOKEN_PATH = "/protocol/openid-connect/token"
JWKS_PATH = "/protocol/openid-connect/certs"
CODE_SECONDS = 60


class ProviderKey:
    """A key of the provider: RSA (RS256) or P-256 (ES256)."""

    def __init__(self, algorithm: str, publish_alg: bool = True) -> None:
        self.algorithm = algorithm
        self.kid = uuid.uuid4().hex[:12]
        if algorithm == "RS256":
            self.private: Any = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            jwk = RSAAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        else:
            self.private = ec.generate_private_key(ec.SECP256R1())
            jwk = ECAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        self.public_jwk = jwk | {"kid": self.kid, "use": "sig"}
        if publish_alg:  # some providers leave `alg` out of their JWKS
            self.public_jwk["alg"] = algorithm


@dataclass
class Account:
    """A user of the provider: their password, name and realm roles."""

    password: str
    name: str
    roles: list[str]
    sub: str = field(default_factory=lambda: f"f:{uuid.uuid4()}")


@dataclass
class Client:
    client_id: str
    redirect_urls: list[str]
    secret: str | None = None


@dataclass
class Grant:
    client_id: str
    redirect_url: str
    challenge: str
    nonce: str | None
    login: str
    expires_at: float


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class Provider:
    """An OpenID Connect provider on loopback: discovery, a JWKS, tokens it signs, and the
    authorization code flow with PKCE for its registered clients and accounts."""

    def __init__(self, agency: str = "boyolali", audience: str = AUDIENCE) -> None:
        self.agency = agency
        self.audience = audience
        self.keys = [ProviderKey("RS256"), ProviderKey("ES256", publish_alg=False)]
        self.jwks_fetches = 0
        self.gate: threading.Event | None = None
        """While set up and not yet opened, a JWKS request waits for it (at most 5 s)."""
        self.held = False
        self.discovered_issuer: str | None = None
        """The issuer the discovery document names (the provider's own, unless set)."""
        self.accounts: dict[str, Account] = {}
        self.clients: dict[str, Client] = {}
        self.grants: dict[str, Grant] = {}
        self.token_lifetime_s = 300
        self.token_requests: list[dict[str, str]] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.issuer = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # --- what a test sets up ---------------------------------------------------------------

    def add_account(self, login: str, password: str, name: str, roles: list[str]) -> Account:
        self.accounts[login] = Account(password, name, roles)
        return self.accounts[login]

    def add_client(self, client_id: str, redirect_url: str, secret: str | None = None) -> None:
        self.clients[client_id] = Client(client_id, [redirect_url], secret)

    def token(self, key: ProviderKey | None = None, kid: str | None = None, **claims: Any) -> str:
        """An access token as the provider issues it: no `agency` claim, roles in
        `realm_access`; signed with `key` (its first by default), naming `kid` (the key's own
        by default)."""
        key = key or self.keys[0]
        now = int(time.time())
        body = {
            "iss": self.issuer,
            "sub": "f:1234:siti",
            "aud": [self.audience, "account"],
            "azp": "jembatan",
            "iat": now,
            "exp": now + self.token_lifetime_s,
            "jti": str(uuid.uuid4()),
            "preferred_username": "siti",
            "realm_access": {"roles": ["nik-reader", "offline_access"]},
        } | claims
        return jwt.encode(body, key.private, key.algorithm, headers={"kid": kid or key.kid})

    def trust_entry(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "agency": self.agency,
            "discovery": True,
            "audience": self.audience,
            "algorithms": ["RS256", "ES256"],
            "roles_claim": "realm_access.roles",
        }

    @contextmanager
    def running(self) -> Iterator[Provider]:
        self.thread.start()
        try:
            yield self
        finally:
            self.server.shutdown()
            self.server.server_close()

    # --- the endpoints -------------------------------------------------------------------------

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.discovered_issuer or self.issuer,
            "authorization_endpoint": f"{self.issuer}{AUTHORIZE_PATH}",
            "token_endpoint": f"{self.issuer}{TOKEN_PATH}",
            "jwks_uri": f"{self.issuer}{JWKS_PATH}",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code"],
            "code_challenge_methods_supported": ["S256"],
            "id_token_signing_alg_values_supported": ["RS256", "ES256"],
            "token_endpoint_auth_methods_supported": ["none", "client_secret_basic"],
        }

    def authorization_refused(self, query: dict[str, str]) -> str | None:
        """Why an authorization request is refused before any form is shown, or None."""
        client = self.clients.get(query.get("client_id", ""))
        if client is None:
            return "unknown client"
        if query.get("redirect_uri") not in client.redirect_urls:
            return "redirect_uri is not one the client registered"
        if query.get("response_type") != "code":
            return "only response_type=code"
        if query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
            return "PKCE with S256 is required"
        if "openid" not in query.get("scope", "").split():
            return "scope openid is required"
        return None

    def sign_in_form(self, query: dict[str, str], failed: bool = False) -> str:
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in query.items()
        )
        refusal = '<p role="alert">Invalid username or password.</p>' if failed else ""
        return (
            '<!doctype html><html lang="en"><head><title>Sign in</title></head><body><main>'
            f"<h1>Sign in to {html.escape(self.agency)}</h1>{refusal}"
            f'<form method="post" action="{AUTHORIZE_PATH}">{hidden}'
            '<label for="username">Username</label><input id="username" name="username">'
            '<label for="password">Password</label>'
            '<input id="password" name="password" type="password">'
            '<button type="submit">Sign in</button></form></main></body></html>'
        )

    def grant_code(self, query: dict[str, str]) -> str | None:
        """The redirect back to the client with a one-use code, for the right password."""
        account = self.accounts.get(query.get("username", ""))
        if account is None or not secrets.compare_digest(
            account.password, query.get("password", "")
        ):
            return None
        code = secrets.token_urlsafe(24)
        self.grants[code] = Grant(
            query["client_id"],
            query["redirect_uri"],
            query["code_challenge"],
            query.get("nonce"),
            query["username"],
            time.time() + CODE_SECONDS,
        )
        back = {"code": code, "state": query.get("state", ""), "iss": self.issuer}
        return f"{query['redirect_uri']}?{urlencode(back)}"

    def exchange(self, form: dict[str, str], basic: tuple[str, str] | None) -> tuple[int, Any]:
        """The token endpoint: a code for tokens, once, for the client it was given to, with
        the verifier of its challenge."""
        self.token_requests.append(form)
        client_id = basic[0] if basic else form.get("client_id", "")
        client = self.clients.get(client_id)
        if client is None:
            return 401, {"error": "invalid_client"}
        if client.secret is not None and (
            basic is None or not secrets.compare_digest(basic[1], client.secret)
        ):
            return 401, {"error": "invalid_client"}
        if form.get("grant_type") != "authorization_code":
            return 400, {"error": "unsupported_grant_type"}
        grant = self.grants.pop(form.get("code", ""), None)
        if grant is None or grant.expires_at < time.time() or grant.client_id != client_id:
            return 400, {"error": "invalid_grant", "error_description": "unknown or used code"}
        if form.get("redirect_uri") != grant.redirect_url:
            return 400, {"error": "invalid_grant", "error_description": "redirect_uri differs"}
        if s256(form.get("code_verifier", "")) != grant.challenge:
            return 400, {"error": "invalid_grant", "error_description": "PKCE verification failed"}
        account = self.accounts[grant.login]
        now = int(time.time())
        access = self.token(
            sub=account.sub,
            azp=client_id,
            preferred_username=grant.login,
            name=account.name,
            realm_access={"roles": [*account.roles, "offline_access"]},
        )
        key = self.keys[0]
        identity = {
            "iss": self.issuer,
            "sub": account.sub,
            "aud": client_id,
            "azp": client_id,
            "iat": now,
            "exp": now + self.token_lifetime_s,
            "auth_time": now,
            "preferred_username": grant.login,
            "name": account.name,
        } | ({"nonce": grant.nonce} if grant.nonce else {})
        id_token = jwt.encode(identity, key.private, key.algorithm, headers={"kid": key.kid})
        return 200, {
            "access_token": access,
            "id_token": id_token,
            "token_type": "Bearer",
            "expires_in": self.token_lifetime_s,
            "scope": "openid profile",
        }

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                if url.path == "/.well-known/openid-configuration":
                    self._json(200, provider.discovery())
                elif url.path == JWKS_PATH:
                    provider.jwks_fetches += 1
                    if provider.gate is not None:
                        provider.held = True
                        provider.gate.wait(timeout=5)
                        provider.held = False
                    self._json(200, {"keys": [key.public_jwk for key in provider.keys]})
                elif url.path == AUTHORIZE_PATH:
                    refused = provider.authorization_refused(query)
                    if refused:
                        self._page(400, f"<p>{html.escape(refused)}</p>")
                    else:
                        self._page(200, provider.sign_in_form(query))
                else:
                    self.send_error(404)

            def do_POST(self) -> None:
                url = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode()
                form = {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}
                if url.path == AUTHORIZE_PATH:
                    fields = {k: v for k, v in form.items() if k not in ("username", "password")}
                    if provider.authorization_refused(fields):
                        self._page(400, "<p>refused</p>")
                    elif (back := provider.grant_code(form)) is None:
                        self._page(401, provider.sign_in_form(fields, failed=True))
                    else:
                        self.send_response(302)
                        self.send_header("Location", back)
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                elif url.path == TOKEN_PATH:
                    self._json(*provider.exchange(form, self._basic()))
                else:
                    self.send_error(404)

            def _basic(self) -> tuple[str, str] | None:
                header = self.headers.get("Authorization", "")
                if not header.startswith("Basic "):
                    return None
                login, _, password = base64.b64decode(header[6:]).decode().partition(":")
                return login, password

            def _json(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Cache-Control", "no-store")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _page(self, status: int, text: str) -> None:
                data = text.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler
