"""What a careless or dishonest caller of financing's API is refused, and with which rule: through
HTTP against a real database and JetStream, as an operator would call it."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
from fastapi.routing import APIRoute
from financing_test_support import FinancingHarness, api_client, departed, placed

from jembatan_contracts import Event, RepaymentScheduleFixed, Track
from jembatan_financing.entrypoints.api import router
from jembatan_kit.clock import AdjustableClock


async def test_an_unknown_field_is_refused_on_every_command_endpoint(
    harness: FinancingHarness,
) -> None:
    runtime = await harness.start()
    commands = [
        route
        for route in router.routes
        if isinstance(route, APIRoute)
        and route.methods & {"POST", "PUT", "PATCH"}
        and route.body_field is not None
    ]
    assert len(commands) >= 5
    async with api_client(runtime) as client:
        for route in commands:
            path = route.path.replace("{loan_id}", str(uuid.uuid4()))
            method = next(iter(route.methods & {"POST", "PUT", "PATCH"}))
            response = await client.request(method, path, json={"salary_deduction": 10})
            assert response.status_code == 422, (route.path, response.text)
            unknown = [e for e in response.json()["detail"] if e["type"] == "extra_forbidden"]
            assert [e["loc"][-1] for e in unknown] == ["salary_deduction"], route.path


async def test_a_payment_dated_after_today_is_refused(harness: FinancingHarness) -> None:
    clock = AdjustableClock()
    runtime = await harness.start(clock)
    placement = placed(Track.TITP, contract_months=36)
    await harness.publish(placement)
    await harness.publish(departed(placement, clock.today()))
    await harness.eventually(lambda: _has(harness, RepaymentScheduleFixed, 1))
    async with api_client(runtime) as client:
        loan_id = await _loan_of(client, str(placement.candidate_id))
        tomorrow = clock.today() + timedelta(days=1)
        refused = await client.post(
            f"/loans/{loan_id}/payments",
            json={"reference": "TRF-1", "paid_on": str(tomorrow), "amount_idr": 1_000_000},
        )
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"] == "paid_on_in_the_future"
        assert str(clock.today()) in refused.json()["message"]
        today = await client.post(
            f"/loans/{loan_id}/payments",
            json={"reference": "TRF-1", "paid_on": str(clock.today()), "amount_idr": 1_000_000},
        )
        assert today.status_code == 201, today.text


async def _loan_of(client: httpx.AsyncClient, candidate_id: str) -> str:
    loans = (await client.get("/loans", params={"candidate_id": candidate_id})).json()
    [loan] = loans
    return str(loan["loan_id"])


async def _has(harness: FinancingHarness, event_type: type[Event], count: int) -> bool:
    return len(await harness.financing_messages(event_type)) >= count


def _body(response: httpx.Response) -> dict[str, Any]:
    body: dict[str, Any] = response.json()
    return body
