"""The read side: what a participant, their agency and their funder see of a loan, and of the
funders. The command handlers (`handlers.py`) answer ids; the endpoints show what they changed
from here."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from jembatan_kit.errors import NotFound, RuleViolation

from ..adapters.orm import (
    LOAN_WITHOUT_COSTS,
    funders,
    instalments,
    loans,
    payments,
    subsidies,
    write_offs,
)
from ..domain.guards import NO_INTEREST
from ..domain.model import (
    ArrearsBucket,
    InstalmentState,
    LoanStatus,
    LoanTerms,
    arrears_as_of,
    schedule_decision,
)


async def list_funders(session: AsyncSession) -> list[dict[str, Any]]:
    rows = (await session.execute(select(funders).order_by(funders.c.name))).all()
    return [_funder(row) for row in rows]


async def funder(session: AsyncSession, funder_id: uuid.UUID) -> dict[str, Any]:
    row = (await session.execute(select(funders).where(funders.c.id == funder_id))).first()
    if row is None:
        raise NotFound("funder", funder_id)
    return _funder(row)


async def loan_agency(session: AsyncSession, loan_id: uuid.UUID) -> str | None:
    """The agency whose candidate's loan this is; None for no such loan."""
    return await session.scalar(select(loans.c.agency).where(loans.c.id == loan_id))


async def list_loans(
    session: AsyncSession,
    today: date,
    candidate_id: uuid.UUID | None = None,
    funder_id: uuid.UUID | None = None,
    bucket: ArrearsBucket | None = None,
    agency: str | None = None,
    status: LoanStatus | None = None,
) -> list[dict[str, Any]]:
    if candidate_id is None and funder_id is None and bucket is None and status is None:
        raise RuleViolation(
            "loan_filter",
            "say which loans: by candidate_id, funder_id, arrears bucket or status "
            "(status=needs_decision: the loans waiting for an operator's decision)",
        )
    query = select(*LOAN_WITHOUT_COSTS).order_by(loans.c.opened_at, loans.c.id)
    if agency is not None:
        query = query.where(loans.c.agency == agency)
    if status is not None:
        query = query.where(loans.c.status == status.value)
    if candidate_id is not None:
        query = query.where(loans.c.candidate_id == candidate_id)
    if funder_id is not None:
        query = query.where(loans.c.funder_id == funder_id)
    rows = (await session.execute(query)).all()
    schedules = await _schedules(session, [row.id for row in rows])
    summaries = [_summary(row, schedules[row.id], today) for row in rows]
    if bucket is None:
        return summaries
    return [s for s in summaries if s["status"] != LoanStatus.SETTLED and s["bucket"] == bucket]


async def loan_details(
    session: AsyncSession, loan_id: uuid.UUID, today: date, terms: LoanTerms
) -> dict[str, Any]:
    row = await _loan(session, loan_id)
    schedule_rows = await _schedule_rows(session, loan_id)
    subsidy_rows = await _subsidies(session, loan_id)
    write_off_rows = await _write_offs(session, loan_id)
    payment_rows = await _payments(session, loan_id)
    written_off = sum(w.amount_idr for w in write_off_rows)
    owed = row.principal_idr - sum(s.amount_idr for s in subsidy_rows) - written_off
    paid = sum(p.amount_idr for p in payment_rows)
    return {
        **_summary(row, _states(schedule_rows), today),
        "cost_items": [
            {
                "code": item["code"],
                "description": item["description"],
                "amount_idr": item["amount_idr"],
                "charged_on": date.fromisoformat(item["charged_on"])
                if item["charged_on"]
                else None,
            }
            for item in row.cost_items
        ],
        "subsidies": [_subsidy(s) for s in subsidy_rows],
        "write_offs": [_write_off(w) for w in write_off_rows],
        "payments": [payment_view(p) for p in payment_rows],
        "written_off_idr": written_off,
        "owed_idr": owed,
        "paid_idr": paid,
        "balance_idr": max(owed - paid, 0),
        "refund_due_idr": row.refund_due_idr,
        "schedule": [_instalment(i) for i in schedule_rows],
        "decision": _decision(row, owed - paid, terms, today),
    }


