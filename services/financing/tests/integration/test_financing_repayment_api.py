"""Payments, arrears, settlement, early return and the participant's statement, through HTTP and
JetStream against a real database."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import httpx

from jembatan_contracts import (
    EarlyReturned,
    EarlyReturnReason,
    Event,
    LoanRestructured,
    LoanSettled,
    PaymentRecorded,
    RepaymentDue,
    RepaymentScheduleFixed,
    Track,
)
from jembatan_financing.domain.model import add_months, bucket_for
from jembatan_kit.clock import AdjustableClock
from jembatan_kit.testing.journeys import departed, placed

Harness = Any  # the `harness` fixture of conftest.py: a FinancingHarness


def _morning_of(day: date) -> datetime:
    return datetime.combine(day, time(1, 0), tzinfo=UTC)


async def test_guards_payments_arrears_settlement_and_statement(harness: Harness) -> None:
    clock = AdjustableClock()
    runtime = await harness.start(clock)
    placement = placed(Track.SSW, contract_months=12)
    await harness.publish(placement)
    async with harness.client(runtime) as client:
        loan_id = await _loan_of(client, harness, str(placement.candidate_id))

        refused = await client.post(
            f"/loans/{loan_id}/items",
            json={"code": "placement_fee", "description": "Placement fee", "amount_idr": 5_000_000},
        )
        assert refused.status_code == 422
        assert refused.json()["error"] == "ssw_employer_borne_cost"
        deposit = await client.post(
            f"/loans/{loan_id}/items",
            json={"code": "deposit", "description": "Guarantee", "amount_idr": 1_000_000},
        )
        assert deposit.json()["error"] == "forbidden_charge"
        subsidy = await client.post(
            f"/loans/{loan_id}/subsidies",
            json={
                "provider": "JOE Cooperative",
                "item": "LPK advanced training",
                "amount_idr": 2_000_000,
            },
        )
        assert subsidy.status_code == 201, subsidy.text
        assert subsidy.json()["owed_idr"] == 28_000_000
        early = await client.post(
            f"/loans/{loan_id}/payments", json=_payment("T0", 1, clock.today())
        )
        assert early.status_code == 409

        departure = clock.today()
        await harness.publish(departed(placement, departure))
        await harness.eventually(lambda: _has(harness, RepaymentScheduleFixed, 1))
        clock.move_to(_morning_of(add_months(departure, 3)))
        await harness.eventually(lambda: _has(harness, RepaymentDue, 1))
        clock.move_to(_morning_of(add_months(departure, 4)))
        await harness.eventually(lambda: _has(harness, RepaymentDue, 2))
        due = [
            RepaymentDue.model_validate_json(m.data or b"")
            for m in await harness.financing_messages(RepaymentDue)
        ]
        assert [(e.instalment_number, e.amount_idr) for e in due] == [
            (1, 2_800_000),
            (2, 2_800_000),
        ]

        loan = (await client.get(f"/loans/{loan_id}")).json()
        days = (clock.today() - add_months(departure, 3)).days
        assert loan["arrears"]["days_past_due"] == days
        assert loan["arrears"]["bucket"] == bucket_for(days) != "current"
        listed = await client.get(
            "/loans", params={"bucket": bucket_for(days).value, "funder_id": loan["funder_id"]}
        )
        assert [summary["loan_id"] for summary in listed.json()] == [loan_id]
        assert (await client.get("/loans", params={"bucket": "90+"})).json() == []
        [funder] = (await client.get("/funders")).json()
        assert funder["funder_id"] == loan["funder_id"]

        deduction = await client.post(
            f"/loans/{loan_id}/payments",
            json={**_payment("T1", 2_800_000, clock.today()), "channel": "salary_deduction"},
        )
        assert deduction.status_code == 422
        assert deduction.json()["error"] == "no_salary_deduction"
        first = await client.post(
            f"/loans/{loan_id}/payments", json=_payment("T1", 2_800_000, clock.today())
        )
        again = await client.post(
            f"/loans/{loan_id}/payments", json=_payment("T1", 2_800_000, clock.today())
        )
        assert (first.status_code, again.status_code) == (201, 200)
        assert again.json() == first.json()
        assert first.json()["instalment_numbers"] == [1]
        loan = (await client.get(f"/loans/{loan_id}")).json()
        assert loan["paid_idr"] == 2_800_000
        assert loan["schedule"][0]["paid_idr"] == 2_800_000

        rest = await client.post(
            f"/loans/{loan_id}/payments", json=_payment("T2", 26_000_000, clock.today())
        )
        assert rest.json()["instalment_numbers"] == list(range(2, 11))
        await harness.eventually(lambda: _has(harness, LoanSettled, 1))
        [settled_message] = await harness.financing_messages(LoanSettled)
        settled = LoanSettled.model_validate_json(settled_message.data or b"")
        assert (settled.paid_idr, settled.refund_due_idr) == (28_800_000, 800_000)
        assert len(await harness.financing_messages(PaymentRecorded)) == 2
        after = await client.post(
            f"/loans/{loan_id}/payments", json=_payment("T3", 1, clock.today())
        )
        assert after.json()["error"] == "loan_settled"

        statement = (await client.get(f"/loans/{loan_id}/statement")).json()
        assert statement["totals"] == {
            "charges_idr": 30_000_000,
            "subsidies_idr": 2_000_000,
            "written_off_idr": 0,
            "owed_idr": 28_000_000,
            "paid_idr": 28_800_000,
            "balance_idr": 0,
            "refund_due_idr": 800_000,
            "charges_jpy": sum(c["amount_jpy"] for c in statement["charges"]),
        }
        assert statement["exchange_rate"]["idr_per_jpy"] == "107.50"
        training = statement["charges"][0]
        assert (training["code"], training["amount_jpy"]) == ("training", 167_442)
        assert training["charged_on"] == str(departure)
        page = await client.get(f"/loans/{loan_id}/statement.html")
        assert page.headers["content-type"].startswith("text/html")
        assert "<script" not in page.text
        for shown in ("JOE Cooperative", "Rp30.000.000", "¥167,442", "107.50", "Refund due"):
            assert shown in page.text


async def test_an_early_return_pauses_and_a_restructuring_reschedules(
    harness: Harness,
) -> None:
    clock = AdjustableClock()
    runtime = await harness.start(clock)
    placement = placed(Track.TITP, contract_months=36, monthly_wage_jpy=180_000)
    departure = clock.today()
    await harness.publish(placement)
    await harness.publish(departed(placement, departure))
    await harness.eventually(lambda: _has(harness, RepaymentScheduleFixed, 1))
    await harness.publish(
        EarlyReturned(
            agency=placement.agency,
            journey_id=placement.journey_id,
            placement_id=placement.placement_id,
            candidate_id=placement.candidate_id,
            return_date=departure + timedelta(days=40),
            reason=EarlyReturnReason.EMPLOYER_FAILURE,
            months_worked=1,
        )
    )
    async with harness.client(runtime) as client:
        loan_id = await _loan_of(client, harness, str(placement.candidate_id))

        async def paused() -> bool:
            return (await client.get(f"/loans/{loan_id}")).json()["status"] == "paused"

        await harness.eventually(paused)
        clock.move_to(_morning_of(add_months(departure, 5)))
        await asyncio.sleep(0.4)
        assert not await harness.financing_messages(RepaymentDue), "a paused loan announces nothing"

        past = await client.post(
            f"/loans/{loan_id}/restructure",
            json={"first_due_date": str(departure), "instalments": 6},
        )
        assert past.json()["error"] == "first_due_in_the_past"
        first_due = clock.today() + timedelta(days=10)
        done = await client.post(
            f"/loans/{loan_id}/restructure",
            json={"first_due_date": str(first_due), "instalments": 5},
        )
        assert done.status_code == 200, done.text
        loan = done.json()
        assert loan["status"] == "repaying"
        active = [i for i in loan["schedule"] if not i["superseded"]]
        assert [i["number"] for i in active] == [13, 14, 15, 16, 17]
        assert sum(i["amount_idr"] for i in active) == 12_500_000
        again = await client.post(
            f"/loans/{loan_id}/restructure",
            json={"first_due_date": str(first_due), "instalments": 5},
        )
        assert again.json()["error"] == "no_open_restructuring"

    await harness.eventually(lambda: _has(harness, LoanRestructured, 1))
    clock.move_to(_morning_of(first_due))
    await harness.eventually(lambda: _has(harness, RepaymentDue, 1))
    [message] = await harness.financing_messages(RepaymentDue)
    due = RepaymentDue.model_validate_json(message.data or b"")
    assert (due.instalment_number, due.due_date, due.amount_idr) == (13, first_due, 2_500_000)


def _payment(reference: str, amount_idr: int, paid_on: date) -> dict[str, object]:
    return {"reference": reference, "paid_on": str(paid_on), "amount_idr": amount_idr}


async def _loan_of(client: httpx.AsyncClient, harness: Harness, candidate: str) -> str:
    found: list[dict[str, str]] = []

    async def opened() -> bool:
        found[:] = (await client.get("/loans", params={"candidate_id": candidate})).json()
        return len(found) == 1

    await harness.eventually(opened)
    return found[0]["loan_id"]


async def _has(harness: Harness, event_type: type[Event], count: int) -> bool:
    return len(await harness.financing_messages(event_type)) >= count
