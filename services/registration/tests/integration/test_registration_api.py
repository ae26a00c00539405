"""Registration through its HTTP API against a real nats-server and both databases."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from nats.aio.client import Client as NatsClient

from jembatan_kit.auth import NIK_READER, issue_token
from jembatan_kit.testing.helpers import running_app, wait_for_events
from jembatan_registration.bootstrap import build_app
from jembatan_registration.config import RegistrationSettings

SECRET = "registration-test-signing-key-32-bytes"
SITI = {
    "agency": "kaltim",
    "nik": "6471054506040003",
    "full_name": "Siti Rahmawati",
    "birth_date": "2004-06-05",
    "region_code": "6471",
    "sex": "F",
    "education": "SMK",
    "track": "TITP",
    "preferred_sector": "caregiver",
    "phone": "+62812000111",
}


@pytest.fixture
async def client(
    database_url: str, nats_url: str, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    settings = RegistrationSettings(
        database_url=database_url,
        nats_url=nats_url,
        secrets_file=tmp_path / "secrets.json",
        auth_jwt_secret=SECRET,
    )
    async with running_app(build_app(settings)) as client:
        yield client


async def test_registration_emits_candidate_registered_without_personal_data(
    client: httpx.AsyncClient, nats_client: NatsClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    response = await client.post("/candidates", json=SITI)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["nik_masked"] == "6471********0003"
    assert body["warnings"] == []
    assert all(check["passed"] for check in body["checks"])

    events = await wait_for_events(
        nats_client, "REGISTRATION", lambda e: e["candidate_id"] == body["candidate_id"]
    )
    event = events[0]
    assert event["event_type"] == "CandidateRegistered"
    assert event["journey_id"] == body["journey_id"]
    assert event["agency"] == "kaltim"
    assert event["province_code"] == "64"
    for personal in (SITI["nik"], SITI["full_name"], SITI["phone"], "Siti"):
        assert personal not in str(event)
        assert personal not in caplog.text

    view = (await client.get(f"/candidates/{body['candidate_id']}")).json()
    assert view["nik_masked"] == "6471********0003"
    assert SITI["nik"] not in str(view)


async def test_a_second_active_registration_of_the_same_nik_is_refused_across_agencies(
    client: httpx.AsyncClient,
) -> None:
    first = await client.post("/candidates", json=SITI)
    assert first.status_code == 201
    again = await client.post("/candidates", json=SITI | {"agency": "kota-serang"})
    assert again.status_code == 409
    refusal = again.json()
    assert refusal["error"] == "one_active_registration"
    assert first.json()["candidate_id"] in refusal["message"]
    assert refusal["details"]["existing_agency"] == "kaltim"


async def test_a_refusal_names_every_broken_rule(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/candidates", json=SITI | {"nik": "12345", "birth_date": "2015-01-01"}
    )
    assert response.status_code == 422
    refusal = response.json()
    assert refusal["error"] == "registration_refused"
    assert "NIK must be exactly 16 digits" in refusal["message"]
    assert "must be at least 18 years old" in refusal["message"]
    failed = [c["rule"] for c in refusal["details"]["checks"] if not c["passed"]]
    assert failed == ["nik_format", "minimum_age"]
    assert (await client.get("/candidates")).json() == []


def bearer(user: str, agency: str, *roles: str) -> dict[str, str]:
    return {"authorization": f"Bearer {issue_token(SECRET, user, agency, list(roles))}"}


async def test_reading_the_full_nik_is_authorised_scoped_and_recorded(
    client: httpx.AsyncClient,
) -> None:
    candidate_id = (await client.post("/candidates", json=SITI)).json()["candidate_id"]
    url = f"/candidates/{candidate_id}/nik"
    why = {"reason": "visa application"}
    anonymous = await client.post(url, json=why)
    assert anonymous.status_code == 401
    assert "Bearer" in anonymous.json()["detail"]
    forged = await client.post(
        url,
        json=why,
        headers={"authorization": f"Bearer {issue_token('x' * 40, 'u', 'kaltim', [])}"},
    )
    assert forged.status_code == 401
    no_role = await client.post(url, json=why, headers=bearer("clerk", "kaltim"))
    assert no_role.status_code == 403 and "nik-reader" in no_role.json()["detail"]
    other_province = await client.post(
        url, json=why, headers=bearer("officer", "boyolali", NIK_READER)
    )
    assert other_province.status_code == 403
    assert other_province.json()["error"] == "other_agency"
    no_reason = await client.post(
        url, json={"reason": " "}, headers=bearer("officer", "kaltim", NIK_READER)
    )
    assert no_reason.status_code == 422

    read = await client.post(url, json=why, headers=bearer("officer", "kaltim", NIK_READER))
    assert read.json() == {"nik": SITI["nik"]}
    ministry = await client.post(
        url, json={"reason": "audit"}, headers=bearer("analyst", "kemnaker", NIK_READER)
    )
    assert ministry.status_code == 200
    log = (await client.get(f"/candidates/{candidate_id}/nik-reads")).json()
    assert [(entry["reader"], entry["reason"]) for entry in log] == [
        ("officer (kaltim)", "visa application"),
        ("analyst (kemnaker)", "audit"),
    ]


async def test_a_nik_that_disagrees_with_the_declaration_registers_with_a_warning(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/candidates", json=SITI | {"sex": "M"})
    assert response.status_code == 201, response.text
    assert response.json()["warnings"] == ["NIK encodes sex female, declared male"]
    view = (await client.get(f"/candidates/{response.json()['candidate_id']}")).json()
    assert view["warnings"] == ["NIK encodes sex female, declared male"]