def _decision(row: Any, balance_idr: int, terms: LoanTerms, today: date) -> dict[str, Any] | None:
    """For a loan that needs a decision: how far the longest schedule within the contract is
    from the cap, as of today, and the ways out."""
    if row.status != LoanStatus.NEEDS_DECISION:
        return None
    cap = terms.cap_for(row.monthly_wage_jpy, today)
    standing = schedule_decision(balance_idr, row.departure_date, row.contract_months, cap, today)
    loan = f"/loans/{row.id}"
    return {
        "reason": "instalment_above_affordability_cap",
        "owed_idr": balance_idr,
        "monthly_wage_jpy": row.monthly_wage_jpy,
        "instalment_cap_idr": cap.amount_idr,
        "share_of_wage_percent": cap.share_percent,
        "first_due_date": standing.first_due_date,
        "contract_end": standing.contract_end,
        "instalments_within_contract": standing.instalments,
        "smallest_instalment_idr": standing.smallest_instalment_idr,
        "shortfall_idr": standing.shortfall_idr,
        "ways_out": [
            {
                "way": "schedule",
                "request": f"POST {loan}/schedule",
                "says": "a schedule within the contract: from the first due date, monthly, "
                "each instalment within the cap (once the shortfall is taken off)",
            },
            {
                "way": "subsidy",
                "request": f"POST {loan}/subsidies",
                "says": "a subsidy taking the shortfall off what the participant owes",
            },
            {
                "way": "write_off",
                "request": f"POST {loan}/write-offs",
                "says": "the funder writes off the shortfall (the default) or more: its loss",
            },
        ],
    }


async def schedule_of(session: AsyncSession, loan_id: uuid.UUID) -> list[dict[str, Any]]:
    await _loan(session, loan_id)
    return [_instalment(row) for row in await _schedule_rows(session, loan_id)]


async def statement(
    session: AsyncSession, loan_id: uuid.UUID, today: date, terms: LoanTerms
) -> dict[str, Any]:
    """Every charge, subsidy and payment and the balance, with the itemised fee disclosure in
    rupiah and yen that a Japanese supervising organisation asks for."""
    details = await loan_details(session, loan_id, today, terms)
    rate = terms.dated.exchange_rate_on(today)
    funder = None
    if details["funder_id"] is not None:
        funder_row = (
            await session.execute(select(funders).where(funders.c.id == details["funder_id"]))
        ).first()
        funder = funder_row.name if funder_row else None
    charges = [
        {**item, "amount_jpy": rate.to_jpy(item["amount_idr"])} for item in details["cost_items"]
    ]
    return {
        "loan_id": details["loan_id"],
        "candidate_id": details["candidate_id"],
        "track": details["track"],
        "status": details["status"],
        "funder": funder,
        "as_of": today,
        "departure_date": details["departure_date"],
        "repayment_channel": details["repayment_channel"],
        "exchange_rate": {
            "idr_per_jpy": str(rate.idr_per_jpy),
            "rate_date": rate.valid_from,
            "source": rate.source,
        },
        "charges": charges,
        "subsidies": [
            {**s, "amount_jpy": rate.to_jpy(s["amount_idr"])} for s in details["subsidies"]
        ],
        "payments": details["payments"],
        "write_offs": details["write_offs"],
        "totals": {
            "charges_idr": details["principal_idr"],
            "subsidies_idr": sum(s["amount_idr"] for s in details["subsidies"]),
            "written_off_idr": details["written_off_idr"],
            "owed_idr": details["owed_idr"],
            "paid_idr": details["paid_idr"],
            "balance_idr": details["balance_idr"],
            "refund_due_idr": details["refund_due_idr"],
            "charges_jpy": sum(c["amount_jpy"] for c in charges),
        },
        "arrears": details["arrears"],
        "schedule": details["schedule"],
        "interest": {"rate_percent": 0, "statement": NO_INTEREST},
    }


async def payment(session: AsyncSession, payment_id: uuid.UUID) -> dict[str, Any]:
    row = (await session.execute(select(payments).where(payments.c.id == payment_id))).first()
    if row is None:
        raise NotFound("payment", payment_id)
    return payment_view(row)


def payment_view(row: Any) -> dict[str, Any]:
    return {
        "payment_id": row.id,
        "reference": row.reference,
        "paid_on": row.paid_on,
        "amount_idr": row.amount_idr,
        "channel": row.channel,
        "instalment_numbers": [int(n) for n in row.instalment_numbers.split(",") if n],
    }


