"""Training against a real nats-server and both databases: enrolment from CandidateRegistered,
results through the HTTP API, and the events they produce on the TRAINING stream."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import httpx
import pytest
from nats.aio.client import Client as NatsClient

from jembatan_contracts import CandidateRegistered, Track
from jembatan_kit.testing.helpers import (
    events_on,
    eventually,
    running_app,
    trust_file_for_tests,
    wait_for_events,
)
from jembatan_training.bootstrap import build_app
from jembatan_training.config import TrainingSettings


@pytest.fixture
async def client(database_url: str, nats_url: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = TrainingSettings(
        database_url=database_url,
        nats_url=nats_url,
        outbox_poll_interval_s=0.1,
        auth_trust_file=trust_file_for_tests(),
    )
    async with running_app(build_app(settings)) as client:
        yield client


def registered(track: Track, sector: str, agency: str = "kaltim") -> CandidateRegistered:
    return CandidateRegistered(
        agency=agency,
        journey_id=uuid.uuid4(),
        candidate_id=uuid.uuid4(),
        track=track,
        preferred_sector=sector,
        education="SMK",
        province_code="64",
        registered_on=date(2026, 1, 12),
    )


async def publish(nats_client: NatsClient, event: CandidateRegistered) -> None:
    await nats_client.jetstream().publish(event.subject, event.model_dump_json().encode())


async def enrol(
    client: httpx.AsyncClient, nats_client: NatsClient, event: CandidateRegistered
) -> str:
    await publish(nats_client, event)
    candidate_id = str(event.candidate_id)

    async def enrolled() -> bool:
        return (await client.get(f"/candidates/{candidate_id}")).status_code == 200

    await eventually(enrolled)
    return candidate_id


async def post_result(
    client: httpx.AsyncClient, candidate_id: str, **result: Any
) -> dict[str, Any]:
    body = {"issuer": "Japan Foundation", "taken_on": "2026-06-07"} | result
    response = await client.post(f"/candidates/{candidate_id}/results", json=body)
    assert response.status_code == 201, response.text
    recorded: dict[str, Any] = response.json()
    return recorded


def of(event_type: str, candidate_id: str) -> Any:
    return lambda e: e["event_type"] == event_type and e["candidate_id"] == candidate_id


async def test_a_titp_candidate_becomes_ready_once_with_n4(
    client: httpx.AsyncClient, nats_client: NatsClient
) -> None:
    event = registered(Track.TITP, "automotive")
    candidate_id = await enrol(client, nats_client, event)

    below = await post_result(client, candidate_id, test="JFT_BASIC", score=199)
    assert below["passed"] is False
    assert below["readiness"]["ready"] is False
    n4 = await post_result(client, candidate_id, test="JLPT", level="N4")
    assert n4["passed"] is True
    assert n4["became_ready"] is True

    ready = await wait_for_events(
        nats_client, "TRAINING", of("CandidateReadyForPlacement", candidate_id)
    )
    assert ready[0]["agency"] == "kaltim"
    assert ready[0]["journey_id"] == str(event.journey_id)
    assert ready[0]["track"] == "TITP"
    assert ready[0]["sector"] == "automotive"
    assert ready[0]["language_level"] == "N4"
    assert ready[0]["satisfied_rules"] == [
        "Japanese at N4 or better (JLPT N4+ or JFT-Basic A2, score 200+): "
        "JLPT N4, Japan Foundation, 2026-06-07"
    ]

    n3 = await post_result(client, candidate_id, test="JLPT", level="N3")
    assert n3["became_ready"] is False
    passed = await wait_for_events(
        nats_client, "TRAINING", of("CertificatePassed", candidate_id), count=2
    )
    assert [(e["test"], e["level"]) for e in passed] == [("JLPT", "N4"), ("JLPT", "N3")]
    assert {e["certificate_id"] for e in passed} == {n4["result_id"], n3["result_id"]}
    assert {e["journey_id"] for e in passed} == {str(event.journey_id)}
    on_stream = await events_on(nats_client, "TRAINING")
    assert len([e for e in on_stream if of("CandidateReadyForPlacement", candidate_id)(e)]) == 1

    view = (await client.get(f"/candidates/{candidate_id}")).json()
    assert view["ready"] is True
    assert view["readiness"]["language_level"] == "N3"
    assert [r["test"] for r in view["results"]] == ["JFT_BASIC", "JLPT", "JLPT"]
    assert [c["candidate_id"] for c in (await client.get("/candidates?ready=true")).json()] == [
        candidate_id
    ]


async def test_an_ssw_caregiver_needs_japanese_the_sector_skill_and_nursing_care(
    client: httpx.AsyncClient, nats_client: NatsClient
) -> None:
    candidate_id = await enrol(client, nats_client, registered(Track.SSW, "caregiver"))

    steps = [
        {"test": "JFT_BASIC", "score": 215},
        {"test": "SSW_SKILL", "sector": "automotive", "passed": True},
        {"test": "SSW_SKILL", "sector": "caregiver", "passed": True},
    ]
    for step in steps:
        recorded = await post_result(client, candidate_id, **step)
        assert recorded["became_ready"] is False
    missing = [rule["rule"] for rule in recorded["readiness"]["missing"]]
    assert missing == ["nursing_care_japanese"]
    assert (await client.get("/candidates?ready=false")).json()[0]["candidate_id"] == candidate_id

    last = await post_result(client, candidate_id, test="NURSING_CARE_JAPANESE", passed=True)
    assert last["became_ready"] is True

    passed = await wait_for_events(
        nats_client, "TRAINING", of("CertificatePassed", candidate_id), count=4
    )
    assert [e["test"] for e in passed] == [
        "JFT_BASIC",
        "SSW_SKILL",
        "SSW_SKILL",
        "NURSING_CARE_JAPANESE",
    ]
    ready = await wait_for_events(
        nats_client, "TRAINING", of("CandidateReadyForPlacement", candidate_id)
    )
    assert len(ready) == 1
    assert ready[0]["track"] == "SSW"
    assert ready[0]["language_level"] == "N4"
    rules = ready[0]["satisfied_rules"]
    assert len(rules) == 3
    assert "JFT-Basic A2 (score 215)" in rules[0]
    assert "SSW skill test (caregiver)" in rules[1]
    assert rules[2].startswith("Nursing-care Japanese test passed")


async def test_a_redelivered_registration_enrols_the_candidate_once(
    client: httpx.AsyncClient, nats_client: NatsClient
) -> None:
    event = registered(Track.TITP, "agriculture", agency="kota-serang")
    candidate_id = await enrol(client, nats_client, event)
    await publish(nats_client, event)
    same_candidate = event.model_copy(update={"event_id": uuid.uuid4(), "track": Track.SSW})
    await publish(nats_client, same_candidate)
    marker = await enrol(client, nats_client, registered(Track.TITP, "agriculture", "kota-serang"))

    listed = (await client.get("/candidates?agency=kota-serang")).json()
    assert [c["candidate_id"] for c in listed] == [candidate_id, marker]
    assert listed[0]["track"] == "TITP"
    assert (await client.get("/candidates?agency=kaltim")).json() == []


async def test_results_are_refused_for_unknown_candidates_and_bad_grades(
    client: httpx.AsyncClient, nats_client: NatsClient
) -> None:
    unknown = uuid.uuid4()
    response = await client.post(
        f"/candidates/{unknown}/results",
        json={"test": "JLPT", "level": "N4", "issuer": "JEES", "taken_on": "2026-06-07"},
    )
    assert response.status_code == 404
    assert response.json()["error"] == "candidate_not_enrolled"
    assert str(unknown) in response.json()["message"]
    assert (await client.get(f"/candidates/{unknown}")).status_code == 404

    candidate_id = await enrol(client, nats_client, registered(Track.TITP, "automotive"))
    bad = await client.post(
        f"/candidates/{candidate_id}/results",
        json={"test": "JFT_BASIC", "score": 251, "issuer": "JF", "taken_on": "2026-06-07"},
    )
    assert bad.status_code == 422
    assert bad.json()["error"] == "result_refused"
    assert [r["rule"] for r in bad.json()["details"]["failed_rules"]] == ["jft_basic_score"]
    assert "0 to 250" in bad.json()["message"]
    view = (await client.get(f"/candidates/{candidate_id}")).json()
    assert view["results"] == []
    assert await events_on(nats_client, "TRAINING") == []
