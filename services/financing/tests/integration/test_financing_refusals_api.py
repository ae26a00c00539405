"""What a careless or dishonest caller of financing's API is refused, and with which rule: through
HTTP against a real database and JetStream, as an operator would call it."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
from fastapi.routing import APIRoute

from jembatan_contracts import (
    Event,
    LoanWrittenOff,
    RepaymentScheduleFixed,
    ScheduleNeedsDecision,
    Track,
)
from jembatan_financing.entrypoints.api import router
from jembatan_kit.clock import AdjustableClock
from jembatan_kit.testing.journeys import departed, placed

Harness = Any  # the `harness` fixture of conftest.py: a FinancingHarness


async def test_an_unknown_field_is_refused_on_every_command_endpoint(
    harness: Harness,
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
    async with harness.client(runtime) as client:
        for route in commands:
            path = route.path.replace("{loan_id}", str(uuid.uuid4()))
            method = next(iter(route.methods & {"POST", "PUT", "PATCH"}))
            response = await client.request(method, path, json={"salary_deduction": 10})
            assert response.status_code == 422, (route.path, response.text)
            unknown = [e for e in response.json()["detail"] if e["type"] == "extra_forbidden"]
            assert [e["loc"][-1] for e in unknown] == ["salary_deduction"], route.path


async def test_a_payment_dated_after_today_is_refused(harness: Harness) -> None:
    clock = AdjustableClock()
    runtime = await harness.start(clock)
    placement = placed(Track.TITP, contract_months=36)
    await harness.publish(placement)
    await harness.publish(departed(placement, clock.today()))
    await harness.eventually(lambda: _has(harness, RepaymentScheduleFixed, 1))
    async with harness.client(runtime) as client:
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


async def test_only_allowed_charges_within_the_maximum_are_taken_and_no_interest(
    harness: Harness,
) -> None:
    runtime = await harness.start()
    placement = placed(Track.TITP, contract_months=36, supervising_organisation="IM Japan")
    await harness.publish(placement)
    async with harness.client(runtime) as client:
        loan_id = await _eventually_loan_of(client, harness, str(placement.candidate_id))
        refusals = {}
        for code, description, amount in (
            ("security_deposit", "Returned at the end of the contract", 2_000_000),
            ("uang_jaminan", "Jaminan", 2_000_000),
            ("penalty_fee", "If the intern leaves early", 5_000_000),
            ("biaya_denda", "Denda", 5_000_000),
            ("savings", "Kept by the sending organisation", 3_000_000),
            ("uniform", "Company uniform", 300_000),
        ):
            response = await client.post(
                f"/loans/{loan_id}/items",
                json={"code": code, "description": description, "amount_idr": amount},
            )
            assert response.status_code == 422, response.text
            refusals[code] = _body(response)["error"]
        assert refusals == {
            "security_deposit": "forbidden_charge",
            "uang_jaminan": "forbidden_charge",
            "penalty_fee": "forbidden_charge",
            "biaya_denda": "forbidden_charge",
            "savings": "forbidden_charge",
            "uniform": "charge_not_allowed",
        }
        over = await client.post(
            f"/loans/{loan_id}/items",
            json={"code": "insurance", "description": "Insurance", "amount_idr": 418_000_000},
        )
        assert _body(over)["error"] == "principal_above_maximum"
        assert "Rp15,000,000" in _body(over)["message"]

        loan = (await client.get(f"/loans/{loan_id}")).json()
        assert (loan["channel"], loan["principal_idr"]) == ("im_japan", 12_500_000)
        statement = (await client.get(f"/loans/{loan_id}/statement")).json()
        assert statement["interest"]["rate_percent"] == 0
        page = await client.get(f"/loans/{loan_id}/statement.html")
        assert "This loan carries no interest" in page.text


async def test_a_departure_the_wage_cannot_repay_waits_for_a_decision_shown_to_operators(
    harness: Harness,
) -> None:
    """JPY20,000 a month cannot repay Rp30,000,000 within a 12-month contract at 25% of the
    wage: the departure is handled (never dead-lettered), the loan is listed as needing a
    decision with its figures, its costs are frozen, and the ways out work."""
    clock = AdjustableClock()
    runtime = await harness.start(clock)
    placement = placed(Track.SSW, contract_months=12, monthly_wage_jpy=20_000)
    await harness.publish(placement)
    await harness.publish(departed(placement, clock.today()))
    await harness.eventually(lambda: _has(harness, ScheduleNeedsDecision, 1))
    async with harness.client(runtime) as client:
        waiting = (await client.get("/loans", params={"status": "needs_decision"})).json()
        assert [loan["candidate_id"] for loan in waiting] == [str(placement.candidate_id)]
        loan_id = waiting[0]["loan_id"]
        loan = (await client.get(f"/loans/{loan_id}")).json()
        decision = loan["decision"]
        assert loan["status"] == "needs_decision" and loan["schedule"] == []
        assert decision["reason"] == "instalment_above_affordability_cap"
        assert decision["instalments_within_contract"] == 10
        assert decision["shortfall_idr"] == 30_000_000 - 10 * decision["instalment_cap_idr"]
        assert [way["way"] for way in decision["ways_out"]] == ["schedule", "subsidy", "write_off"]

        frozen = await client.post(
            f"/loans/{loan_id}/items",
            json={"code": "insurance", "description": "Insurance", "amount_idr": 100_000},
        )
        assert (frozen.status_code, _body(frozen)["error"]) == (409, "costs_frozen")
        unaffordable = await client.post(f"/loans/{loan_id}/schedule", json={})
        assert _body(unaffordable)["error"] == "instalment_above_affordability_cap"

        written_off = await client.post(f"/loans/{loan_id}/write-offs", json={})
        assert written_off.status_code == 201, written_off.text
        assert _body(written_off)["written_off_idr"] == decision["shortfall_idr"]
        scheduled = await client.post(f"/loans/{loan_id}/schedule", json={})
        assert scheduled.status_code == 200, scheduled.text
        loan = _body(scheduled)
        assert (loan["status"], loan["decision"], len(loan["schedule"])) == ("repaying", None, 10)
        assert {i["amount_idr"] for i in loan["schedule"]} == {decision["instalment_cap_idr"]}

    await harness.eventually(lambda: _has(harness, LoanWrittenOff, 1))
    await harness.eventually(lambda: _has(harness, RepaymentScheduleFixed, 1))
    dead_letters = await harness.js.stream_info("DEADLETTER")
    assert dead_letters.state.messages == 0


async def _eventually_loan_of(
    client: httpx.AsyncClient, harness: Harness, candidate_id: str
) -> str:
    found: list[dict[str, Any]] = []

    async def opened() -> bool:
        found[:] = (await client.get("/loans", params={"candidate_id": candidate_id})).json()
        return len(found) == 1

    await harness.eventually(opened)
    return str(found[0]["loan_id"])


async def _loan_of(client: httpx.AsyncClient, candidate_id: str) -> str:
    loans = (await client.get("/loans", params={"candidate_id": candidate_id})).json()
    [loan] = loans
    return str(loan["loan_id"])


async def _has(harness: Harness, event_type: type[Event], count: int) -> bool:
    return len(await harness.financing_messages(event_type)) >= count


def _body(response: httpx.Response) -> dict[str, Any]:
    body: dict[str, Any] = response.json()
    return body