def _summary(row: Any, schedule: list[InstalmentState], today: date) -> dict[str, Any]:
    # A paused loan accrues no arrears after the return date.
    as_of = min(today, row.paused_on) if row.status == LoanStatus.PAUSED else today
    arrears = arrears_as_of(schedule, as_of)
    return {
        "loan_id": row.id,
        "placement_id": row.placement_id,
        "candidate_id": row.candidate_id,
        "funder_id": row.funder_id,
        "agency": row.agency,
        "journey_id": row.journey_id,
        "track": row.track,
        "status": row.status,
        "principal_idr": row.principal_idr,
        "repayment_channel": row.repayment_channel,
        "channel": row.channel,
        "contract_months": row.contract_months,
        "monthly_wage_jpy": row.monthly_wage_jpy,
        "opened_at": row.opened_at,
        "departure_date": row.departure_date,
        "paused_on": row.paused_on,
        "closed_on": row.closed_on,
        "bucket": arrears.bucket,
        "arrears": {
            "as_of": as_of,
            "amount_idr": arrears.amount_idr,
            "days_past_due": arrears.days_past_due,
            "bucket": arrears.bucket,
        },
    }


def _funder(row: Any) -> dict[str, Any]:
    return {"funder_id": row.id, "name": row.name, "created_at": row.created_at}


def _subsidy(row: Any) -> dict[str, Any]:
    return {
        "provider": row.provider,
        "item": row.item,
        "amount_idr": row.amount_idr,
        "granted_on": row.granted_on,
    }


def _write_off(row: Any) -> dict[str, Any]:
    return {
        "amount_idr": row.amount_idr,
        "reason": row.reason,
        "written_off_on": row.written_off_on,
    }


def _instalment(row: Any) -> dict[str, Any]:
    return {
        "number": row.number,
        "due_date": row.due_date,
        "amount_idr": row.amount_idr,
        "paid_idr": row.paid_idr,
        "announced_at": row.announced_at,
        "superseded": row.superseded_at is not None,
    }


def _states(rows: list[Any]) -> list[InstalmentState]:
    return [
        InstalmentState(r.number, r.due_date, r.amount_idr, r.paid_idr)
        for r in rows
        if r.superseded_at is None
    ]


async def _loan(session: AsyncSession, loan_id: uuid.UUID) -> Any:
    row = (await session.execute(select(loans).where(loans.c.id == loan_id))).first()
    if row is None:
        raise NotFound("loan", loan_id)
    return row


async def _schedules(
    session: AsyncSession, loan_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[InstalmentState]]:
    by_loan: dict[uuid.UUID, list[Any]] = defaultdict(list)
    if loan_ids:
        rows = await session.execute(
            select(instalments)
            .where(instalments.c.loan_id.in_(loan_ids))
            .order_by(instalments.c.number)
        )
        for row in rows:
            by_loan[row.loan_id].append(row)
    return {loan_id: _states(by_loan[loan_id]) for loan_id in loan_ids}


async def _schedule_rows(session: AsyncSession, loan_id: uuid.UUID) -> list[Any]:
    rows = await session.execute(
        select(instalments).where(instalments.c.loan_id == loan_id).order_by(instalments.c.number)
    )
    return list(rows.all())


async def _subsidies(session: AsyncSession, loan_id: uuid.UUID) -> list[Any]:
    rows = await session.execute(
        select(subsidies)
        .where(subsidies.c.loan_id == loan_id)
        .order_by(subsidies.c.granted_on, subsidies.c.id)
    )
    return list(rows.all())


async def _write_offs(session: AsyncSession, loan_id: uuid.UUID) -> list[Any]:
    rows = await session.execute(
        select(write_offs)
        .where(write_offs.c.loan_id == loan_id)
        .order_by(write_offs.c.recorded_at, write_offs.c.id)
    )
    return list(rows.all())


async def _payments(session: AsyncSession, loan_id: uuid.UUID) -> list[Any]:
    rows = await session.execute(
        select(payments)
        .where(payments.c.loan_id == loan_id)
        .order_by(payments.c.paid_on, payments.c.recorded_at)
    )
    return list(rows.all())
