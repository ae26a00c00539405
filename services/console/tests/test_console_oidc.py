"""Sign-in at the agency's own OpenID Connect provider: the authorization code flow with PKCE,
against a real provider on loopback (`jembatan_kit.testing.oidc`: discovery, JWKS, a sign-in
form, one-use codes, a token endpoint checking the verifier). The console holds no key: the
token it keeps is the provider's, roles read where the trust list says, and a service that
trusts the provider accepts it as the operator's."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient

from jembatan_console.app import build_app
from jembatan_console.config import ConsoleSettings
from jembatan_kit.auth import bearer
from jembatan_kit.issuers import LocalIssuer, trust_list_of, write_trust_file
from jembatan_kit.nats_server import free_ports
from jembatan_kit.testing.auth import service_trusting
from jembatan_kit.testing.oidc import Provider, s256

CLIENT_ID = "jembatan-console"
CALLBACK = "http://testserver/login/oidc/callback"
PASSWORD = "kata-sandi-penyedia"


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    """Kalimantan Timur's own provider, its tokens for the audience `jembatan`."""
    running = Provider(agency="kaltim", audience="jembatan")
    running.add_account("sari", PASSWORD, "Sari Dewi", ["registrar", "trainer"])
    running.add_client(CLIENT_ID, CALLBACK)
    with running.running():
        yield running


@pytest.fixture(scope="module")
def trust(provider: Provider) -> dict[str, object]:
    """The services' trust list: Kemnaker's own key, and Kalimantan Timur's provider."""
    return trust_list_of([LocalIssuer.generate("kemnaker")], [provider.trust_entry()])


@pytest.fixture
def settings(tmp_path: Path, provider: Provider, trust: dict[str, object]) -> ConsoleSettings:
    write_trust_file(tmp_path / "trust.json", trust)
    closed = free_ports(1)[0]
    return ConsoleSettings(
        console_agency="kaltim",
        console_oidc_issuer=provider.issuer,
        console_oidc_client_id=CLIENT_ID,
        auth_trust_file=tmp_path / "trust.json",
        console_issuer_file=tmp_path / "no-such-key.json",  # never read with a provider
        console_operators_file=tmp_path / "no-operators.json",
        console_secret_file=tmp_path / "secret",
        service_urls={
            name: f"http://127.0.0.1:{closed}"
            for name in ("registration", "training", "placement", "financing")
        },
    )


@pytest.fixture
def console(settings: ConsoleSettings) -> Iterator[TestClient]:
    with TestClient(build_app(settings), follow_redirects=False) as client:
        yield client


def start(console: TestClient, next_path: str = "/") -> dict[str, str]:
    """The console sends the browser to the provider: the authorization request's parameters."""
    response = console.get("/login/oidc", params={"next": next_path})
    assert response.status_code == 302, response.text
    location = urlsplit(response.headers["location"])
    return {key: values[0] for key, values in parse_qs(location.query).items()}


def sign_in_at_provider(
    provider: Provider, request: dict[str, str], password: str = PASSWORD
) -> httpx.Response:
    """The operator at the provider's own sign-in form, as a browser fills it in."""
    authorize = provider.discovery()["authorization_endpoint"]
    form = httpx.get(authorize, params=request)
    assert form.status_code == 200, form.text
    assert 'name="password"' in form.text
    return httpx.post(authorize, data=request | {"username": "sari", "password": password})


