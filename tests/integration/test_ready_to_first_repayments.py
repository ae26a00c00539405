"""From a candidate ready for placement to departure and the first two RepaymentDue events:
placement and financing running side by side on one real nats-server, each with its own database,
on SQLite and on PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from nats.aio.client import Client as NatsClient

from jembatan_contracts import CandidateReadyForPlacement, Track
from jembatan_financing.bootstrap import build_app as build_financing
from jembatan_financing.config import FinancingSettings
from jembatan_financing.domain.model import add_months
from jembatan_kit.auth import NATIONAL_AGENCY
from jembatan_kit.clock import AdjustableClock
from jembatan_kit.testing.databases import create_database, drop_database
from jembatan_kit.testing.helpers import (
    eventually,
    publish_ready,
    running_app,
    token_for,
    trust_file_for_tests,
    wait_for_events,
)
from jembatan_placement.bootstrap import build_app as build_placement
from jembatan_placement.config import PlacementSettings

QUICK = {"outbox_poll_interval_s": 0.05, "consumer_batch_timeout_s": 0.05}
ORDER = {
    "employer": "Hokkaido Dairy Farms",
    "supervising_organisation": "JOE Cooperative",
    "prefecture": "Hokkaido",
    "sector": "agriculture",
    "track": "TITP",
    "slots": 2,
    "monthly_wage_jpy": 180_000,
    "contract_months": 36,
    "interview_date": "2027-01-20",
}


@pytest.fixture(params=["sqlite", "postgresql"])
async def databases(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[list[str]]:
    """One database for placement and one for financing: services never share one."""
    if request.param == "sqlite":
        yield [f"sqlite+aiosqlite:///{tmp_path / f'{name}.db'}" for name in ("pl", "fi")]
        return
    admin = request.getfixturevalue("postgres_admin")
    urls = [await create_database(admin), await create_database(admin)]
    yield urls
    for url in urls:
        await drop_database(admin, url)


@pytest.fixture
def clock() -> AdjustableClock:
    return AdjustableClock()


@pytest.fixture
async def services(
    databases: list[str], nats_url: str, clock: AdjustableClock
) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    placement_db, financing_db = databases
    placement = build_placement(
        PlacementSettings(
            database_url=placement_db,
            nats_url=nats_url,
            agency=NATIONAL_AGENCY,
            auth_trust_file=trust_file_for_tests(),
            **QUICK,
        )
    )
    financing = build_financing(
        FinancingSettings(
            database_url=financing_db,
            nats_url=nats_url,
            agency=NATIONAL_AGENCY,
            auth_trust_file=trust_file_for_tests(),
            scheduler_interval_s=0.05,
            **QUICK,
        ),
        clock,
    )
    operator = token_for(NATIONAL_AGENCY)
    async with running_app(placement) as placing, running_app(financing) as financing_client:
        for client in (placing, financing_client):
            client.headers.update(operator)
        yield placing, financing_client


async def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.request.url}: {response.text}"
    return response.json()


async def test_a_ready_candidate_departs_and_the_first_two_instalments_fall_due_once(
    services: tuple[httpx.AsyncClient, httpx.AsyncClient],
    nats_client: NatsClient,
    clock: AdjustableClock,
) -> None:
    placement, financing = services
    ready = CandidateReadyForPlacement(
        agency="boyolali",
        journey_id=uuid.uuid4(),
        candidate_id=uuid.uuid4(),
        track=Track.TITP,
        sector="agriculture",
        language_level="N4",
        satisfied_rules=["japanese_n4"],
    )
    await publish_ready(nats_client, ready)

    async def known() -> bool:
        response = await placement.get(f"/ready-candidates/{ready.candidate_id}")
        return response.status_code == 200

    await eventually(known)

    order = await ok(await placement.post("/job-orders", json=ORDER), 201)
    shortlisted = await ok(
        await placement.post(
            f"/job-orders/{order['id']}/shortlist", json={"candidate_id": str(ready.candidate_id)}
        ),
        201,
    )
    path = f"/placements/{shortlisted['id']}"
    today = clock.today()
    departure = today + timedelta(days=90)
    for step, body in [
        ("interview", {"passed": True}),
        ("offer", {}),
        ("contract", {}),
        ("certificate-of-eligibility", {}),
        ("visa", {}),
        ("departure", {"departure_date": str(departure)}),
    ]:
        await ok(await placement.post(f"{path}/{step}", json=body))

    async def scheduled() -> list[dict[str, Any]]:
        loans = await ok(
            await financing.get("/loans", params={"candidate_id": str(ready.candidate_id)})
        )
        return loans

    async def loan_fixed() -> bool:
        loans = await scheduled()
        return bool(loans) and loans[0]["departure_date"] == str(departure)

    await eventually(loan_fixed, timeout_s=20)
    [loan] = await scheduled()
    assert (loan["agency"], loan["journey_id"], loan["track"]) == (
        "boyolali",
        str(ready.journey_id),
        "TITP",
    )
    assert loan["repayment_channel"] == "own_transfer"
    schedule = await ok(await financing.get(f"/loans/{loan['loan_id']}/schedule"))
    assert schedule[0]["due_date"] == str(add_months(departure, 3))
    assert sum(instalment["amount_idr"] for instalment in schedule) == loan["principal_idr"]

    clock.move_to(_morning(add_months(departure, 4)))
    due = await wait_for_events(
        nats_client,
        "FINANCING",
        lambda e: e["event_type"] == "RepaymentDue" and e["journey_id"] == str(ready.journey_id),
        count=2,
        timeout_s=20,
    )
    assert sorted((e["instalment_number"], e["due_date"]) for e in due) == [
        (1, str(add_months(departure, 3))),
        (2, str(add_months(departure, 4))),
    ]
    assert {e["agency"] for e in due} == {"boyolali"}
    placement_events = await wait_for_events(
        nats_client, "PLACEMENT", lambda e: e["journey_id"] == str(ready.journey_id), count=7
    )
    assert placement_events[-1]["event_type"] == "Departed"
    assert _no_second_announcement(
        await ok(await financing.get(f"/loans/{loan['loan_id']}/schedule"))
    )


def _no_second_announcement(schedule: list[dict[str, Any]]) -> bool:
    announced = [i["number"] for i in schedule if i["announced_at"] is not None]
    return announced == [1, 2]


def _morning(day: date) -> datetime:
    return datetime.combine(day, time(1, 0), tzinfo=UTC)
