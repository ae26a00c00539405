"""A candidate who withdraws from the programme (registration's CandidateWithdrawn, heard through
placement's own durable consumer) leaves every path not yet in Japan and gives back the slot;
nothing more may be done for them; a departed candidate keeps the placement; a withdrawal
naming another agency than the candidate's is dead-lettered as forged. Against a real
nats-server and both databases."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from nats.aio.client import Client as NatsClient

from jembatan_contracts import CandidateReadyForPlacement, CandidateWithdrawn, WithdrawalReason
from jembatan_kit.testing.helpers import eventually, running_app, trust_file_for_tests
from jembatan_placement.bootstrap import build_app
from jembatan_placement.config import PlacementSettings

from .test_placement_api import move_clock, open_order, place, ready_candidate
from .test_placement_forged_events import publish, reason_of


@pytest.fixture
async def client(database_url: str, nats_url: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = PlacementSettings(
        database_url=database_url,
        nats_url=nats_url,
        auth_trust_file=trust_file_for_tests(),
        clock_adjustable=True,
        consumer_max_deliver=2,
        consumer_batch_timeout_s=0.05,
    )
    async with running_app(build_app(settings)) as client:
        yield client


def withdrawal(ready: CandidateReadyForPlacement, **overrides: Any) -> CandidateWithdrawn:
    values: dict[str, Any] = {
        "agency": ready.agency,
        "journey_id": ready.journey_id,
        "candidate_id": ready.candidate_id,
        "reason": WithdrawalReason.OTHER_WORK,
        "withdrawn_on": date.today(),
    }
    return CandidateWithdrawn(**(values | overrides))


async def status_of(client: httpx.AsyncClient, placement_id: str) -> str:
    response = await client.get(f"/placements/{placement_id}")
    assert response.status_code == 200, response.text
    return str(response.json()["status"])


async def test_a_withdrawn_candidate_leaves_every_path_and_nothing_more_is_done_for_them(
    client: httpx.AsyncClient, nats_client: NatsClient
) -> None:
    ready = await ready_candidate(client, nats_client)
    one_slot, another, later = [await open_order(client, slots=1) for _ in range(3)]
    shortlisted = await client.post(
        f"/job-orders/{another['id']}/shortlist", json={"candidate_id": str(ready.candidate_id)}
    )
    assert shortlisted.status_code == 201, shortlisted.text
    contracted = (await place(client, one_slot["id"], ready.candidate_id)).json()
    assert (await client.get(f"/job-orders/{one_slot['id']}")).json()["status"] == "filled"

    await publish(nats_client, withdrawal(ready))

    async def withdrawn() -> bool:
        return await status_of(client, contracted["id"]) == "withdrawn"

    await eventually(withdrawn)
    assert await status_of(client, shortlisted.json()["id"]) == "withdrawn"
    freed = (await client.get(f"/job-orders/{one_slot['id']}")).json()
    assert (freed["filled"], freed["status"]) == (0, "open")
    steps = (await client.get(f"/placements/{contracted['id']}")).json()["steps"]
    assert steps[-1] == {
        "status": "withdrawn",
        "happened_on": str(date.today()),
        "detail": "other_work",
    }

    coe = await client.post(f"/placements/{contracted['id']}/certificate-of-eligibility", json={})
    assert (coe.status_code, coe.json()["error"]) == (409, "candidate_withdrawn")
    again = await place(client, later["id"], ready.candidate_id)
    assert (again.status_code, again.json()["error"]) == (409, "candidate_withdrawn")
    assert f"withdrew from the programme on {date.today()}" in again.json()["message"]
    view = (await client.get(f"/ready-candidates/{ready.candidate_id}")).json()
    assert view["withdrawn_on"] == str(date.today())
    listed = (await client.get("/ready-candidates")).json()
    assert str(ready.candidate_id) not in {c["candidate_id"] for c in listed}
    matches = (await client.get(f"/job-orders/{later['id']}/matches")).json()
    assert matches["matches"] == []
    assert [(e["candidate_id"], e["rule"]) for e in matches["excluded"]] == [
        (str(ready.candidate_id), "candidate_withdrawn")
    ]


async def test_a_candidate_who_withdraws_in_japan_keeps_the_placement(
    client: httpx.AsyncClient, nats_client: NatsClient
) -> None:
    ready = await ready_candidate(client, nats_client)
    order = await open_order(client)
    placement = (await place(client, order["id"], ready.candidate_id)).json()["id"]
    for step in ("certificate-of-eligibility", "visa"):
        assert (await client.post(f"/placements/{placement}/{step}", json={})).status_code == 200
    departed = await client.post(
        f"/placements/{placement}/departure", json={"departure_date": str(date.today())}
    )
    assert departed.status_code == 200, departed.text
    await publish(nats_client, withdrawal(ready))

    async def heard() -> bool:
        view = (await client.get(f"/ready-candidates/{ready.candidate_id}")).json()
        return view["withdrawn_on"] is not None

    await eventually(heard)
    assert await status_of(client, placement) == "departed"
    assert (await client.get(f"/job-orders/{order['id']}")).json()["filled"] == 1
    back = date.today() + timedelta(days=40)
    await move_clock(client, back)
    returned = await client.post(
        f"/placements/{placement}/early-return",
        json={"return_date": str(back), "reason": "other"},
    )
    assert returned.status_code == 200, returned.text


async def test_a_withdrawal_of_another_agencys_candidate_is_dead_lettered_as_forged(
    client: httpx.AsyncClient, nats_client: NatsClient
) -> None:
    ready = await ready_candidate(client, nats_client, agency="kaltim")
    order = await open_order(client)
    placement = (await place(client, order["id"], ready.candidate_id)).json()["id"]
    # Kota Serang's withdrawal (its own subject and payload agree) of Kalimantan Timur's
    # candidate.
    forged = withdrawal(ready, agency="kota-serang")
    await publish(nats_client, forged)

    reason = await reason_of(nats_client, forged)
    assert reason.startswith(
        f"journey_mismatch: CandidateWithdrawn of candidate {ready.candidate_id} names agency"
        " kota-serang"
    )
    assert await status_of(client, placement) == "placed"
    assert (await client.get(f"/job-orders/{order['id']}")).json()["filled"] == 1
    unknown = withdrawal(ready, candidate_id=uuid.uuid4())  # never heard of: kept, harmless
    await publish(nats_client, unknown)
    assert (await client.get(f"/ready-candidates/{ready.candidate_id}")).json()[
        "withdrawn_on"
    ] is None