def callback_of(answer: httpx.Response) -> str:
    assert answer.status_code == 302, answer.text
    location = urlsplit(answer.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == CALLBACK
    return f"{location.path}?{location.query}"


def session_of(console: TestClient) -> dict[str, object]:
    """The session cookie's content (signed, not encrypted: its owner may read it)."""
    payload = console.cookies["jembatan_console_kaltim"].split(".")[0]
    data: dict[str, object] = json.loads(base64.b64decode(payload + "=" * (-len(payload) % 4)))
    return data


async def test_an_operator_signs_in_at_the_provider_and_the_services_accept_its_token(
    console: TestClient, provider: Provider, trust: dict[str, object], tmp_path: Path
) -> None:
    page = console.get("/login")
    assert page.status_code == 200
    assert 'href="/login/oidc?next=/"' in page.text and 'name="password"' not in page.text
    assert "Masuk lewat akun lembaga" in page.text

    request = start(console, "/candidates")
    assert request["client_id"] == CLIENT_ID and request["redirect_uri"] == CALLBACK
    assert request["response_type"] == "code" and "openid" in request["scope"].split()
    assert request["code_challenge_method"] == "S256" and request["nonce"]
    assert "jembatan_console_kaltim_oidc" in console.cookies, "the flow's state waits here"

    back = console.get(callback_of(sign_in_at_provider(provider, request)))
    assert back.status_code == 200, back.text
    assert back.headers["refresh"] == "0; url=/candidates", "from this site: cookies come along"
    assert 'href="/candidates"' in back.text
    [exchange] = provider.token_requests[-1:]
    assert s256(exchange["code_verifier"]) == request["code_challenge"], "PKCE: the verifier"

    home = console.get("/")
    assert home.status_code == 200
    assert "Sari Dewi" in home.text
    assert 'href="/registration"' in home.text and 'href="/training"' in home.text
    assert 'href="/loans"' not in home.text, "a role the provider did not give"

    operator = session_of(console)["operator"]
    assert isinstance(operator, dict)
    assert operator["roles"] == ["offline_access", "registrar", "trainer"]
    async with service_trusting(
        trust, tmp_path / "service", agency="kaltim", known_agencies=["kaltim", "kemnaker"]
    ) as service:
        acted = await service.post("/acts", headers=bearer(str(operator["token"])))
    assert acted.status_code == 201, acted.text
    assert acted.json()["agency"] == "kaltim"
    assert {"registrar", "trainer"} <= set(acted.json()["roles"])


def test_a_callback_for_another_browsers_sign_in_signs_nobody_in(
    settings: ConsoleSettings, provider: Provider
) -> None:
    app = build_app(settings)
    with (
        TestClient(app, follow_redirects=False) as victim,
        TestClient(app, follow_redirects=False) as attacker,
    ):
        start(victim)
        attackers_request = start(attacker)
        callback = callback_of(sign_in_at_provider(provider, attackers_request))
        refused = victim.get(callback)
        assert refused.status_code == 401
        assert "Masuk lewat akun lembaga tidak berhasil" in refused.text
        assert "jembatan_console_kaltim" not in victim.cookies
        assert victim.get("/").status_code == 303, "still signed out"


def test_a_code_works_once_and_only_with_its_verifier(
    console: TestClient, provider: Provider
) -> None:
    request = start(console)
    callback = callback_of(sign_in_at_provider(provider, request))
    code = parse_qs(urlsplit(callback).query)["code"][0]
    stolen = httpx.post(
        provider.discovery()["token_endpoint"],
        data={
            "grant_type": "authorization_code",
            "code": code,
            "client_id": CLIENT_ID,
            "redirect_uri": CALLBACK,
            "code_verifier": "a-verifier-the-thief-made-up-0000000000000000",
        },
    )
    assert stolen.status_code == 400 and "PKCE" in stolen.text
    # the provider spent the code on the thief's try: the console's own exchange is refused too
    assert console.get(callback).status_code == 401
    assert "jembatan_console_kaltim" not in console.cookies


def test_the_way_back_after_sign_in_stays_on_the_console(
    console: TestClient, provider: Provider
) -> None:
    for asked, landed in (("//evil.example/", "/"), ("/candidates\r\nX-Evil: 1", None)):
        back = console.get(callback_of(sign_in_at_provider(provider, start(console, asked))))
        assert back.status_code == 200, back.text
        refresh = back.headers["refresh"]
        assert "\n" not in refresh and "x-evil" not in {k.lower() for k in back.headers}
        if landed is not None:
            assert refresh == f"0; url={landed}"


def test_a_callback_without_the_flows_cookie_or_with_the_providers_refusal_signs_nobody_in(
    console: TestClient,
) -> None:
    assert console.get("/login/oidc/callback?code=x&state=y").status_code == 401
    start(console)
    refused = console.get("/login/oidc/callback?error=access_denied&state=y")
    assert refused.status_code == 401
    assert "jembatan_console_kaltim" not in console.cookies


def test_no_password_is_taken_by_a_console_that_signs_in_at_the_provider(
    console: TestClient,
) -> None:
    response = console.post("/login", data={"login": "sari", "password": PASSWORD})
    assert response.status_code == 303
    assert response.headers["location"] == "/login/oidc"
    assert console.get("/health").json()["sign_in"] == "oidc"


def test_a_provider_the_trust_list_gives_another_agency_stops_the_console_at_start(
    settings: ConsoleSettings,
) -> None:
    with pytest.raises(RuntimeError, match=r"has no issuer .* for boyolali"):
        build_app(settings.model_copy(update={"console_agency": "boyolali"}))


def test_a_provider_that_cannot_be_reached_is_said_in_words_never_a_500(
    tmp_path: Path,
) -> None:
    down = f"http://127.0.0.1:{free_ports(1)[0]}"  # nothing listens there
    entry = {"issuer": down, "agency": "kaltim", "discovery": True}
    write_trust_file(tmp_path / "trust.json", trust_list_of([], [entry]))
    settings = ConsoleSettings(
        console_agency="kaltim",
        console_oidc_issuer=down,
        auth_trust_file=tmp_path / "trust.json",
        console_secret_file=tmp_path / "secret",
    )
    with TestClient(build_app(settings), follow_redirects=False) as client:
        response = client.get("/login/oidc")
    assert response.status_code == 502
    assert "Masuk lewat akun lembaga tidak berhasil" in response.text
