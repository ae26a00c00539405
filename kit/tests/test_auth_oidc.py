"""An agency's own OpenID Connect provider as an issuer: its keys found through discovery and
fetched from its JWKS over HTTP (off the event loop, cached, fetched again for a key not seen
yet, at most once an interval), its tokens without an `agency` claim taken as its agency's,
and none of them able to speak for another agency.

The provider is real (`jembatan_kit.testing.oidc`): an HTTP server on loopback serving a
discovery document and a JWKS of RS256 and ES256 keys, signing tokens as Keycloak does (roles
under `realm_access.roles`)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import jwt
import pytest

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
from jembatan_kit.testing.oidc import Provider, ProviderKey
from jembatan_kit.trust import TrustList

KEMNAKER = LocalIssuer.generate("kemnaker")
POLICY = TokenPolicy(frozenset({"kemnaker", "boyolali"}))


def trust_list_of_provider(provider: Provider, **options: float) -> TrustList:
    return TrustList.from_document(trust_list_of([KEMNAKER], [provider.trust_entry()]), **options)


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
    trust = trust_list_of_provider(provider, refetch_interval_s=3600)
    assert read_token(trust, provider.token(), POLICY).agency == "boyolali"
    fetched = provider.jwks_fetches
    # Tokens naming keys never published: the JWKS is not fetched again for each of them.
    for _ in range(20):
        with pytest.raises(TokenRefused) as refused:
            read_token(trust, provider.token(kid=uuid.uuid4().hex), POLICY)
        assert refused.value.reason == "unknown_key"
    assert provider.jwks_fetches == fetched

    eager = trust_list_of_provider(provider, refetch_interval_s=0)
    assert read_token(eager, provider.token(), POLICY).agency == "boyolali"
    fetched = provider.jwks_fetches
    rotated = ProviderKey("ES256")
    provider.keys.append(rotated)
    try:
        # The new key's first token makes the list fetch the provider's keys again, once.
        assert read_token(eager, provider.token(rotated), POLICY).agency == "boyolali"
        assert read_token(eager, provider.token(rotated), POLICY).agency == "boyolali"
        assert provider.jwks_fetches == fetched + 1

        ageing = trust_list_of_provider(provider, refetch_interval_s=0, keys_max_age_s=0)
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
    trust = trust_list_of_provider(provider)
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
            read_token(trust_list_of_provider(provider), provider.token(), POLICY)
    finally:
        provider.discovered_issuer = None
