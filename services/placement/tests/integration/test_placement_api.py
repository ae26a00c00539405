"""Placement through its HTTP API and its readiness consumer, against a real nats-server and
both databases."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import httpx
import pytest
from nats.aio.client import Client as NatsClient

from jembatan_contracts import CandidateReadyForPlacement, Track
from jembatan_kit.testing.helpers import (
    consumers_drained,
    events_on,
    eventually,
    publish_ready,
    running_app,
    token_for,
    trust_file_for_tests,
    wait_for_events,
)
from jembatan_placement.bootstrap import build_app
from jembatan_placement.config import PlacementSettings

CAREGIVER_ORDER = {
    "employer": "Sakura Kaigo K.K.",
    "supervising_organisation": "IM Japan",
    "prefecture": "Aichi",
    "sector": "caregiver",
    "track": "TITP",
    "slots": 2,
    "monthly_wage_jpy": 200_000,
    "contract_months": 36,
}


@pytest.fixture
async def client(database_url: str, nats_url: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = PlacementSettings(
        database_url=database_url,
        nats_url=nats_url,
        auth_trust_file=trust_file_for_tests(),
        clock_adjustable=True,
    )
    async with running_app(build_app(settings)) as client:
        yield client


async def move_clock(client: httpx.AsyncClient, day: date) -> None:
    """The service's clock to noon (UTC) of `day`: steps dated up to then have happened."""
    moment = datetime.combine(day, time(12), UTC)
    moved = await client.put("/clock", json={"now": moment.isoformat()})
    assert moved.status_code == 200, moved.text


async def announce_ready(
    nats_client: NatsClient,
    candidate_id: uuid.UUID | None = None,
    sector: str = "caregiver",
    track: Track = Track.TITP,
    occurred_at: datetime | None = None,
    agency: str = "kaltim",
    journey_id: uuid.UUID | None = None,
) -> CandidateReadyForPlacement:
    """Publish a readiness announcement as training would."""
    event = CandidateReadyForPlacement(
        agency=agency,
        journey_id=journey_id or uuid.uuid4(),
        candidate_id=candidate_id or uuid.uuid4(),
        track=track,
        sector=sector,
        language_level="N4",
        satisfied_rules=["language_n4"],
        occurred_at=occurred_at or datetime.now(UTC),
    )
    await publish_ready(nats_client, event)
    return event


async def ready_candidate(
    client: httpx.AsyncClient, nats_client: NatsClient, **kwargs: Any
) -> CandidateReadyForPlacement:
    event = await announce_ready(nats_client, **kwargs)
    await until_known(client, event.candidate_id)
    return event


async def until_known(client: httpx.AsyncClient, candidate_id: uuid.UUID) -> None:
    async def known() -> bool:
        return (await client.get(f"/ready-candidates/{candidate_id}")).status_code == 200

    await eventually(known)


async def open_order(client: httpx.AsyncClient, **overrides: object) -> dict[str, Any]:
    response = await client.post("/job-orders", json=CAREGIVER_ORDER | overrides)
    assert response.status_code == 201, response.text
    order: dict[str, Any] = response.json()
    return order


async def place(
    client: httpx.AsyncClient, order_id: str, candidate_id: uuid.UUID
) -> httpx.Response:
    return await client.post(
        f"/job-orders/{order_id}/placements", json={"candidate_id": str(candidate_id)}
    )


