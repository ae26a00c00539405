"""Registration through its HTTP API against a real nats-server and both databases."""

from __future__ import annotations

import logging

import httpx
import pytest
from nats.aio.client import Client as NatsClient

from jembatan_kit.auth import NIK_READER
from jembatan_kit.issuers import LocalIssuer, issue_token
from jembatan_kit.testing.helpers import (
    issuer_for_tests,
    wait_for_events,
)

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


async def test_registration_emits_candidate_registered_without_personal_data(
    client: httpx.AsyncClient, nats_client: NatsClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    response = await client.post("/candidates", json=SITI)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["nik_masked"] == "6471************"
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
    assert view["nik_masked"] == "6471************"
    assert SITI["nik"] not in str(view)


async def test_a_second_active_registration_of_the_same_nik_names_the_agencys_own_candidate(
    client: httpx.AsyncClient,
) -> None:
    first = await client.post("/candidates", json=SITI)
    assert first.status_code == 201
    again = await client.post("/candidates", json=SITI)
    assert again.status_code == 409
    refusal = again.json()
    assert refusal["error"] == "one_active_registration"
    assert first.json()["candidate_id"] in refusal["message"]
    assert refusal["details"]["existing_agency"] == "kaltim"


async def test_a_second_active_registration_in_another_agency_is_refused_without_disclosing_it(
    client: httpx.AsyncClient,
) -> None:
    first = await client.post("/candidates", json=SITI)
    assert first.status_code == 201
    again = await client.post("/candidates", json=SITI | {"agency": "kota-serang"})
    assert again.status_code == 409
    refusal = again.json()
    assert refusal["error"] == "one_active_registration"
    assert "another agency" in refusal["message"]
    assert first.json()["candidate_id"] not in str(refusal)
    assert "kaltim" not in str(refusal)


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
    return {"authorization": f"Bearer {issue_token(issuer_for_tests(agency), user, roles)}"}


async def test_reading_the_full_nik_is_authorised_scoped_and_recorded(
    client: httpx.AsyncClient,
) -> None:
    candidate_id = (await client.post("/candidates", json=SITI)).json()["candidate_id"]
    url = f"/candidates/{candidate_id}/nik"
    why = {"reason": "visa application"}
    anonymous = await client.post(url, json=why, headers={"authorization": ""})
    assert anonymous.status_code == 401
    assert "Bearer" in anonymous.json()["message"]
    forged = await client.post(
        url,
        json=why,
        # Kaltim's issuer, with a key the trust list does not name.
        headers={"authorization": f"Bearer {issue_token(LocalIssuer.generate('kaltim'), 'u', [])}"},
    )
    assert forged.status_code == 401
    no_role = await client.post(url, json=why, headers=bearer("clerk", "kaltim"))
    assert no_role.status_code == 403 and "nik-reader" in no_role.json()["message"]
    other_province = await client.post(
        url, json=why, headers=bearer("officer", "boyolali", NIK_READER)
    )
    assert other_province.status_code == 403
    assert other_province.json()["error"] == "agency_scope"
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
    assert view["warnings"] == ["the NIK's sex differs from the declared sex"]


async def test_each_agency_sees_and_changes_only_its_own_candidates(
    client: httpx.AsyncClient,
) -> None:
    kaltim, boyolali = bearer("clerk", "kaltim"), bearer("clerk", "boyolali")
    registered = await client.post("/candidates", json=SITI, headers=kaltim)
    assert registered.status_code == 201, registered.text
    candidate = f"/candidates/{registered.json()['candidate_id']}"

    assert (await client.get(candidate, headers=kaltim)).status_code == 200
    assert (await client.get(candidate)).status_code == 200  # the default caller is Kemnaker
    refused = await client.get(candidate, headers=boyolali)
    assert refused.status_code == 403
    assert refused.json()["error"] == "agency_scope"
    assert "belongs to agency kaltim" in refused.json()["message"]
    withdrawal = {"reason": "personal"}
    assert (
        await client.post(f"{candidate}/withdrawal", json=withdrawal, headers=boyolali)
    ).status_code == 403
    assert (
        await client.patch(candidate, json={"education": "SMA"}, headers=boyolali)
    ).status_code == 403
    assert (await client.get(f"{candidate}/nik-reads", headers=boyolali)).status_code == 403

    assert len((await client.get("/candidates", headers=kaltim)).json()) == 1
    assert (await client.get("/candidates", headers=boyolali)).json() == []
    assert (await client.get("/candidates?agency=kaltim", headers=boyolali)).status_code == 403
    assert len((await client.get("/candidates")).json()) == 1

    speaking_for_another = await client.post(
        "/candidates", json=SITI | {"nik": "3309015506040001"}, headers=boyolali
    )
    assert speaking_for_another.status_code == 403
    assert "registration for agency kaltim" in speaking_for_another.json()["message"]
    bulk = await client.post(
        "/candidates/bulk?agency=kaltim",
        content=b"nik\n",
        headers=boyolali | {"content-type": "text/csv"},
    )
    assert bulk.status_code == 403


async def test_a_call_without_a_token_is_refused_with_what_to_do(
    client: httpx.AsyncClient,
) -> None:
    for method, url in [("GET", "/candidates"), ("POST", "/candidates")]:
        answer = await client.request(method, url, headers={"authorization": ""})
        assert answer.status_code == 401
        assert answer.headers["www-authenticate"] == "Bearer"
        assert "jembatan token" in answer.json()["message"]
    for open_path in ("/health", "/docs", "/openapi.json"):
        answer = await client.get(open_path, headers={"authorization": ""})
        assert answer.status_code == 200, open_path


async def test_a_sector_longer_than_a_code_is_refused_naming_the_field(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/candidates", json=SITI | {"preferred_sector": "x" * 900_000})
    assert response.status_code == 422
    [problem] = response.json()["detail"]
    assert problem["loc"] == ["body", "preferred_sector"]
    assert problem["msg"] == "String should have at most 40 characters"
    assert (await client.get("/candidates")).json() == []
