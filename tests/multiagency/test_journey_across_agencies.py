"""Candidates of two provinces travel to departure through services split across agencies, on
nats-servers started from the committed configs: each province runs registration and training on
its leaf server, Kemnaker runs placement, financing and the dashboard on the hub. Kemnaker's
placement and dashboard see both provinces' candidates, each province only its own; and each
journey is one trace whose edges run through every service of both agencies (the
opentelemetry-demo span-edge test, across agencies)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import date
from typing import Any

import httpx
import pytest

from jembatan_kit.testing.databases import create_database, drop_database
from jembatan_kit.testing.helpers import eventually
from jembatan_kit.trace_files import read_spans

from .agency_services import AgencyServices
from .conftest import start_federation, topology

HUB = topology.HUB_AGENCY
PROVINCES = ("kaltim", "boyolali")
PEOPLE = {
    "kaltim": {"nik": "6471051506040001", "full_name": "Budi Santoso", "phone": "+6281234567890"},
    "boyolali": {"nik": "3309011506040002", "full_name": "Agus Salim", "phone": "+6281298765432"},
}
ORDER = {
    "employer": "Toyota Tsusho Parts Kyushu",
    "supervising_organisation": "IM Japan",
    "prefecture": "Fukuoka",
    "sector": "automotive",
    "track": "TITP",
    "slots": 5,
    "monthly_wage_jpy": 180000,
    "contract_months": 36,
}


SPLIT = [(p, service) for p in PROVINCES for service in topology.PROVINCE_SERVICES] + [
    (HUB, service) for service in topology.HUB_SERVICES
]


@pytest.fixture(scope="module")
def agencies(
    tmp_path_factory: pytest.TempPathFactory, postgres_admin: str
) -> Iterator[AgencyServices]:
    root = tmp_path_factory.mktemp("agencies")
    databases = {key: asyncio.run(create_database(postgres_admin)) for key in SPLIT}
    federation = start_federation(root, PROVINCES)
    services = AgencyServices(federation, root, databases)
    try:
        asyncio.run(federation.create_hub_streams())
        for agency, service in SPLIT:  # each after the streams it consumes exist
            services.start(agency, service)
        yield services
    finally:
        services.stop()
        federation.stop()
        for url in databases.values():
            asyncio.run(drop_database(postgres_admin, url))


async def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.request.url}: {response.text}"
    return response.json()


async def walk_to_departure(agencies: AgencyServices, province: str) -> dict[str, str]:
    """Register in the province, pass N4 there, get placed and depart at the hub."""
    registration = agencies[province, "registration"].client()
    training = agencies[province, "training"].client()
    placement = agencies[HUB, "placement"].client()
    financing = agencies[HUB, "financing"].client()
    async with registration, training, placement, financing:
        registered = await ok(
            await registration.post(
                "/candidates",
                json=PEOPLE[province]
                | {
                    "agency": province,
                    "birth_date": "2004-06-15",
                    "sex": "M",
                    "education": "SMK",
                    "track": "TITP",
                    "preferred_sector": "automotive",
                },
            ),
            201,
        )
        candidate = registered["candidate_id"]

        async def enrolled() -> bool:
            return (await training.get(f"/candidates/{candidate}")).status_code == 200

        await eventually(enrolled)
        result = {"test": "JLPT", "level": "N4", "issuer": "Japan Foundation"}
        await ok(
            await training.post(
                f"/candidates/{candidate}/results", json=result | {"taken_on": str(date.today())}
            ),
            201,
        )

        async def ready_at_the_hub() -> bool:
            return (await placement.get(f"/ready-candidates/{candidate}")).status_code == 200

        await eventually(ready_at_the_hub, timeout_s=30)
        order = await ok(await placement.post("/job-orders", json=ORDER), 201)
        placed = await ok(
            await placement.post(
                f"/job-orders/{order['id']}/placements", json={"candidate_id": candidate}
            ),
            201,
        )
        path = f"/placements/{placed['id']}"
        await ok(await placement.post(f"{path}/certificate-of-eligibility", json={}))
        await ok(await placement.post(f"{path}/visa", json={}))
        departed = await ok(
            await placement.post(f"{path}/departure", json={"departure_date": str(date.today())})
        )
        assert departed["status"] == "departed"
        assert departed["agency"] == province

        loan: dict[str, Any] = {}

        async def scheduled() -> bool:
            found = (await financing.get("/loans", params={"candidate_id": candidate})).json()
            if not found or found[0]["departure_date"] is None:
                return False
            loan.update(found[0])
            schedule = await financing.get(f"/loans/{loan['loan_id']}/schedule")
            return len(schedule.json()) > 0

        await eventually(scheduled, timeout_s=30)
        return {
            "candidate_id": candidate,
            "journey_id": registered["journey_id"],
            "loan_id": loan["loan_id"],
        }


@pytest.fixture(scope="module")
async def journeys(agencies: AgencyServices) -> dict[str, dict[str, str]]:
    return {province: await walk_to_departure(agencies, province) for province in PROVINCES}


async def test_the_hub_sees_every_provinces_candidates_and_each_province_only_its_own(
    agencies: AgencyServices, journeys: dict[str, dict[str, str]]
) -> None:
    kaltim, boyolali = (journeys[p]["candidate_id"] for p in PROVINCES)
    async with agencies[HUB, "placement"].client() as national:
        ready = {c["candidate_id"] for c in (await ok(await national.get("/ready-candidates")))}
        assert {kaltim, boyolali} <= ready
        departed = await ok(await national.get("/placements", params={"status": "departed"}))
        assert {p["agency"] for p in departed} == set(PROVINCES)
    for province, own, other in (("kaltim", kaltim, boyolali), ("boyolali", boyolali, kaltim)):
        async with agencies[HUB, "placement"].client(province) as hub_for_province:
            seen = await ok(await hub_for_province.get("/ready-candidates"))
            assert [c["candidate_id"] for c in seen] == [own]
            refused = await hub_for_province.get(f"/ready-candidates/{other}")
            assert refused.status_code == 403
        async with agencies[HUB, "financing"].client(province) as financing:
            mine = await ok(await financing.get("/loans", params={"candidate_id": own}))
            assert len(mine) == 1
            theirs = journeys["boyolali" if province == "kaltim" else "kaltim"]["loan_id"]
            assert (await financing.get(f"/loans/{theirs}")).status_code == 403
        # The province's own services never hear of the other province's candidates.
        async with agencies[province, "training"].client(HUB) as training:
            listed = {c["candidate_id"] for c in await ok(await training.get("/candidates"))}
            assert own in listed and other not in listed
        async with agencies["kaltim", "registration"].client(province) as registration:
            answer = await registration.get(f"/candidates/{kaltim}")
            assert answer.status_code == (200 if province == "kaltim" else 403)


async def funnel_of(agencies: AgencyServices, as_agency: str, **params: str) -> dict[str, Any]:
    async with agencies[HUB, "dashboard"].client(as_agency) as dashboard:
        answer: dict[str, Any] = await ok(
            await dashboard.get("/api/funnel", params={"year": str(date.today().year), **params})
        )
        return answer


def reached(funnel: dict[str, Any]) -> dict[str, int]:
    return {stage["stage"]: stage["reached"] for stage in funnel["stages"]}


async def test_the_hubs_dashboard_follows_every_provinces_candidates_and_rebuilds(
    agencies: AgencyServices, journeys: dict[str, dict[str, str]]
) -> None:
    """The dashboard at the hub reads, as its own NATS user, the provinces' registrations and
    training events sourced across the leaf links and the hub's placement and financing events;
    a province's officer sees only that province; a rebuild replays the same figures."""

    async def both_departed() -> bool:
        for province in PROVINCES:
            figures = reached(await funnel_of(agencies, HUB, agency=province))
            if figures["registered"] != 1 or figures["departed"] != 1:
                return False
        return True

    await eventually(both_departed, timeout_s=30)
    national = await funnel_of(agencies, HUB)
    assert {row["agency"] for row in national["by_programme"]} == set(PROVINCES)
    assert reached(national)["departed"] == 2
    own = await funnel_of(agencies, "kaltim")
    assert {row["agency"] for row in own["by_programme"]} == {"kaltim"}
    async with agencies[HUB, "dashboard"].client("kaltim") as province:
        refused = await province.get("/api/funnel", params={"agency": "boyolali"})
        assert refused.status_code == 403

    async with agencies[HUB, "dashboard"].client(HUB) as dashboard:
        replayed = await ok(await dashboard.post("/api/rebuild"))
    assert replayed["replayed"]["CandidateRegistered"] == 2
    assert replayed["replayed"]["Departed"] == 2
    assert await funnel_of(agencies, HUB) == national


