"""From CandidatePlaced and Departed on JetStream to a loan, its schedule, and the events."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import func, select

from jembatan_contracts import (
    CandidateWithdrawn,
    Event,
    LoanOpened,
    LoanWrittenOff,
    RepaymentScheduleFixed,
    Track,
    WithdrawalReason,
)
from jembatan_financing.adapters.orm import instalments, loans
from jembatan_kit.testing.journeys import departed, placed

Harness = Any  # the `harness` fixture of conftest.py: a FinancingHarness


async def test_a_placement_opens_a_loan_and_departure_fixes_its_schedule(
    harness: Harness,
) -> None:
    runtime = await harness.start()
    placement = placed(Track.SSW, contract_months=12)
    await harness.publish(placement)
    await harness.eventually(lambda: _has_messages(harness, LoanOpened, 1))

    [opened_message] = await harness.financing_messages(LoanOpened)
    opened = LoanOpened.model_validate_json(opened_message.data or b"")
    assert opened_message.subject == "jembatan.kaltim.financing.loan.opened.v1"
    assert opened_message.headers and opened_message.headers["Nats-Msg-Id"] == str(opened.event_id)
    assert (opened.agency, opened.journey_id) == ("kaltim", placement.journey_id)
    assert opened.placement_id == placement.placement_id
    assert opened.principal_idr == 30_000_000

    await harness.publish(departed(placement, date(2027, 1, 15)))
    await harness.eventually(lambda: _has_messages(harness, RepaymentScheduleFixed, 1))

    [fixed_message] = await harness.financing_messages(RepaymentScheduleFixed)
    fixed = RepaymentScheduleFixed.model_validate_json(fixed_message.data or b"")
    assert fixed.loan_id == opened.loan_id
    assert fixed.first_due_date == date(2027, 4, 15)
    assert fixed.instalments == 10  # a 12-month contract: months 3 to 12
    assert fixed.principal_idr == 30_000_000
    assert (fixed.agency, fixed.journey_id) == ("kaltim", placement.journey_id)

    async with runtime.sessions() as session:
        loan = (await session.execute(select(loans))).one()
        schedule = (await session.execute(select(instalments).order_by(instalments.c.number))).all()
    assert loan.status == "repaying"
    assert loan.repayment_channel == "own_transfer"
    assert loan.departure_date == date(2027, 1, 15)
    assert sum(item["amount_idr"] for item in loan.cost_items) == loan.principal_idr == 30_000_000
    assert [row.amount_idr for row in schedule] == [3_000_000] * 10
    assert schedule[-1].due_date == date(2028, 1, 15)
    assert all(row.announced_at is None and row.traceparent for row in schedule)


async def test_a_departure_that_arrives_first_waits_for_its_loan(harness: Harness) -> None:
    await harness.start()
    placement = placed(Track.TITP, contract_months=36)
    await harness.publish(departed(placement, date(2026, 11, 30)))
    await harness.publish(placement)
    await harness.eventually(lambda: _has_messages(harness, RepaymentScheduleFixed, 1))
    [message] = await harness.financing_messages(RepaymentScheduleFixed)
    fixed = RepaymentScheduleFixed.model_validate_json(message.data or b"")
    assert fixed.first_due_date == date(2027, 2, 28)
    assert fixed.instalments == 12
    assert fixed.principal_idr == 12_500_000


async def test_a_placement_announced_twice_opens_one_loan(harness: Harness) -> None:
    runtime = await harness.start()
    placement = placed()
    again = placement.model_copy(update={"event_id": uuid.uuid4()})
    departure = departed(placement, date(2027, 3, 1))
    for event in (
        placement,
        again,
        departure,
        departure.model_copy(update={"event_id": uuid.uuid4()}),
    ):
        await harness.publish(event)
    other = placed()
    await harness.publish(other)
    await harness.eventually(lambda: _has_messages(harness, LoanOpened, 2))
    await harness.eventually(lambda: _has_messages(harness, RepaymentScheduleFixed, 1))

    async with runtime.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(loans)) == 2
        assert await session.scalar(select(func.count()).select_from(instalments)) == 10
    assert len(await harness.financing_messages(LoanOpened)) == 2
    assert len(await harness.financing_messages(RepaymentScheduleFixed)) == 1


async def test_the_api_shows_the_itemised_costs_and_the_schedule(harness: Harness) -> None:
    runtime = await harness.start()
    placement = placed(Track.TITP, contract_months=36)
    await harness.publish(placement)
    await harness.publish(departed(placement, date(2027, 10, 31)))
    await harness.eventually(lambda: _has_messages(harness, RepaymentScheduleFixed, 1))

    async with harness.client(runtime) as client:
        listed = await client.get("/loans", params={"candidate_id": str(placement.candidate_id)})
        assert listed.status_code == 200
        [summary] = listed.json()
        assert summary["status"] == "repaying"
        assert summary["repayment_channel"] == "own_transfer"

        loan = (await client.get(f"/loans/{summary['loan_id']}")).json()
        assert [item["code"] for item in loan["cost_items"]] == [
            "training",
            "medical",
            "documents",
            "visa",
            "flight",
        ]
        assert sum(item["amount_idr"] for item in loan["cost_items"]) == loan["principal_idr"]
        assert sum(i["amount_idr"] for i in loan["schedule"]) == loan["principal_idr"]

        schedule = (await client.get(f"/loans/{summary['loan_id']}/schedule")).json()
        assert schedule == loan["schedule"]
        assert [i["due_date"] for i in schedule[:3]] == ["2028-01-31", "2028-02-29", "2028-03-31"]

        missing = await client.get(f"/loans/{uuid.uuid4()}/schedule")
        assert missing.status_code == 404
        assert missing.json()["error"] == "not_found"
        assert (await client.get("/loans", params={"candidate_id": str(uuid.uuid4())})).json() == []


async def _has_messages(harness: Harness, event_type: type[Event], count: int) -> bool:
    return len(await harness.financing_messages(event_type)) >= count


async def test_a_withdrawn_candidate_who_never_departed_owes_nothing(
    harness: Harness,
) -> None:
    """CandidateWithdrawn, published by registration, closes the loan of a candidate who has not
    departed; the funder's loss is on the loan and announced."""
    runtime = await harness.start()
    placement = placed(Track.TITP, contract_months=36)
    await harness.publish(placement)
    await harness.eventually(lambda: _has_messages(harness, LoanOpened, 1))
    await harness.publish(
        CandidateWithdrawn(
            agency=placement.agency,
            journey_id=placement.journey_id,
            candidate_id=placement.candidate_id,
            reason=WithdrawalReason.FAMILY,
            withdrawn_on=date(2026, 12, 1),
        )
    )
    await harness.eventually(lambda: _has_messages(harness, LoanWrittenOff, 1))

    [message] = await harness.financing_messages(LoanWrittenOff)
    loss = LoanWrittenOff.model_validate_json(message.data or b"")
    assert (loss.reason, loss.written_off_idr, loss.balance_idr) == (
        "never_departed",
        12_500_000,
        0,
    )
    async with harness.client(runtime) as client:
        [loan] = (
            await client.get("/loans", params={"candidate_id": str(placement.candidate_id)})
        ).json()
        details = (await client.get(f"/loans/{loan['loan_id']}")).json()
    assert (details["status"], details["closed_on"], details["balance_idr"]) == (
        "closed",
        "2026-12-01",
        0,
    )
    assert details["written_off_idr"] == 12_500_000
    assert details["write_offs"] == [
        {"amount_idr": 12_500_000, "reason": "never_departed", "written_off_on": "2026-12-01"}
    ]
