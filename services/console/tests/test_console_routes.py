"""The console's routes over plain HTTP, without the services running: sign-in with the
operators file, roles deciding the screens, refusals in words (never a 500) when a service
cannot be reached, the participant's link that only the console can sign. The same routes
against the real services: tests/console/."""

from __future__ import annotations

import base64
import json
import stat
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
from fastapi.testclient import TestClient

from jembatan_console.app import build_app
from jembatan_console.config import ConsoleSettings
from jembatan_console.operators import add_operator, authenticate, read_operators
from jembatan_kit.issuers import LocalIssuer
from jembatan_kit.nats_server import free_ports

PASSWORD = "kata-sandi-rahasia"


@pytest.fixture
def settings(tmp_path: Path) -> ConsoleSettings:
    LocalIssuer.generate("kaltim").save(tmp_path / "kaltim.json")
    operators = tmp_path / "operators.json"
    add_operator(operators, "rina", PASSWORD, ["registrar"], "Rina Wati")
    add_operator(operators, "budi", PASSWORD, ["loan-officer", "trainer"], "Budi")
    closed = free_ports(1)[0]  # nothing listens there: every service is unreachable
    return ConsoleSettings(
        console_agency="kaltim",
        console_issuer_file=tmp_path / "kaltim.json",
        console_operators_file=operators,
        console_secret_file=tmp_path / "secret",
        service_urls={
            name: f"http://127.0.0.1:{closed}"
            for name in ("registration", "training", "placement", "financing")
        },
    )


@pytest.fixture
def client(settings: ConsoleSettings) -> Iterator[TestClient]:
    with TestClient(build_app(settings), follow_redirects=False) as test_client:
        yield test_client


def sign_in(client: TestClient, login: str, password: str = PASSWORD) -> int:
    response = client.post("/login", data={"login": login, "password": password, "next": "/"})
    return response.status_code


def test_operators_file_keeps_argon2id_hashes_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "operators.json"
    add_operator(path, "siti", PASSWORD, ["registrar", "nik-reader"])
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    [operator] = read_operators(path).values()
    assert operator.password_hash.startswith("$argon2id$")
    assert PASSWORD not in path.read_text()
    assert authenticate(path, "siti", PASSWORD) == operator
    assert authenticate(path, "siti", PASSWORD + "x") is None
    assert authenticate(path, "nobody", PASSWORD) is None
    with pytest.raises(ValueError, match="unknown role"):
        add_operator(path, "siti", PASSWORD, ["admin"])
    with pytest.raises(ValueError, match="at least 10"):
        add_operator(path, "siti", "short", ["registrar"])


def test_signed_out_pages_send_to_the_sign_in_in_indonesian(client: TestClient) -> None:
    response = client.get("/registration")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/registration"
    page = client.get("/login")
    assert page.status_code == 200
    assert '<html lang="id">' in page.text
    assert "Masuk ke konsol kaltim" in page.text
    assert 'data-testid="switch-language">English</a>' in page.text
    english = client.get("/login?lang=en")
    assert "Sign in to the kaltim console" in english.text
    assert client.get("/login").text.count("Sign in to the kaltim console") == 1  # remembered


def test_a_wrong_password_is_refused_in_words(client: TestClient) -> None:
    response = client.post("/login", data={"login": "rina", "password": "salah-sekali!"})
    assert response.status_code == 401
    assert "Nama pengguna atau kata sandi salah." in response.text
    assert client.get("/").status_code == 303


def test_the_roles_decide_the_screens(client: TestClient, settings: ConsoleSettings) -> None:
    assert sign_in(client, "rina") == 303
    home = client.get("/")
    assert home.status_code == 200
    assert "Meja pendaftaran" in home.text
    assert "Pinjaman" not in home.text and "Pusat pelatihan" not in home.text
    refused = client.get("/loans")
    assert refused.status_code == 403
    assert "untuk peran loan-officer" in refused.text


def test_the_session_carries_a_short_lived_token_of_the_agencys_issuer(
    client: TestClient, settings: ConsoleSettings
) -> None:
    client.post("/login", data={"login": "budi", "password": PASSWORD})
    issuer = LocalIssuer.load(settings.console_issuer_file)
    token = _session_token(client)  # the cookie is signed, not encrypted: its owner may read it
    claims = jwt.decode(
        token, issuer.signing_key.public_key(), algorithms=["EdDSA"], audience="jembatan"
    )
    assert claims["iss"] == "urn:jembatan:agency:kaltim"
    assert claims["agency"] == "kaltim" and claims["sub"] == "budi"
    assert sorted(claims["roles"]) == ["loan-officer", "trainer"]
    assert claims["exp"] - claims["iat"] == settings.console_token_minutes * 60


def _session_token(client: TestClient) -> str:
    """The token in Starlette's session cookie: base64 JSON, then its timestamp and signature."""
    cookie = client.cookies["jembatan_console_kaltim"]
    payload = cookie.split(".")[0]
    data = json.loads(base64.b64decode(payload + "=" * (-len(payload) % 4)))
    return str(data["operator"]["token"])


def test_a_service_that_cannot_be_reached_is_said_in_words_never_a_500(
    client: TestClient,
) -> None:
    sign_in(client, "rina")
    response = client.post(
        "/registration",
        data={"nik": "6471051506040001", "full_name": "Budi Santoso", "birth_date": "2004-06-15"},
    )
    assert response.status_code == 502
    assert "Layanan registration tidak dapat dihubungi" in response.text
    assert "nothing was changed" in response.text


def test_a_statement_link_not_signed_by_the_console_opens_nothing(client: TestClient) -> None:
    response = client.get("/statement/not-a-signed-link")
    assert response.status_code == 404
    assert "Tautan ini tidak berlaku" in response.text


def test_sign_in_never_sends_to_another_site(client: TestClient) -> None:
    response = client.post(
        "/login", data={"login": "rina", "password": PASSWORD, "next": "//evil.example/"}
    )
    assert response.headers["location"] == "/"


def test_a_form_posted_from_another_site_is_refused(client: TestClient) -> None:
    response = client.post(
        "/login",
        data={"login": "rina", "password": PASSWORD},
        headers={"origin": "http://evil.example"},
    )
    assert response.status_code == 403
