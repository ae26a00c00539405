"""The loans screens' routes over plain HTTP, without the services running: the participant's
link opens the one loan it was signed for (a link changed to name another loan, or signed by
another console, opens nothing and never reaches financing), the loan officer's screens are
theirs only, and every word the loan pages make from a value exists in both languages. The
same screens against the real services: tests/console/test_console_loans_browser.py."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from itsdangerous import URLSafeTimedSerializer

from jembatan_console.app import build_app
from jembatan_console.config import ConsoleSettings
from jembatan_console.i18n import WORDS
from jembatan_console.loans import RETURN_REASONS, STATUSES, waiting_for
from jembatan_console.operators import add_operator
from jembatan_console.statement import SALT
from jembatan_contracts import WriteOffReason
from jembatan_kit.issuers import LocalIssuer
from jembatan_kit.nats_server import free_ports

PASSWORD = "kata-sandi-rahasia"


def console_settings(folder: Path) -> ConsoleSettings:
    folder.mkdir(exist_ok=True)
    LocalIssuer.generate("kaltim").save(folder / "kaltim.json")
    operators = folder / "operators.json"
    add_operator(operators, "rina", PASSWORD, ["registrar"], "Rina Wati")
    add_operator(operators, "budi", PASSWORD, ["loan-officer"], "Budi")
    closed = free_ports(1)[0]  # nothing listens there: every service is unreachable
    return ConsoleSettings(
        console_agency="kaltim",
        console_issuer_file=folder / "kaltim.json",
        console_operators_file=operators,
        console_secret_file=folder / "secret",
        service_urls={
            name: f"http://127.0.0.1:{closed}"
            for name in ("registration", "training", "placement", "financing")
        },
    )


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(build_app(console_settings(tmp_path)), follow_redirects=False) as test_client:
        yield test_client


def signed_link(secret: str, loan_id: uuid.UUID) -> str:
    return URLSafeTimedSerializer(secret, salt=SALT).dumps(str(loan_id))


def test_a_link_opens_its_own_loan_only(client: TestClient) -> None:
    """A link signed for loan A reaches financing for A (which cannot be reached here: 502).
    The same link with B's id put in its place, keeping A's signature, opens nothing: 404, in
    words, without asking financing."""
    secret = client.app.state.secret  # type: ignore[attr-defined]
    loan_a, loan_b = uuid.uuid4(), uuid.uuid4()
    link_a = signed_link(secret, loan_a)
    own = client.get(f"/statement/{link_a}")
    assert own.status_code == 502
    assert "financing" in own.text

    payload, stamp, signature = link_a.split(".")
    assert base64.urlsafe_b64decode(payload + "==").decode() == f'"{loan_a}"'
    other = base64.urlsafe_b64encode(f'"{loan_b}"'.encode()).decode().rstrip("=")
    forged = client.get(f"/statement/{other}.{stamp}.{signature}")
    assert forged.status_code == 404
    assert "Tautan ini tidak berlaku" in forged.text
    english = client.get(f"/statement/{other}.{stamp}.{signature}?lang=en")
    assert "This link does not work" in english.text


def test_a_link_signed_by_another_console_or_for_another_use_opens_nothing(
    client: TestClient, tmp_path: Path
) -> None:
    loan = uuid.uuid4()
    elsewhere = signed_link("another console's secret", loan)
    assert client.get(f"/statement/{elsewhere}").status_code == 404
    secret = client.app.state.secret  # type: ignore[attr-defined]
    other_salt = URLSafeTimedSerializer(secret, salt="another-use").dumps(str(loan))
    assert client.get(f"/statement/{other_salt}").status_code == 404


def test_the_loan_officers_screens_are_theirs_only(client: TestClient) -> None:
    client.post("/login", data={"login": "rina", "password": PASSWORD, "next": "/"})
    loan = uuid.uuid4()
    for method, path in (
        ("GET", f"/loans/{loan}"),
        ("GET", f"/loans/{loan}/state"),
        ("GET", "/funders"),
        ("POST", f"/loans/{loan}/subsidy/check"),
        ("POST", f"/loans/{loan}/subsidy"),
        ("POST", f"/loans/{loan}/write-off"),
        ("POST", f"/loans/{loan}/schedule"),
        ("POST", f"/loans/{loan}/items"),
        ("POST", f"/loans/{loan}/items/insurance/correct"),
        ("POST", f"/loans/{loan}/early-return"),
        ("POST", "/funders"),
    ):
        response = client.request(method, path)
        assert response.status_code == 403, path
        assert "loan-officer" in response.text


def test_a_loan_officer_meets_financing_unreachable_in_words(client: TestClient) -> None:
    client.post("/login", data={"login": "budi", "password": PASSWORD, "next": "/"})
    for path in (f"/loans/{uuid.uuid4()}", "/funders", "/loans?status=needs_decision"):
        response = client.get(path)
        assert response.status_code == 502, path
        assert "Layanan financing tidak dapat dihubungi" in response.text


def test_every_word_the_loan_pages_make_from_a_value_is_there_in_both_languages() -> None:
    keys = {f"pending.loan.{waiting}" for waiting in ("departure", "early_return")}
    keys |= {f"loan.{status}" for status in STATUSES}
    keys |= {f"return.{reason}" for reason in RETURN_REASONS}
    keys |= {f"write_off.{reason.value}" for reason in WriteOffReason}
    keys |= {
        f"done.{done}"
        for done in (
            "status",
            "subsidy",
            "write_off",
            "schedule",
            "item_added",
            "item_corrected",
            "item_removed",
            "early_return",
            "restructured",
        )
    }
    missing = sorted(keys - set(WORDS))
    assert missing == []
    for key in keys:
        assert all(word.strip() for word in WORDS[key]), key


@pytest.mark.parametrize(
    ("loan_status", "placement_status", "waiting"),
    [
        ("open", "placed", ""),
        ("open", "departed", "departure"),  # Departed on its way to financing
        ("open", "returned_early", "departure"),
        ("needs_decision", "departed", ""),
        ("repaying", "departed", ""),
        ("repaying", "returned_early", "early_return"),  # EarlyReturned on its way
        ("needs_decision", "returned_early", "early_return"),
        ("paused", "returned_early", ""),
        ("closed", "withdrawn", ""),
    ],
)
def test_a_loan_waits_for_what_placement_has_recorded_and_financing_not_yet(
    loan_status: str, placement_status: str, waiting: str
) -> None:
    assert waiting_for({"status": loan_status}, {"status": placement_status}) == waiting
    assert waiting_for({"status": loan_status}, None) == ""  # placement cannot say: no wait