async def test_a_directly_placed_candidate_departs_only_with_a_visa_and_every_event_published(
    client: httpx.AsyncClient, nats_client: NatsClient
) -> None:
    ready = await ready_candidate(client, nats_client)
    order = await open_order(client)
    assert [order[key] for key in ("slots", "filled", "remaining", "status")] == [2, 0, 2, "open"]

    placed = await place(client, order["id"], ready.candidate_id)
    assert placed.status_code == 201, placed.text
    placement = placed.json()
    assert placement["status"] == "placed"
    assert placement["journey_id"] == str(ready.journey_id)
    order = (await client.get(f"/job-orders/{order['id']}")).json()
    assert (order["filled"], order["remaining"], order["status"]) == (1, 1, "open")

    [placed_event] = await wait_for_events(
        nats_client, "PLACEMENT", lambda e: e["event_type"] == "CandidatePlaced"
    )
    assert placed_event["placement_id"] == placement["id"]
    assert placed_event["candidate_id"] == str(ready.candidate_id)
    assert placed_event["job_order_id"] == order["id"]
    assert placed_event["agency"] == "kaltim"
    assert placed_event["journey_id"] == str(ready.journey_id)
    assert placed_event["supervising_organisation"] == "IM Japan"
    assert (placed_event["monthly_wage_jpy"], placed_event["contract_months"]) == (200_000, 36)

    departure_date = str(date.today() + timedelta(days=120))
    without_visa = await client.post(
        f"/placements/{placement['id']}/departure", json={"departure_date": departure_date}
    )
    assert (without_visa.status_code, without_visa.json()["error"]) == (
        409,
        "departure_needs_visa",
    )
    await move_clock(client, date.today() + timedelta(days=120))
    for step, days in (("certificate-of-eligibility", 45), ("visa", 90)):
        on = str(date.today() + timedelta(days=days))
        response = await client.post(f"/placements/{placement['id']}/{step}", json={"on": on})
        assert response.status_code == 200, response.text
    departure = await client.post(
        f"/placements/{placement['id']}/departure", json={"departure_date": departure_date}
    )
    assert departure.status_code == 200, departure.text
    assert departure.json()["status"] == "departed"
    [departed_event] = await wait_for_events(
        nats_client, "PLACEMENT", lambda e: e["event_type"] == "Departed"
    )
    assert departed_event["placement_id"] == placement["id"]
    assert departed_event["departure_date"] == departure_date
    assert (departed_event["monthly_wage_jpy"], departed_event["contract_months"]) == (200_000, 36)
    assert (departed_event["agency"], departed_event["journey_id"]) == (
        "kaltim",
        str(ready.journey_id),
    )

    again = await client.post(
        f"/placements/{placement['id']}/departure", json={"departure_date": departure_date}
    )
    assert (again.status_code, again.json()["error"]) == (409, "already_departed")
    listed = await client.get("/placements", params={"candidate_id": str(ready.candidate_id)})
    assert [(p["id"], p["departure_date"]) for p in listed.json()] == [
        (placement["id"], departure_date)
    ]
    assert [e["event_type"] for e in await events_on(nats_client, "PLACEMENT")] == [
        "CandidatePlaced",
        "CertificateOfEligibilityIssued",
        "VisaIssued",
        "Departed",
    ]


async def test_concurrent_placements_on_a_one_slot_order_let_exactly_one_win(
    client: httpx.AsyncClient, nats_client: NatsClient
) -> None:
    candidates = [await announce_ready(nats_client) for _ in range(6)]
    for event in candidates:
        await until_known(client, event.candidate_id)
    order = await open_order(client, slots=1)

    responses = await asyncio.gather(
        *(place(client, order["id"], event.candidate_id) for event in candidates)
    )

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201, 409, 409, 409, 409, 409], [r.text for r in responses]
    assert {r.json()["error"] for r in responses if r.status_code == 409} == {"order_full"}
    order = (await client.get(f"/job-orders/{order['id']}")).json()
    assert (order["filled"], order["remaining"], order["status"]) == (1, 0, "filled")
    assert [o["id"] for o in (await client.get("/job-orders?status=open")).json()] == []
    await wait_for_events(nats_client, "PLACEMENT", lambda e: e["event_type"] == "CandidatePlaced")
    assert len(await events_on(nats_client, "PLACEMENT")) == 1


async def test_a_candidate_with_an_active_placement_cannot_be_placed_again(
    client: httpx.AsyncClient, nats_client: NatsClient
) -> None:
    ready = await ready_candidate(client, nats_client)
    first = await open_order(client)
    second = await open_order(client, employer="Nagoya Care Home", supervising_organisation="JOE")

    assert (await place(client, first["id"], ready.candidate_id)).status_code == 201
    again = await place(client, second["id"], ready.candidate_id)
    assert again.status_code == 409
    assert again.json()["error"] == "one_active_placement"
    assert (await client.get(f"/job-orders/{second['id']}")).json()["filled"] == 0


async def test_one_candidate_racing_onto_two_orders_takes_one_slot_in_all(
    client: httpx.AsyncClient, nats_client: NatsClient
) -> None:
    ready = await ready_candidate(client, nats_client)
    orders = [await open_order(client) for _ in range(2)]

    responses = await asyncio.gather(
        *(place(client, order["id"], ready.candidate_id) for order in orders)
    )

    assert sorted(r.status_code for r in responses) == [201, 409], [r.text for r in responses]
    assert [r.json()["error"] for r in responses if r.status_code == 409] == [
        "one_active_placement"
    ]
    filled = [(await client.get(f"/job-orders/{order['id']}")).json()["filled"] for order in orders]
    assert sorted(filled) == [0, 1]


async def test_placements_that_do_not_fit_the_order_are_refused_with_the_rule(
    client: httpx.AsyncClient, nats_client: NatsClient
) -> None:
    automotive = await ready_candidate(client, nats_client, sector="automotive")
    ssw_caregiver = await ready_candidate(client, nats_client, track=Track.SSW)
    order = await open_order(client)

    wrong_sector = await place(client, order["id"], automotive.candidate_id)
    assert (wrong_sector.status_code, wrong_sector.json()["error"]) == (422, "sector_mismatch")
    wrong_track = await place(client, order["id"], ssw_caregiver.candidate_id)
    assert (wrong_track.status_code, wrong_track.json()["error"]) == (422, "track_mismatch")
    unknown = await place(client, order["id"], uuid.uuid4())
    assert (unknown.status_code, unknown.json()["error"]) == (422, "candidate_not_ready")
    no_order = await place(client, str(uuid.uuid4()), automotive.candidate_id)
    assert (no_order.status_code, no_order.json()["error"]) == (404, "not_found")

    assert (await client.get(f"/job-orders/{order['id']}")).json()["filled"] == 0
    assert await events_on(nats_client, "PLACEMENT", timeout_s=0.3) == []