EXPECTED_EDGES = {
    (("registration", "{p}"), ("training", "{p}")),
    (("training", "{p}"), ("placement", HUB)),
    (("placement", HUB), ("financing", HUB)),
    (("registration", "{p}"), ("dashboard", HUB)),
    (("training", "{p}"), ("dashboard", HUB)),
    (("placement", HUB), ("dashboard", HUB)),
    (("financing", HUB), ("dashboard", HUB)),
}


def edges_of(spans: list[dict[str, Any]]) -> set[tuple[tuple[str, str], tuple[str, str]]]:
    """(producer, consumer) as (service, agency) for each span whose parent another service or
    agency recorded."""
    by_id = {span["span_id"]: span for span in spans}
    edges = set()
    for span in spans:
        parent = by_id.get(span["parent_span_id"])
        if parent is None:
            continue
        source, target = (parent["service"], parent["agency"]), (span["service"], span["agency"])
        if source != target:
            edges.add((source, target))
    return edges


def spans_of(agencies: AgencyServices, province: str) -> list[dict[str, Any]]:
    return read_spans(agencies.traces_dir(province)) + read_spans(agencies.traces_dir(HUB))


@pytest.mark.parametrize("province", PROVINCES)
async def test_each_journey_is_one_trace_through_every_service_of_both_agencies(
    agencies: AgencyServices, journeys: dict[str, dict[str, str]], province: str
) -> None:
    journey_id = journeys[province]["journey_id"]
    trace_id = f"{uuid.UUID(journey_id).int:032x}"
    expected = {
        tuple((service, agency.format(p=province)) for service, agency in edge)
        for edge in EXPECTED_EDGES
    }
    spans: list[dict[str, Any]] = []

    async def every_edge_recorded() -> bool:
        nonlocal spans
        spans = [s for s in spans_of(agencies, province) if s["trace_id"] == trace_id]
        return expected <= edges_of(spans)

    await eventually(every_edge_recorded, timeout_s=20)
    assert {(s["service"], s["agency"]) for s in spans} == {
        ("registration", province),
        ("training", province),
        ("placement", HUB),
        ("financing", HUB),
        ("dashboard", HUB),
    }
    assert [s["name"] for s in spans if s["parent_span_id"] is None] == ["journey"]
    bus_spans = [s for s in spans if "jembatan.event_type" in s["attributes"]]
    assert {s["service"] for s in bus_spans} == {
        "registration",
        "training",
        "placement",
        "financing",
        "dashboard",
    }
    for span in bus_spans:
        assert span["attributes"]["jembatan.journey_id"] == journey_id, span["name"]
    consumed = [s for s in bus_spans if s["kind"] == "CONSUMER"]
    assert {s["service"] for s in consumed} == {"training", "placement", "financing", "dashboard"}
    for span in consumed:  # the event's agency: the candidate's province, even at the hub
        assert span["attributes"]["jembatan.agency"] == province, span["name"]


def test_no_personal_data_in_any_agencys_spans(
    agencies: AgencyServices, journeys: dict[str, dict[str, str]]
) -> None:
    written = "".join(path.read_text() for path in (agencies.root / "traces").rglob("*.jsonl"))
    assert written
    for person in PEOPLE.values():
        for value in (person["nik"], person["phone"], *person["full_name"].split()):
            assert value not in written
