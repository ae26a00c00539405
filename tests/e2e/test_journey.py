"""One candidate from registration to the first RepaymentDue, through the public APIs of the four
services running as separate processes against one real nats-server (SQLite files)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import httpx
import nats
import pytest
from nats.aio.client import Client as NatsClient

from jembatan_cli.system import SERVICES, LocalSystem, local_issuer
from jembatan_kit.auth import NATIONAL_AGENCY, bearer
from jembatan_kit.issuers import issue_token
from jembatan_kit.testing.helpers import events_on, eventually, wait_for_events
from jembatan_kit.trace_files import read_spans

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalSystem]:
    local = LocalSystem.on_free_ports(
        tmp_path_factory.mktemp("system"),
        extra_env={"OTEL_BSP_SCHEDULE_DELAY": "200"},
    )
    with local:
        yield local


@pytest.fixture
async def bus(system: LocalSystem) -> AsyncIterator[NatsClient]:
    client = await nats.connect(system.nats_url)
    yield client
    await client.close()


@pytest.fixture
async def api(system: LocalSystem) -> AsyncIterator[dict[str, httpx.AsyncClient]]:
    # The operator calls as Kemnaker, which sees every agency's candidates.
    kemnaker = local_issuer(system.data_dir, NATIONAL_AGENCY)  # its own key, of `jembatan up`
    operator = bearer(issue_token(kemnaker, "operator", []))
    clients = {
        name: httpx.AsyncClient(base_url=service.url, timeout=10, headers=operator)
        for name, service in system.services.items()
    }
    yield clients
    for client in clients.values():
        await client.aclose()


async def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.request.url}: {response.text}"
    return response.json()


async def test_a_candidate_travels_from_registration_to_the_first_repayment_due(
    api: dict[str, httpx.AsyncClient], bus: NatsClient, system: LocalSystem
) -> None:
    registration, training, placement, financing = (
        api[name] for name in ("registration", "training", "placement", "financing")
    )

    registered = await ok(
        await registration.post(
            "/candidates",
            json={
                "agency": "kaltim",
                "nik": "6471051506040001",
                "full_name": "Budi Santoso",
                "birth_date": "2004-06-15",
                "sex": "M",
                "education": "SMK",
                "track": "TITP",
                "preferred_sector": "automotive",
                "phone": "+6281234567890",
            },
        ),
        201,
    )
    candidate_id, journey_id = registered["candidate_id"], registered["journey_id"]

    async def enrolled() -> bool:
        return (await training.get(f"/candidates/{candidate_id}")).status_code == 200

    await eventually(enrolled)
    await ok(
        await training.post(
            f"/candidates/{candidate_id}/results",
            json={
                "test": "JLPT",
                "level": "N4",
                "issuer": "Japan Foundation",
                "taken_on": str(date.today()),
            },
        ),
        201,
    )
    order = await ok(
        await placement.post(
            "/job-orders",
            json={
                "employer": "Toyota Tsusho Parts Kyushu",
                "supervising_organisation": "IM Japan",
                "prefecture": "Fukuoka",
                "sector": "automotive",
                "track": "TITP",
                "slots": 2,
                "monthly_wage_jpy": 180000,
                "contract_months": 36,
            },
        ),
        201,
    )
    shortlisted: dict[str, Any] = {}

    async def shortlisted_once_ready() -> bool:
        response = await placement.post(
            f"/job-orders/{order['id']}/shortlist", json={"candidate_id": candidate_id}
        )
        if response.status_code == 201:
            shortlisted.update(response.json())
            return True
        assert response.status_code in (404, 422), response.text  # not ready there yet
        return False

    await eventually(shortlisted_once_ready)
    path = f"/placements/{shortlisted['id']}"
    await ok(await placement.post(f"{path}/interview", json={"passed": True}))
    await ok(await placement.post(f"{path}/offer", json={}))
    placed = await ok(await placement.post(f"{path}/contract", json={}))
    assert placed["status"] == "placed"

    async def loan_opened() -> bool:
        loans = (await financing.get("/loans", params={"candidate_id": candidate_id})).json()
        return len(loans) == 1

    await eventually(loan_opened)
    await ok(await placement.post(f"{path}/certificate-of-eligibility", json={}))
    await ok(await placement.post(f"{path}/visa", json={}))
    departure = date.today()
    await ok(await placement.post(f"{path}/departure", json={"departure_date": str(departure)}))
    schedule_fixed = await wait_for_events(
        bus,
        "FINANCING",
        lambda e: e["event_type"] == "RepaymentScheduleFixed" and e["candidate_id"] == candidate_id,
    )
    first_due = date.fromisoformat(schedule_fixed[0]["first_due_date"])
    assert (first_due.year * 12 + first_due.month) - (departure.year * 12 + departure.month) == 3

    # Nothing is due before the third month after departure.
    before = datetime.combine(first_due - timedelta(days=1), time(12), UTC)
    await ok(await financing.put("/clock", json={"now": before.isoformat()}))
    early = await events_on(bus, "FINANCING", timeout_s=1.5)
    assert not [e for e in early if e["event_type"] == "RepaymentDue"]

    on_due_day = datetime.combine(first_due, time(12), UTC)
    await ok(await financing.put("/clock", json={"now": on_due_day.isoformat()}))
    due = await wait_for_events(
        bus,
        "FINANCING",
        lambda e: e["event_type"] == "RepaymentDue" and e["candidate_id"] == candidate_id,
    )
    assert [(e["instalment_number"], e["due_date"]) for e in due] == [(1, str(first_due))]

    # Every service's view of the candidate, and one journey id across every stream.
    journey_events: list[dict[str, Any]] = []
    for stream in ("REGISTRATION", "TRAINING", "PLACEMENT", "FINANCING"):
        journey_events += [e for e in await events_on(bus, stream) if e["journey_id"] == journey_id]
    assert [e["event_type"] for e in journey_events] == [
        "CandidateRegistered",
        "CertificatePassed",
        "CandidateReadyForPlacement",
        "CandidateShortlisted",
        "CandidateInterviewed",
        "CandidateOffered",
        "CandidatePlaced",
        "CertificateOfEligibilityIssued",
        "VisaIssued",
        "Departed",
        "LoanOpened",
        "RepaymentScheduleFixed",
        "RepaymentDue",
    ]
    for personal in ("6471051506040001", "Budi", "Santoso", "+6281234567890"):
        assert personal not in str(journey_events)

    assert (await ok(await registration.get(f"/candidates/{candidate_id}")))["status"] == "active"
    order_now = await ok(await placement.get(f"/job-orders/{order['id']}"))
    assert order_now["filled"] == 1
    loan = (await ok(await financing.get("/loans", params={"candidate_id": candidate_id})))[0]
    assert loan["principal_idr"] > 0

    for name in SERVICES:
        health = await ok(await api[name].get("/health"))
        assert health["nats"] == "connected"

    # One trace per journey, its id the journey id, with an edge into every service.
    trace_id = f"{uuid.UUID(journey_id).int:032x}"
    traces_dir = system.data_dir / "traces"
    journey_spans: list[dict[str, Any]] = []

    async def every_hop_traced() -> bool:
        nonlocal journey_spans
        journey_spans = [s for s in read_spans(traces_dir) if s["trace_id"] == trace_id]
        return service_edges(journey_spans) >= EXPECTED_EDGES

    await eventually(every_hop_traced, timeout_s=20)
    # The identity index answers registration's requests outside any journey: it is told no
    # journey id, so nothing it does can be followed to a person's trace.
    assert {span["service"] for span in journey_spans} == set(SERVICES) - {"identity"}
    assert [s["name"] for s in journey_spans if s["parent_span_id"] is None] == ["journey"]
    for personal in ("6471051506040001", "Budi", "Santoso", "+6281234567890"):
        assert personal not in (traces_dir / "registration.jsonl").read_text()


EXPECTED_EDGES = {
    ("registration", "training"),
    ("training", "placement"),
    ("placement", "financing"),
}


def service_edges(spans: list[dict[str, Any]]) -> set[tuple[str, str]]:
    """(producer, consumer) for every span whose parent was recorded by another service."""
    by_id = {span["span_id"]: span for span in spans}
    return {
        (by_id[span["parent_span_id"]]["service"], span["service"])
        for span in spans
        if span["parent_span_id"] in by_id
        and by_id[span["parent_span_id"]]["service"] != span["service"]
    }
