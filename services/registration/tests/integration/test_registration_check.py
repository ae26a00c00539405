"""A registration judged without being made (`POST /candidates/check`, the registration desk's
checks while the operator types): the same refusals as `POST /candidates`, and nothing kept,
published or logged."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from nats.aio.client import Client as NatsClient

from jembatan_kit.issuers import issue_token
from jembatan_kit.testing.helpers import events_on, issuer_for_tests, wait_for_events

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
}


def bearer(user: str, agency: str) -> dict[str, str]:
    return {"authorization": f"Bearer {issue_token(issuer_for_tests(agency), user, [])}"}


async def test_a_check_answers_every_rule_and_keeps_and_publishes_nothing(
    client: httpx.AsyncClient, nats_client: NatsClient
) -> None:
    mismatched = SITI | {"birth_date": "2004-06-07", "sex": "M", "region_code": "3201"}
    checked = await client.post("/candidates/check", json=mismatched)

    assert checked.status_code == 200, checked.text
    answer = checked.json()
    assert answer["nik_masked"] == "6471************"
    assert all(check["passed"] for check in answer["checks"])
    assert [warning.split(",")[0] for warning in answer["warnings"]] == [
        "NIK encodes birth date 2004-06-05",
        "NIK encodes sex female",
        "NIK was issued in Kalimantan Timur (6471)",
    ]
    assert "another agency" in answer["left_to_registration"]
    assert "candidate_id" not in answer
    assert (await client.get("/candidates")).json() == []

    # The relay publishes in order: had the check staged an event, it would come first.
    registered = (await client.post("/candidates", json=SITI)).json()
    await wait_for_events(
        nats_client, "REGISTRATION", lambda e: e["candidate_id"] == registered["candidate_id"]
    )
    assert [e["candidate_id"] for e in await events_on(nats_client, "REGISTRATION")] == [
        registered["candidate_id"]
    ]


def refused(response: httpx.Response) -> tuple[int, str, list[str], list[str]]:
    body = response.json()
    details = body.get("details", {})
    checks: list[dict[str, Any]] = details.get("checks", [])
    failed = [c["rule"] for c in checks if not c["passed"]]
    return response.status_code, body["error"], failed, details.get("warnings", [])


@pytest.mark.parametrize(
    "changes",
    [
        {"nik": "12345", "birth_date": "2015-01-01"},
        {"nik": "9971053506041000"},  # no province 99, no day 35
        {"region_code": "647"},
        {"sex": "X"},
        {"birth_date": "2015-06-05"},  # too young, and not the NIK's birth date: warned too
        {"agency": "kota-serang"},  # not the caller's agency
    ],
)
async def test_a_check_refuses_what_a_registration_refuses_in_the_same_words(
    client: httpx.AsyncClient, changes: dict[str, str]
) -> None:
    clerk = bearer("clerk", "kaltim")
    body = SITI | changes

    checked = await client.post("/candidates/check", json=body, headers=clerk)
    registered = await client.post("/candidates", json=body, headers=clerk)

    assert checked.status_code >= 400
    assert refused(checked) == refused(registered)
    if changes == {"birth_date": "2015-06-05"}:
        assert refused(checked)[2:] == (
            ["minimum_age"],
            ["NIK encodes birth date 2004-06-05, declared 2015-06-05"],
        )
    assert checked.json()["message"] == registered.json()["message"]
    assert (await client.get("/candidates")).json() == []


async def test_a_check_finds_the_agencys_own_registration_of_the_nik_and_only_its_own(
    client: httpx.AsyncClient,
) -> None:
    first = (await client.post("/candidates", json=SITI, headers=bearer("clerk", "kaltim"))).json()

    again = await client.post("/candidates/check", json=SITI, headers=bearer("clerk", "kaltim"))
    assert refused(again)[:2] == (409, "one_active_registration")
    assert first["candidate_id"] in again.json()["message"]

    # Another agency's registration is disclosed only by a registration, which logs it.
    serang = bearer("prober", "kota-serang")
    elsewhere = SITI | {"agency": "kota-serang"}
    assert (await client.post("/candidates/check", json=elsewhere, headers=serang)).is_success
    reads = f"/candidates/{first['candidate_id']}/nik-reads"
    assert (await client.get(reads)).json() == []
    real = await client.post("/candidates", json=elsewhere, headers=serang)
    assert refused(real)[:2] == (409, "one_active_registration")
    assert len((await client.get(reads)).json()) == 1
