"""An agency's own OpenID Connect provider as an issuer: its keys found through discovery and
fetched from its JWKS over HTTP (off the event loop, cached, fetched again for a key not seen
yet, at most once an interval), its tokens without an `agency` claim taken as its agency's,
and none of them able to speak for another agency.

The provider is real: an HTTP server on loopback serving a discovery document and a JWKS of
RS256 and ES256 keys, signing tokens as Keycloak does (roles under `realm_access.roles`)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from jembatan_kit.auth import (
    IssuerUnreachable,
    TokenPolicy,
    TokenRefused,
    bearer,
    read_token,
    read_token_async,
)
from jembatan_kit.issuers import LocalIssuer, issue_token, trust_list_of
from jembatan_kit.nats_server import free_port
from jembatan_kit.testing.auth import changes, hmac_signed, service_trusting
from jembatan_kit.testing.helpers import eventually
from jembatan_kit.trust import TrustList

KEMNAKER = LocalIssuer.generate("kemnaker")
AUDIENCE = "jembatan-boyolali"
POLICY = TokenPolicy(frozenset({"kemnaker", "boyolali"}))


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


class Provider:
    """An OpenID Connect provider on loopback: discovery, a JWKS, and tokens it signs."""

    def __init__(self) -> None:
        self.keys = [ProviderKey("RS256"), ProviderKey("ES256", publish_alg=False)]
        self.jwks_fetches = 0
        self.gate: threading.Event | None = None
        """While set up and not yet opened, a JWKS request waits for it (at most 5 s)."""
        self.held = False
        self.discovered_issuer: str | None = None
        """The issuer the discovery document names (the provider's own, unless set)."""
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/.well-known/openid-configuration":
                    body = {
                        "issuer": provider.discovered_issuer or provider.issuer,
                        "jwks_uri": f"{provider.issuer}/protocol/openid-connect/certs",
                        "id_token_signing_alg_values_supported": ["RS256", "ES256"],
                    }
                elif self.path == "/protocol/openid-connect/certs":
                    provider.jwks_fetches += 1
                    if provider.gate is not None:
                        provider.held = True
                        provider.gate.wait(timeout=5)
                        provider.held = False
                    body = {"keys": [key.public_jwk for key in provider.keys]}
                else:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.issuer = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def token(self, key: ProviderKey | None = None, kid: str | None = None, **claims: Any) -> str:
        """A token as the provider issues it: no `agency` claim, roles in `realm_access`; signed
        with `key` (its first by default), naming `kid` (the key's own by default)."""
        key = key or self.keys[0]
        now = int(time.time())
        body = {
            "iss": self.issuer,
            "sub": "f:1234:siti",
            "aud": [AUDIENCE, "account"],
            "azp": "jembatan",
            "iat": now,
            "exp": now + 300,
            "jti": str(uuid.uuid4()),
            "preferred_username": "siti",
            "realm_access": {"roles": ["nik-reader", "offline_access"]},
        } | claims
        return jwt.encode(body, key.private, key.algorithm, headers={"kid": kid or key.kid})

    def trust_entry(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "agency": "boyolali",
            "discovery": True,
            "audience": AUDIENCE,
            "algorithms": ["RS256", "ES256"],
            "roles_claim": "realm_access.roles",
        }

    def trust_list(self, **options: float) -> TrustList:
        return TrustList.from_document(trust_list_of([KEMNAKER], [self.trust_entry()]), **options)


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    running = Provider()
    running.thread.start()
    yield running
    running.server.shutdown()
    running.server.server_close()


@pytest.fixture(scope="module")
async def service(
    provider: Provider, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[httpx.AsyncClient]:
    """A service of agency kemnaker trusting Kemnaker's own issuer and Boyolali's provider."""
    async with service_trusting(
        trust_list_of([KEMNAKER], [provider.trust_entry()]),
        tmp_path_factory.mktemp("oidc-service"),
        agency="kemnaker",
        known_agencies=["kemnaker", "boyolali"],
    ) as client:
        yield client


async def test_a_providers_token_without_an_agency_acts_for_its_agency(
    service: httpx.AsyncClient, provider: Provider
) -> None:
    for key in provider.keys:  # RS256, and ES256 whose JWKS entry names no alg
        before = await changes(service)
        response = await service.post("/acts", headers=bearer(provider.token(key)))
        assert response.status_code == 201, response.text
        assert response.json() == {
            "user": "f:1234:siti",
            "agency": "boyolali",
            "roles": ["nik-reader", "offline_access"],
        }
        assert await changes(service) == before + 1


@pytest.mark.parametrize(
    ("claims", "reason", "says"),
    [
        (
            {"agency": "kemnaker"},
            "agency_not_issuers",
            "claims agency 'kemnaker', but its issuer",
        ),
        ({"aud": "jembatan"}, "wrong_audience", "('jembatan-boyolali'"),
        ({"realm_access": {"roles": "nik-reader"}}, "claim_type", "'realm_access.roles'"),
        ({"exp": int(time.time()) + 30 * 3600}, "token_lifetime", "AUTH_MAX_TOKEN_HOURS"),
    ],
    ids=["claiming kemnaker", "another audience", "roles a string", "too long"],
)
async def test_a_providers_token_beyond_its_bounds_is_refused_and_changes_nothing(
    service: httpx.AsyncClient, provider: Provider, claims: dict[str, Any], reason: str, says: str
) -> None:
    before = await changes(service)
    response = await service.post("/acts", headers=bearer(provider.token(**claims)))
    assert response.status_code == 401, response.text
    assert response.json()["details"] == {"reason": reason}
    assert says in response.json()["message"]
    assert await changes(service) == before


async def test_a_token_made_with_the_providers_public_key_as_hmac_secret_is_refused(
    service: httpx.AsyncClient, provider: Provider
) -> None:
    before = await changes(service)
    claims = jwt.decode(provider.token(), options={"verify_signature": False})
    secret = json.dumps(provider.keys[0].public_jwk).encode()
    forged = hmac_signed(claims, provider.keys[0].kid, secret)
    response = await service.post("/acts", headers=bearer(forged))
    assert response.status_code == 401, response.text
    assert response.json()["details"] == {"reason": "algorithm_not_allowed"}
    assert await changes(service) == before


async def test_the_local_issuer_and_the_provider_are_trusted_side_by_side(
    service: httpx.AsyncClient,
) -> None:
    response = await service.post("/acts", headers=bearer(issue_token(KEMNAKER, "u", [])))
    assert response.status_code == 201, response.text
    assert response.json()["agency"] == "kemnaker"


def test_a_key_the_provider_publishes_later_is_fetched_and_fetches_are_rate_limited(
    provider: Provider,
) -> None:
    trust = provider.trust_list(refetch_interval_s=3600)
    assert read_token(trust, provider.token(), POLICY).agency == "boyolali"
    fetched = provider.jwks_fetches
    # Tokens naming keys never published: the JWKS is not fetched again for each of them.
    for _ in range(20):
        with pytest.raises(TokenRefused) as refused:
            read_token(trust, provider.token(kid=uuid.uuid4().hex), POLICY)
        assert refused.value.reason == "unknown_key"
    assert provider.jwks_fetches == fetched

    eager = provider.trust_list(refetch_interval_s=0)
    assert read_token(eager, provider.token(), POLICY).agency == "boyolali"
    fetched = provider.jwks_fetches
    rotated = ProviderKey("ES256")
    provider.keys.append(rotated)
    try:
        # The new key's first token makes the list fetch the provider's keys again, once.
        assert read_token(eager, provider.token(rotated), POLICY).agency == "boyolali"
        assert read_token(eager, provider.token(rotated), POLICY).agency == "boyolali"
        assert provider.jwks_fetches == fetched + 1

        ageing = provider.trust_list(refetch_interval_s=0, keys_max_age_s=0)
        token = provider.token(rotated)
        assert read_token(ageing, token, POLICY).agency == "boyolali"
        provider.keys.remove(rotated)
        # Withdrawn by the provider: refused once the keys are fetched again.
        with pytest.raises(TokenRefused) as refused:
            read_token(ageing, token, POLICY)
        assert refused.value.reason == "unknown_key"
    finally:
        if rotated in provider.keys:
            provider.keys.remove(rotated)


async def test_keys_are_fetched_off_the_event_loop(provider: Provider) -> None:
    trust = provider.trust_list()
    provider.gate = threading.Event()
    try:
        reading = asyncio.create_task(read_token_async(trust, provider.token(), POLICY))

        async def provider_holds_the_fetch() -> bool:
            return provider.held

        # The loop runs on while the provider holds the fetch (a fetch on the loop would block
        # it until the provider gives up waiting, and `held` would never be seen).
        await eventually(provider_holds_the_fetch, timeout_s=4)
        assert not reading.done()
        provider.gate.set()
        assert (await reading).agency == "boyolali"
    finally:
        provider.gate.set()
        provider.gate = None


def test_an_unreachable_provider_is_said_so_not_taken_for_a_bad_token(
    provider: Provider,
) -> None:
    gone = {"issuer": f"http://127.0.0.1:{free_port()}", "agency": "boyolali", "discovery": True}
    trust = TrustList.from_document({"issuers": [gone]})
    token = jwt.encode(
        {"iss": gone["issuer"], "sub": "u", "iat": int(time.time()), "exp": int(time.time()) + 60},
        provider.keys[1].private,
        "ES256",
        headers={"kid": provider.keys[1].kid},
    )
    with pytest.raises(IssuerUnreachable, match="could not be fetched"):
        read_token(trust, token, POLICY)


def test_a_discovery_document_for_another_issuer_is_not_followed(provider: Provider) -> None:
    provider.discovered_issuer = "https://someone-else.example"
    try:
        with pytest.raises(IssuerUnreachable, match="is for issuer 'https://someone-else"):
            read_token(provider.trust_list(), provider.token(), POLICY)
    finally:
        provider.discovered_issuer = None
