"""Bulk contracts and bulk steps after the contract, through the API against real NATS and both
databases: the same rules and events as the single calls, row by row."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from nats.aio.client import Client as NatsClient

from jembatan_contracts import CandidateReadyForPlacement, Track
from jembatan_kit.testing.helpers import (
    eventually,
    publish_ready,
    running_app,
    token_for,
    trust_file_for_tests,
    wait_for_events,
)
from jembatan_placement.bootstrap import build_app
from jembatan_placement.config import PlacementSettings

ORDER = {
    "employer": "Toyota Tsusho Parts Kyushu",
    "supervising_organisation": "IM Japan",
    "prefecture": "Fukuoka",
    "sector": "automotive",
    "track": "TITP",
    "slots": 2,
    "monthly_wage_jpy": 185_000,
    "contract_months": 36,
}


@pytest.fixture
async def client(database_url: str, nats_url: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = PlacementSettings(
        database_url=database_url, nats_url=nats_url, auth_trust_file=trust_file_for_tests()
    )
    async with running_app(build_app(settings)) as client:
        yield client


async def ready_candidates(
    client: httpx.AsyncClient, nats_client: NatsClient, count: int, sector: str = "automotive"
) -> list[uuid.UUID]:
    events = [
        CandidateReadyForPlacement(
            agency="kota-serang",
            journey_id=uuid.uuid4(),
            candidate_id=uuid.uuid4(),
            track=Track.TITP,
            sector=sector,
            language_level="N4",
            satisfied_rules=["japanese_n4"],
        )
        for _ in range(count)
    ]
    await publish_ready(nats_client, *events)

    async def all_known() -> bool:
        response = await client.get("/ready-candidates", params={"limit": 500})
        known = {row["candidate_id"] for row in response.json()}
        return all(str(event.candidate_id) in known for event in events)

    await eventually(all_known)
    return [event.candidate_id for event in events]


async def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.request.url}: {response.text}"
    return response.json()


async def place(
    client: httpx.AsyncClient, order_id: str, candidates: list[uuid.UUID], **kwargs: Any
) -> httpx.Response:
    return await client.post(
        f"/job-orders/{order_id}/placements/bulk",
        json={"candidate_ids": [str(candidate) for candidate in candidates]},
        **kwargs,
    )


def verdicts(body: dict[str, Any]) -> list[str]:
    return [row["error"] or "accepted" for row in body["rows"]]


async def test_bulk_contracts_take_slots_in_row_order_and_refuse_each_broken_rule(
    client: httpx.AsyncClient, nats_client: NatsClient
) -> None:
    first, second, third = await ready_candidates(client, nats_client, 3)
    [caregiver] = await ready_candidates(client, nats_client, 1, sector="caregiver")
    unknown = uuid.uuid4()
    order = await ok(await client.post("/job-orders", json=ORDER), 201)

    body = await ok(
        await place(client, order["id"], [first, unknown, first, caregiver, second, third])
    )

    assert (body["accepted"], body["refused"]) == (2, 4)
    assert [row["row"] for row in body["rows"]] == [1, 2, 3, 4, 5, 6]
    assert verdicts(body) == [
        "accepted",
        "candidate_not_ready",
        "one_active_placement",
        "sector_mismatch",
        "accepted",
        "order_full",
    ]
    assert body["rows"][2]["message"].endswith(body["rows"][0]["placement_id"])
    filled = await ok(await client.get(f"/job-orders/{order['id']}"))
    assert (filled["filled"], filled["status"]) == (2, "filled")
    events = await wait_for_events(
        nats_client, "PLACEMENT", lambda e: e["event_type"] == "CandidatePlaced", count=2
    )
    assert [(e["candidate_id"], e["placement_id"]) for e in events] == [
        (str(first), body["rows"][0]["placement_id"]),
        (str(second), body["rows"][4]["placement_id"]),
    ]
    assert {(e["agency"], e["monthly_wage_jpy"], e["contract_months"]) for e in events} == {
        ("kota-serang", 185_000, 36)
    }


async def test_bulk_steps_walk_placements_to_departure_in_order_and_refuse_each_broken_rule(
    client: httpx.AsyncClient, nats_client: NatsClient
) -> None:
    first, second = await ready_candidates(client, nats_client, 2)
    order = await ok(await client.post("/job-orders", json=ORDER), 201)
    placed = await ok(await place(client, order["id"], [first, second]))
    a, b = (row["placement_id"] for row in placed["rows"])
    today = date.today()

    def step(placement_id: str, name: str, on: date = today) -> dict[str, str]:
        return {"placement_id": placement_id, "step": name, "on": str(on)}

    body = await ok(
        await client.post(
            "/placements/steps/bulk",
            json={
                "steps": [
                    step(a, "certificate-of-eligibility"),
                    step(b, "departure"),
                    step(a, "visa"),
                    step(b, "certificate-of-eligibility", today - timedelta(days=1)),
                    step(str(uuid.uuid4()), "visa"),
                    step(a, "departure", today + timedelta(days=7)),
                    step(a, "visa"),
                ]
            },
        )
    )

    assert verdicts(body) == [
        "accepted",
        "departure_needs_visa",
        "accepted",
        "dated_before_previous_step",
        "not_found",
        "accepted",
        "visa_needs_coe",
    ]
    departed = await ok(await client.get(f"/placements/{a}"))
    assert (departed["status"], departed["departure_date"]) == (
        "departed",
        str(today + timedelta(days=7)),
    )
    assert [s["status"] for s in departed["steps"]] == [
        "placed",
        "coe_issued",
        "visa_issued",
        "departed",
    ]
    untouched = await ok(await client.get(f"/placements/{b}"))
    assert (untouched["status"], len(untouched["steps"])) == ("placed", 1)
    events = await wait_for_events(
        nats_client, "PLACEMENT", lambda e: e["event_type"] != "CandidatePlaced", count=3
    )
    assert [(e["event_type"], e["placement_id"]) for e in events] == [
        ("CertificateOfEligibilityIssued", a),
        ("VisaIssued", a),
        ("Departed", a),
    ]
    assert (events[2]["departure_date"], events[2]["monthly_wage_jpy"]) == (
        str(today + timedelta(days=7)),
        185_000,
    )


async def test_bulk_calls_refuse_rows_of_another_agency(
    client: httpx.AsyncClient, nats_client: NatsClient
) -> None:
    [candidate] = await ready_candidates(client, nats_client, 1)
    order = await ok(await client.post("/job-orders", json=ORDER), 201)
    other_agency = token_for("kaltim")

    refused = await ok(await place(client, order["id"], [candidate], headers=other_agency))
    assert verdicts(refused) == ["agency_scope"]

    placed = await ok(await place(client, order["id"], [candidate]))
    steps = await ok(
        await client.post(
            "/placements/steps/bulk",
            json={
                "steps": [
                    {
                        "placement_id": placed["rows"][0]["placement_id"],
                        "step": "certificate-of-eligibility",
                        "on": str(date.today()),
                    }
                ]
            },
            headers=other_agency,
        )
    )
    assert verdicts(steps) == ["agency_scope"]


async def test_concurrent_bulk_contracts_never_take_more_slots_than_the_order_has(
    client: httpx.AsyncClient, nats_client: NatsClient
) -> None:
    candidates = await ready_candidates(client, nats_client, 6)
    order = await ok(await client.post("/job-orders", json=ORDER | {"slots": 3}), 201)

    answers = await asyncio.gather(
        *(place(client, order["id"], candidates[i : i + 2]) for i in range(0, 6, 2))
    )

    bodies = [await ok(answer) for answer in answers]
    assert sum(body["accepted"] for body in bodies) == 3
    assert {verdict for body in bodies for verdict in verdicts(body)} == {
        "accepted",
        "order_full",
    }
    filled = await ok(await client.get(f"/job-orders/{order['id']}"))
    assert filled["filled"] == 3
