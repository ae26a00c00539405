"""The training centre's screen without the services: training's penjurusan reasons worded
in both languages from their codes and facts, the routes refusing what is not a trainer's and
saying in words when training cannot be reached. Against the real services:
tests/console/test_console_training_browser.py."""

from __future__ import annotations

import base64
import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from jembatan_console.app import build_app
from jembatan_console.config import ConsoleSettings
from jembatan_console.i18n import WORDS
from jembatan_console.operators import add_operator
from jembatan_console.registration import refused_rows_file
from jembatan_console.training import (
    READINESS_RULES,
    REASON_CODES,
    reason_words,
    results_sent,
    with_commas,
)
from jembatan_kit.issuers import LocalIssuer
from jembatan_kit.nats_server import free_ports

PASSWORD = "kata-sandi-rahasia"
CANDIDATE = "0b7f3c2e-8a4d-4f7e-9c1a-2d3e4f5a6b7c"
COHORT = "5d0e6f7a-1b2c-4d3e-8f9a-0b1c2d3e4f5a"


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    LocalIssuer.generate("kaltim").save(tmp_path / "kaltim.json")
    operators = tmp_path / "operators.json"
    add_operator(operators, "dewi", PASSWORD, ["trainer"], "Dewi Lestari")
    add_operator(operators, "rina", PASSWORD, ["registrar"], "Rina Wati")
    closed = free_ports(1)[0]  # nothing listens there: every service is unreachable
    settings = ConsoleSettings(
        console_agency="kaltim",
        console_issuer_file=tmp_path / "kaltim.json",
        console_operators_file=operators,
        console_secret_file=tmp_path / "secret",
        service_urls={
            name: f"http://127.0.0.1:{closed}"
            for name in ("registration", "training", "placement", "financing")
        },
    )
    with TestClient(build_app(settings), follow_redirects=False) as test_client:
        yield test_client


def sign_in(client: TestClient, login: str) -> None:
    answer = client.post("/login", data={"login": login, "password": PASSWORD, "next": "/"})
    assert answer.status_code == 303


def test_every_reason_and_readiness_rule_of_training_has_words_in_both_languages() -> None:
    keys = [f"suggest.{code}" for code in REASON_CODES]
    keys += [f"readiness.{rule}" for rule in READINESS_RULES]
    keys += ["sector_fixed.ready_for_placement", "sector_fixed.withdrawn"]
    for key in keys:
        indonesian, english = WORDS[key]
        assert indonesian.strip() and english.strip() and indonesian != english, key


def test_a_reason_is_worded_from_its_facts_in_the_pages_language() -> None:
    passed = {
        "code": "skill_test_passed",
        "points": 4,
        "text": "passed the SSW skill test in agriculture on 2026-02-20",
        "facts": {"sector": "agriculture", "taken_on": "2026-02-20"},
    }
    assert reason_words("id", passed) == (
        "lulus ujian keterampilan SSW agriculture pada 2026-02-20"
    )
    assert reason_words("en", passed) == passed["text"]
    missing = {
        "code": "certificates_missing",
        "points": -2,
        "text": "2 certificate(s) SSW needs in caregiver still missing: ...",
        "facts": {
            "sector": "caregiver",
            "track": "SSW",
            "count": 2,
            "missing": "ssw_skill_sector, nursing_care_japanese",
        },
    }
    assert reason_words("id", missing) == (
        "sertifikat SSW untuk caregiver yang masih kurang: ujian keterampilan SSW di"
        " bidangnya, ujian bahasa Jepang perawatan lansia"
    )
    below = {
        "code": "daily_scores_below_target",
        "points": -1,
        "text": "recent daily scores average 72.5 over 2 day(s), below the target of 80: ...",
        "facts": {"average": 72.5, "days": 2, "target": 80},
    }
    assert reason_words("id", below).startswith(
        "rata-rata nilai harian 72,5 (2 hari), di bawah target 80"
    )
    assert reason_words("en", below).startswith("daily scores average 72.5 (2 days)")
    # A reason training gives that the console does not know yet: training's own words.
    unknown = {"code": "new_rule", "points": 1, "text": "a new reason", "facts": {}}
    assert reason_words("id", unknown) == "a new reason"


def test_a_semicolon_file_comes_back_as_its_refused_rows_to_send_again() -> None:
    sent = (
        "candidate_id;test;issuer;taken_on;level\n"
        f"{CANDIDATE};JLPT;Japan Foundation;2026-05-15;N4\n"
        f"{CANDIDATE};JLPT;Japan Foundation, Jakarta;2026-05-15;N7\n"
    ).encode()
    rows = [
        {"line": 2, "status": "accepted"},
        {
            "line": 3,
            "status": "refused",
            "errors": [{"rule": "jlpt_level", "column": "level", "message": "got 'N7'"}],
        },
    ]
    link = refused_rows_file(with_commas(sent), rows)
    assert link is not None
    back = list(csv.DictReader(io.StringIO(base64.b64decode(link.split(",", 1)[1]).decode())))
    assert back == [
        {
            "candidate_id": CANDIDATE,
            "test": "JLPT",
            "issuer": "Japan Foundation, Jakarta",
            "taken_on": "2026-05-15",
            "level": "N7",
            "errors": "jlpt_level: got 'N7'",
        }
    ]
    assert results_sent(with_commas(sent)) == {2: "JLPT N4", 3: "JLPT N7"}
    comma = b"candidate_id,test\nx,JLPT\n"
    assert with_commas(comma) is comma


def test_the_training_routes_are_a_trainers(client: TestClient) -> None:
    sign_in(client, "rina")
    for path, data in [
        ("/training/results", {}),
        (f"/training/cohorts/{COHORT}/members/{CANDIDATE}/sector", {"sector": "agriculture"}),
    ]:
        refused = client.post(path, data=data)
        assert refused.status_code == 403, path
        assert "untuk peran trainer" in refused.text


def test_a_results_file_or_a_suggestion_while_training_is_down_is_said_in_words(
    client: TestClient,
) -> None:
    sign_in(client, "dewi")
    sent = client.post(
        "/training/results",
        files={"file": ("hasil.csv", b"candidate_id,test,issuer,taken_on\n", "text/csv")},
    )
    assert sent.status_code == 502
    assert "Layanan training tidak dapat dihubungi" in sent.text
    applied = client.post(
        f"/training/cohorts/{COHORT}/members/{CANDIDATE}/sector",
        data={"sector": "agriculture", "reason": "Saran penjurusan: lulus ujian"},
    )
    assert applied.status_code == 502
    assert "nothing was changed" in applied.text
