"""A candidate's path on a job order, from match to departure and early return, through the API
against real NATS and both databases."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from nats.aio.client import Client as NatsClient

from jembatan_contracts import CandidateReadyForPlacement, CertificatePassed, TestKind, Track
from jembatan_kit.testing.helpers import (
    events_on,
    eventually,
    publish_ready,
    running_app,
    trust_file_for_tests,
    wait_for_events,
)
from jembatan_placement.bootstrap import build_app
from jembatan_placement.config import PlacementSettings

AUTOMOTIVE_ORDER = {
    "employer": "Toyota Tsusho Parts Kyushu",
    "supervising_organisation": "IM Japan",
    "prefecture": "Fukuoka",
    "sector": "automotive",
    "track": "TITP",
    "slots": 1,
    "monthly_wage_jpy": 185_000,
    "contract_months": 36,
    "interview_date": "2027-01-20",
}


@pytest.fixture
async def client(database_url: str, nats_url: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = PlacementSettings(
        database_url=database_url, nats_url=nats_url, auth_trust_file=trust_file_for_tests()
    )
    async with running_app(build_app(settings)) as client:
        yield client


async def ready(
    client: httpx.AsyncClient,
    nats_client: NatsClient,
    language_level: str = "N4",
    waiting_days: int = 0,
    daily_score_average: float | None = None,
) -> CandidateReadyForPlacement:
    event = CandidateReadyForPlacement(
        agency="kota-serang",
        journey_id=uuid.uuid4(),
        candidate_id=uuid.uuid4(),
        track=Track.TITP,
        sector="automotive",
        language_level=language_level,
        satisfied_rules=["japanese_n4"],
        daily_score_average=daily_score_average,
        occurred_at=datetime.now(UTC) - timedelta(days=waiting_days),
    )
    await publish_ready(nats_client, event)

    async def known() -> bool:
        response = await client.get(f"/ready-candidates/{event.candidate_id}")
        return response.status_code == 200

    await eventually(known)
    return event


async def open_order(client: httpx.AsyncClient, **overrides: object) -> dict[str, Any]:
    return await ok(await client.post("/job-orders", json=AUTOMOTIVE_ORDER | overrides), 201)


async def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.request.url}: {response.text}"
    return response.json()


def refused(response: httpx.Response, status: int, rule: str) -> None:
    assert (response.status_code, response.json().get("error")) == (status, rule), response.text


async def shortlist(
    client: httpx.AsyncClient, order_id: str, candidate_id: uuid.UUID
) -> httpx.Response:
    return await client.post(
        f"/job-orders/{order_id}/shortlist", json={"candidate_id": str(candidate_id)}
    )


async def walk_to_offer(client: httpx.AsyncClient, order_id: str, candidate_id: uuid.UUID) -> str:
    placement = await ok(await shortlist(client, order_id, candidate_id), 201)
    await ok(await client.post(f"/placements/{placement['id']}/interview", json={"passed": True}))
    await ok(await client.post(f"/placements/{placement['id']}/offer", json={}))
    placement_id: str = placement["id"]
    return placement_id


async def test_a_candidate_walks_from_match_to_departure_with_every_event_in_order(
    client: httpx.AsyncClient, nats_client: NatsClient
) -> None:
    candidate = await ready(client, nats_client, language_level="N3", waiting_days=45)
    await ok(
        await client.put(
            f"/ready-candidates/{candidate.candidate_id}/commitment",
            json={"months_willing_to_stay": 60},
        )
    )
    order = await open_order(client)
    assert (order["minimum_language_level"], order["interview_date"]) == ("N4", "2027-01-20")

    matches = await ok(await client.get(f"/job-orders/{order['id']}/matches"))
    [match] = matches["matches"]
    assert match["candidate_id"] == str(candidate.candidate_id)
    assert match["explanation"] == (
        "sector automotive fits; track TITP fits; Japanese N3 above the N4 minimum (+2); "
        "no daily scores known (+0); commits to 60 months, 24 beyond the 36-month contract "
        "(+2); waiting 45 days (+1.5)"
    )
    assert match["score"] == 5.5

    shortlisted = await ok(await shortlist(client, order["id"], candidate.candidate_id), 201)
    path = f"/placements/{shortlisted['id']}"
    today = date.today()
    steps = [
        ("interview", {"passed": True, "interviewed_on": str(today)}, "interviewed"),
        ("offer", {"on": str(today)}, "offered"),
        ("contract", {"on": str(today + timedelta(days=2))}, "placed"),
        ("certificate-of-eligibility", {"on": str(today + timedelta(days=60))}, "coe_issued"),
    ]
    for step, body, status in steps:
        assert (await ok(await client.post(f"{path}/{step}", json=body)))["status"] == status
    assert (await ok(await client.get(f"/job-orders/{order['id']}")))["status"] == "filled"

    departure_date = today + timedelta(days=100)
    early = await client.post(f"{path}/departure", json={"departure_date": str(departure_date)})
    refused(early, 409, "departure_needs_visa")
    visa = await ok(await client.post(f"{path}/visa", json={"on": str(today + timedelta(days=80))}))
    assert visa["status"] == "visa_issued"
    departed = await ok(
        await client.post(f"{path}/departure", json={"departure_date": str(departure_date)})
    )
    assert departed["status"] == "departed"
    assert [s["status"] for s in departed["steps"]] == [
        "shortlisted",
        "interviewed",
        "offered",
        "placed",
        "coe_issued",
        "visa_issued",
        "departed",
    ]

    events = await wait_for_events(nats_client, "PLACEMENT", lambda e: True, count=7)
    assert [e["event_type"] for e in events] == [
        "CandidateShortlisted",
        "CandidateInterviewed",
        "CandidateOffered",
        "CandidatePlaced",
        "CertificateOfEligibilityIssued",
        "VisaIssued",
        "Departed",
    ]
    for event in events:
        assert (event["agency"], event["journey_id"]) == ("kota-serang", str(candidate.journey_id))
        assert event["placement_id"] == departed["id"]
    placed, departed_event = events[3], events[6]
    assert placed["contract_signed_on"] == str(today + timedelta(days=2))
    assert (placed["monthly_wage_jpy"], placed["contract_months"]) == (185_000, 36)
    assert departed_event["departure_date"] == str(departure_date)
    assert (departed_event["monthly_wage_jpy"], departed_event["contract_months"]) == (185_000, 36)


async def test_an_early_return_is_only_after_departure_and_is_published_with_months_worked(
    client: httpx.AsyncClient, nats_client: NatsClient
) -> None:
    candidate = await ready(client, nats_client)
    order = await open_order(client)
    placement = await ok(
        await client.post(
            f"/job-orders/{order['id']}/placements",
            json={"candidate_id": str(candidate.candidate_id)},
        ),
        201,
    )
    path = f"/placements/{placement['id']}"
    departure = (date.today().replace(day=1) + timedelta(days=62)).replace(day=1)
    return_date = (departure + timedelta(days=440)).replace(day=20)  # 14 months on
    body = {"return_date": str(return_date), "reason": "employer_failure"}
    refused(
        await client.post(f"{path}/early-return", json=body), 409, "early_return_needs_departure"
    )

    for step in ("certificate-of-eligibility", "visa"):
        await ok(await client.post(f"{path}/{step}", json={}))
    await ok(await client.post(f"{path}/departure", json={"departure_date": str(departure)}))
    after_contract = str(departure.replace(year=departure.year + 3))
    refused(
        await client.post(f"{path}/early-return", json=body | {"return_date": after_contract}),
        422,
        "return_not_early",
    )
    returned = await ok(await client.post(f"{path}/early-return", json=body))
    assert returned["status"] == "returned_early"
    assert returned["steps"][-1] == {
        "status": "returned_early",
        "happened_on": str(return_date),
        "detail": "employer_failure",
    }

    [event] = await wait_for_events(
        nats_client, "PLACEMENT", lambda e: e["event_type"] == "EarlyReturned"
    )
    assert (event["return_date"], event["reason"], event["months_worked"]) == (
        str(return_date),
        "employer_failure",
        14,
    )
    assert (event["candidate_id"], event["placement_id"]) == (
        str(candidate.candidate_id),
        placement["id"],
    )
    # Back home, the candidate holds no slot: another order may take them.
    other = await open_order(client, employer="Denso Kyushu")
    await ok(await shortlist(client, other["id"], candidate.candidate_id), 201)


async def test_a_failed_interview_ends_the_path_and_takes_no_slot(
    client: httpx.AsyncClient, nats_client: NatsClient
) -> None:
    candidate = await ready(client, nats_client)
    order = await open_order(client)
    placement = await ok(await shortlist(client, order["id"], candidate.candidate_id), 201)
    path = f"/placements/{placement['id']}"

    refused(await client.post(f"{path}/offer", json={}), 409, "offer_needs_passed_interview")
    failed = await ok(await client.post(f"{path}/interview", json={"passed": False}))
    assert failed["status"] == "interview_failed"
    refused(await client.post(f"{path}/offer", json={}), 409, "offer_needs_passed_interview")
    refused(await client.post(f"{path}/contract", json={}), 409, "contract_needs_offer")
    order_now = await ok(await client.get(f"/job-orders/{order['id']}"))
    assert (order_now["filled"], order_now["status"]) == (0, "open")

    matches = await ok(await client.get(f"/job-orders/{order['id']}/matches"))
    assert matches["matches"] == []
    [excluded] = matches["excluded"]
    assert excluded["rule"] == "already_on_order"
    assert "interview failed" in excluded["reason"]
    [event] = await wait_for_events(
        nats_client, "PLACEMENT", lambda e: e["event_type"] == "CandidateInterviewed"
    )
    assert event["passed"] is False


async def test_concurrent_contract_signings_on_a_one_slot_order_let_exactly_one_win(
    client: httpx.AsyncClient, nats_client: NatsClient
) -> None:
    order = await open_order(client, slots=1)
    candidates = [await ready(client, nats_client) for _ in range(5)]
    paths = [await walk_to_offer(client, order["id"], c.candidate_id) for c in candidates]

    responses = await asyncio.gather(
        *(client.post(f"/placements/{path}/contract", json={}) for path in paths)
    )

    assert sorted(r.status_code for r in responses) == [200, 409, 409, 409, 409]
    assert {r.json()["error"] for r in responses if r.status_code == 409} == {"order_full"}
    order_now = await ok(await client.get(f"/job-orders/{order['id']}"))
    assert (order_now["filled"], order_now["status"]) == (1, "filled")
    placed = await ok(await client.get("/placements", params={"status": "placed"}))
    assert len(placed) == 1
    await wait_for_events(nats_client, "PLACEMENT", lambda e: e["event_type"] == "CandidatePlaced")
    events = await events_on(nats_client, "PLACEMENT")
    assert [e["event_type"] for e in events].count("CandidatePlaced") == 1


async def test_one_candidate_signing_on_two_orders_at_once_holds_one_slot(
    client: httpx.AsyncClient, nats_client: NatsClient
) -> None:
    candidate = await ready(client, nats_client)
    orders = [await open_order(client, employer=f"Employer {i}") for i in range(2)]
    paths = [await walk_to_offer(client, order["id"], candidate.candidate_id) for order in orders]

    responses = await asyncio.gather(
        *(client.post(f"/placements/{path}/contract", json={}) for path in paths)
    )

    assert sorted(r.status_code for r in responses) == [200, 409], [r.text for r in responses]
    assert [r.json()["error"] for r in responses if r.status_code == 409] == [
        "one_active_placement"
    ]
    filled = [(await ok(await client.get(f"/job-orders/{o['id']}")))["filled"] for o in orders]
    assert sorted(filled) == [0, 1]


async def test_a_closed_order_takes_no_one_new_and_keeps_its_reason(
    client: httpx.AsyncClient, nats_client: NatsClient
) -> None:
    offered, newcomer = await ready(client, nats_client), await ready(client, nats_client)
    order = await open_order(client, slots=3)
    path = await walk_to_offer(client, order["id"], offered.candidate_id)

    closed = await ok(
        await client.post(f"/job-orders/{order['id']}/close", json={"reason": "hired locally"})
    )
    assert (closed["status"], closed["close_reason"]) == ("closed", "hired locally")
    assert closed["closed_at"] is not None

    refused(await shortlist(client, order["id"], newcomer.candidate_id), 409, "order_closed")
    refused(
        await client.post(
            f"/job-orders/{order['id']}/placements",
            json={"candidate_id": str(newcomer.candidate_id)},
        ),
        409,
        "order_closed",
    )
    refused(await client.post(f"/placements/{path}/contract", json={}), 409, "order_closed")
    refused(
        await client.post(f"/job-orders/{order['id']}/close", json={"reason": "again"}),
        409,
        "order_closed",
    )
    listed = await ok(await client.get("/job-orders", params={"status": "closed"}))
    assert [o["id"] for o in listed] == [order["id"]]
    assert (await ok(await client.get("/job-orders", params={"status": "open"}))) == []


async def test_matches_exclude_with_reasons_and_use_certificates_scores_and_commitment(
    client: httpx.AsyncClient, nats_client: NatsClient
) -> None:
    below = await ready(client, nats_client, language_level="N5")
    without_skill = await ready(client, nats_client, language_level="N2")
    skilled = await ready(client, nats_client, daily_score_average=90.0)
    for holder, sector in ((skilled, "automotive"), (without_skill, "caregiver")):
        passed = CertificatePassed(
            agency="kota-serang",
            journey_id=holder.journey_id,
            candidate_id=holder.candidate_id,
            certificate_id=uuid.uuid4(),
            test=TestKind.SSW_SKILL,
            sector=sector,
            issuer="OTAFF",
            passed_on=date.today(),
        )
        await nats_client.jetstream().publish(passed.subject, passed.model_dump_json().encode())

    async def certificates_known() -> bool:
        view = await ok(await client.get(f"/ready-candidates/{skilled.candidate_id}"))
        return sorted(view["certificates"]) == ["JLPT", "SSW_SKILL"]

    await eventually(certificates_known)
    order = await open_order(client, required_certificates=["SSW_SKILL"])

    matches = await ok(await client.get(f"/job-orders/{order['id']}/matches"))

    [match] = matches["matches"]
    assert match["candidate_id"] == str(skilled.candidate_id)
    assert "holds SSW_SKILL" in match["explanation"]
    assert "daily score average 90 against the target 80 (+1)" in match["explanation"]
    assert {e["candidate_id"]: e["rule"] for e in matches["excluded"]} == {
        str(below.candidate_id): "language_below_minimum",
        str(without_skill.candidate_id): "certificate_missing",
    }
    refused(await shortlist(client, order["id"], below.candidate_id), 422, "language_below_minimum")
    refused(
        await client.put(
            f"/ready-candidates/{uuid.uuid4()}/commitment", json={"months_willing_to_stay": 36}
        ),
        404,
        "not_found",
    )