async def test_a_job_order_breaking_rules_is_refused_naming_each(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/job-orders", json=CAREGIVER_ORDER | {"slots": 0, "monthly_wage_jpy": -5}
    )
    assert response.status_code == 422
    refusal = response.json()
    assert refusal["error"] == "job_order_refused"
    failed = [c["rule"] for c in refusal["details"]["checks"] if not c["passed"]]
    assert failed == ["slots_positive", "wage_positive", "wage_at_least_minimum"]
    assert (await client.get("/job-orders")).json() == []


async def test_the_latest_readiness_of_a_candidate_wins_and_repeats_change_nothing(
    client: httpx.AsyncClient, nats_client: NatsClient
) -> None:
    candidate_id, journey = uuid.uuid4(), uuid.uuid4()  # a candidate has one journey
    now = datetime.now(UTC)
    first = await announce_ready(
        nats_client, candidate_id, occurred_at=now - timedelta(days=2), journey_id=journey
    )
    await announce_ready(
        nats_client, candidate_id, "automotive", occurred_at=now, journey_id=journey
    )
    await announce_ready(
        nats_client,
        candidate_id,
        "agriculture",
        occurred_at=now - timedelta(days=1),
        journey_id=journey,
    )
    await nats_client.jetstream().publish(first.subject, first.model_dump_json().encode())
    # A readiness may wait for its certificate, so they are not handled in order: all of them
    # are in once placement's durables have handled everything.
    marker = await announce_ready(nats_client)
    await until_known(client, marker.candidate_id)
    await eventually(lambda: consumers_drained(nats_client, "placement-"))

    view = (await client.get(f"/ready-candidates/{candidate_id}")).json()
    assert view["sector"] == "automotive"
    listed = (await client.get("/ready-candidates", params={"sector": "automotive"})).json()
    assert [c["candidate_id"] for c in listed] == [str(candidate_id)]


async def test_each_agency_sees_and_moves_only_its_own_candidates_and_placements(
    client: httpx.AsyncClient, nats_client: NatsClient
) -> None:
    kaltim, boyolali = token_for("kaltim"), token_for("boyolali")
    ours = await ready_candidate(client, nats_client, agency="kaltim")
    theirs = await ready_candidate(client, nats_client, agency="boyolali")
    order = await open_order(client, slots=5)

    assert (await client.get(f"/job-orders/{order['id']}", headers=boyolali)).status_code == 200
    closing = await client.post(
        f"/job-orders/{order['id']}/close", json={"reason": "x"}, headers=boyolali
    )
    assert closing.status_code == 403
    assert "job orders of this placement service belong" in closing.json()["message"]
    assert (
        await client.post("/job-orders", json=CAREGIVER_ORDER, headers=kaltim)
    ).status_code == 403

    matches = (await client.get(f"/job-orders/{order['id']}/matches", headers=kaltim)).json()
    assert [m["candidate_id"] for m in matches["matches"]] == [str(ours.candidate_id)]
    refused = await client.get(f"/ready-candidates/{theirs.candidate_id}", headers=kaltim)
    assert refused.status_code == 403
    assert refused.json()["error"] == "agency_scope"
    assert [
        c["candidate_id"] for c in (await client.get("/ready-candidates", headers=kaltim)).json()
    ] == [str(ours.candidate_id)]
    body = {"candidate_id": str(theirs.candidate_id)}
    placing = await client.post(f"/job-orders/{order['id']}/placements", json=body, headers=kaltim)
    assert placing.status_code == 403

    placed = await client.post(f"/job-orders/{order['id']}/placements", json=body, headers=boyolali)
    assert placed.status_code == 201, placed.text
    placement = placed.json()["id"]
    assert (await client.get(f"/placements/{placement}", headers=kaltim)).status_code == 403
    visa = await client.post(f"/placements/{placement}/visa", json={}, headers=kaltim)
    assert visa.status_code == 403
    assert (await client.get("/placements", headers=kaltim)).json() == []
    assert len((await client.get("/placements", headers=boyolali)).json()) == 1
    assert len((await client.get("/placements")).json()) == 1  # Kemnaker sees every agency
    bulk = await client.post(
        "/placements/steps/bulk",
        json={"steps": [{"placement_id": placement, "step": "visa", "on": "2026-11-01"}]},
        headers=kaltim,
    )
    assert bulk.json()["rows"][0]["error"] == "agency_scope"
    assert (await client.get("/placements", headers={"authorization": ""})).status_code == 401
