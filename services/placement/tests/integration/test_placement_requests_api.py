"""What every placement command endpoint takes and every answer gives, on both databases: a
body with a field the endpoint does not know is refused naming the field (a client's typo or a
forbidden term, e.g. `salary_deduction`, is never mistaken for accepted), and every timestamp
answered carries its UTC offset."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from typing import Any

import httpx
import pytest
from nats.aio.client import Client as NatsClient

from jembatan_kit.testing.helpers import running_app, trust_file_for_tests
from jembatan_placement.bootstrap import build_app
from jembatan_placement.config import PlacementSettings

from .test_placement_api import CAREGIVER_ORDER, open_order, place, ready_candidate


@pytest.fixture
async def client(database_url: str, nats_url: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = PlacementSettings(
        database_url=database_url, nats_url=nats_url, auth_trust_file=trust_file_for_tests()
    )
    async with running_app(build_app(settings)) as client:
        yield client


SOME = str(uuid.uuid4())
TODAY = str(date.today())
COMMANDS: list[tuple[str, str, dict[str, Any]]] = [
    ("POST", "/job-orders", CAREGIVER_ORDER),
    ("POST", f"/job-orders/{SOME}/close", {"reason": "employer hired locally"}),
    ("POST", f"/job-orders/{SOME}/shortlist", {"candidate_id": SOME}),
    ("POST", f"/job-orders/{SOME}/placements", {"candidate_id": SOME}),
    ("POST", f"/job-orders/{SOME}/placements/bulk", {"candidate_ids": [SOME]}),
    ("POST", f"/placements/{SOME}/interview", {"passed": True}),
    ("POST", f"/placements/{SOME}/offer", {}),
    ("POST", f"/placements/{SOME}/contract", {}),
    ("POST", f"/placements/{SOME}/certificate-of-eligibility", {}),
    ("POST", f"/placements/{SOME}/visa", {}),
    ("POST", f"/placements/{SOME}/departure", {"departure_date": TODAY}),
    (
        "POST",
        f"/placements/{SOME}/early-return",
        {"return_date": TODAY, "reason": "health"},
    ),
    ("PUT", f"/ready-candidates/{SOME}/commitment", {"months_willing_to_stay": 36}),
    (
        "POST",
        "/placements/steps/bulk",
        {"steps": [{"placement_id": SOME, "step": "visa", "on": TODAY}]},
    ),
]


@pytest.mark.parametrize(("method", "path", "body"), COMMANDS, ids=[c[1] for c in COMMANDS])
async def test_a_field_the_endpoint_does_not_know_is_refused_by_name(
    client: httpx.AsyncClient, method: str, path: str, body: dict[str, Any]
) -> None:
    response = await client.request(method, path, json=body | {"salary_deduction": 50_000})
    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]
    assert (error["type"], error["loc"]) == ("extra_forbidden", ["body", "salary_deduction"])


async def test_a_field_a_bulk_row_does_not_know_is_refused_by_name(
    client: httpx.AsyncClient,
) -> None:
    row = {"placement_id": SOME, "step": "visa", "on": TODAY, "deposit_idr": 1}
    response = await client.post("/placements/steps/bulk", json={"steps": [row]})
    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "steps", 0, "deposit_idr"]


def assert_utc(value: str | None) -> None:
    assert value is not None
    offset = datetime.fromisoformat(value).utcoffset()
    assert offset == timedelta(0), f"{value} has no UTC offset"


async def test_every_timestamp_answered_carries_its_utc_offset(
    client: httpx.AsyncClient, nats_client: NatsClient
) -> None:
    ready = await ready_candidate(client, nats_client)
    order = await open_order(client, slots=1)
    placed = await place(client, order["id"], ready.candidate_id)
    assert placed.status_code == 201, placed.text
    closed = await client.post(f"/job-orders/{order['id']}/close", json={"reason": "filled"})
    assert closed.status_code == 200, closed.text

    for view in (closed.json(), (await client.get(f"/job-orders/{order['id']}")).json()):
        assert_utc(view["opened_at"])
        assert_utc(view["closed_at"])
    [listed_order] = (await client.get("/job-orders")).json()
    assert_utc(listed_order["opened_at"])
    for placement in (
        placed.json(),
        (await client.get(f"/placements/{placed.json()['id']}")).json(),
        *(await client.get("/placements")).json(),
    ):
        assert_utc(placement["started_at"])
        assert_utc(placement["placed_at"])
    for candidate in (
        (await client.get(f"/ready-candidates/{ready.candidate_id}")).json(),
        *(await client.get("/ready-candidates")).json(),
    ):
        assert_utc(candidate["ready_at"])


async def test_a_job_order_paying_one_yen_for_fifty_years_is_refused_naming_both_rules(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/job-orders", json=CAREGIVER_ORDER | {"monthly_wage_jpy": 1, "contract_months": 600}
    )
    assert response.status_code == 422, response.text
    refusal = response.json()
    failed = {c["rule"]: c["message"] for c in refusal["details"]["checks"] if not c["passed"]}
    assert list(failed) == ["wage_at_least_minimum", "contract_within_track_limit"]
    assert "Aichi's minimum wage (FY2025) of 1,140 JPY an hour" in failed["wage_at_least_minimum"]
    assert (
        "a TITP contract is at most 36 months (600 asked)"
        in (failed["contract_within_track_limit"])
    )
    assert (await client.get("/job-orders")).json() == []


async def test_a_departure_dated_in_2031_is_refused_as_not_happened_yet(
    client: httpx.AsyncClient, nats_client: NatsClient
) -> None:
    ready = await ready_candidate(client, nats_client)
    order = await open_order(client)
    placed = await place(client, order["id"], ready.candidate_id)
    path = f"/placements/{placed.json()['id']}"
    for step in ("certificate-of-eligibility", "visa"):
        assert (await client.post(f"{path}/{step}", json={})).status_code == 200
    departure = await client.post(f"{path}/departure", json={"departure_date": "2031-01-15"})
    assert departure.status_code == 422, departure.text
    assert departure.json()["error"] == "dated_in_future"
    assert "the departure on 2031-01-15 has not happened yet" in departure.json()["message"]
    assert (await client.get(path)).json()["status"] == "visa_issued"
