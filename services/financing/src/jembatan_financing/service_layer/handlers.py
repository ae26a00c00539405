"""Financing use cases. Each runs in one transaction together with the events it stages."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from opentelemetry.trace import SpanKind
from sqlalchemy import Row, bindparam, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jembatan_contracts import (
    CandidatePlaced,
    Departed,
    EarlyReturned,
    LoanOpened,
    LoanRestructured,
    LoanSettled,
    PaymentRecorded,
    RepaymentDue,
    RepaymentScheduleFixed,
    Track,
)
from jembatan_kit.clock import Clock
from jembatan_kit.consumer import RetryLater, Unprocessable
from jembatan_kit.errors import Conflict, NotFound, RuleViolation
from jembatan_kit.outbox import add_to_outbox, insert_outbox_rows, outbox_rows
from jembatan_kit.telemetry import (
    context_from_traceparent,
    creation_attributes,
    current_traceparent,
    tracer,
)

from ..adapters.orm import (
    cost_items,
    funders,
    instalments,
    loans,
    payments,
    restructurings,
    subsidies,
)
from ..domain.costs import CostItem
from ..domain.guards import (
    check_cost_items,
    refuse_salary_deduction,
    refuse_subsidy_above_charges,
)
from ..domain.model import (
    Instalment,
    InstalmentState,
    LoanStatus,
    LoanTerms,
    RepaymentChannel,
    allocate_payment,
    event_id_for,
    funder_id_for,
    instalment_id_for,
    loan_id_for,
    payment_id_for,
    principal_of,
    repayment_schedule,
    restructured_schedule,
)


async def create_funder(session: AsyncSession, name: str, clock: Clock) -> Row[Any]:
    funder_id = funder_id_for(name)
    if await session.scalar(select(funders.c.id).where(funders.c.id == funder_id)) is not None:
        raise Conflict("funder_exists", f"a funder named {name!r} is already recorded")
    await session.execute(insert(funders).values(id=funder_id, name=name, created_at=clock.now()))
    return (await session.execute(select(funders).where(funders.c.id == funder_id))).one()


async def _default_funder(session: AsyncSession, name: str, clock: Clock) -> uuid.UUID:
    funder_id = funder_id_for(name)
    if await session.scalar(select(funders.c.id).where(funders.c.id == funder_id)) is None:
        await create_funder(session, name, clock)
    return funder_id


async def on_candidate_placed(
    session: AsyncSession,
    event: CandidatePlaced,
    *,
    terms: LoanTerms,
    clock: Clock,
    default_funder: str = "Dana Talangan Kemnaker",
) -> None:
    """Open the placement's loan, fronted by the default funder, with the itemised default costs
    of its track in force on the day the contract was signed."""
    await on_candidates_placed(
        session, [event], terms=terms, clock=clock, default_funder=default_funder
    )


async def on_candidates_placed(
    session: AsyncSession,
    events: list[CandidatePlaced],
    *,
    terms: LoanTerms,
    clock: Clock,
    default_funder: str = "Dana Talangan Kemnaker",
) -> None:
    """`on_candidate_placed` for a batch: one query for the loans already open, then the new
    loans, their cost items and their LoanOpened events each inserted together."""
    opened = set(
        await session.scalars(
            select(loans.c.placement_id).where(
                loans.c.placement_id.in_([event.placement_id for event in events])
            )
        )
    )
    loan_rows: list[dict[str, Any]] = []
    item_rows: list[dict[str, Any]] = []
    announcements: list[LoanOpened] = []
    for event in events:
        if event.placement_id in opened:
            continue
        opened.add(event.placement_id)
        opened_on = event.contract_signed_on or clock.today()
        try:
            items = terms.costs_for(event.track, opened_on)
        except RuleViolation as exc:
            raise Unprocessable(str(exc)) from exc
        loan_id = loan_id_for(event.placement_id)
        principal = principal_of(items)
        loan_rows.append(
            {
                "id": loan_id,
                "placement_id": event.placement_id,
                "candidate_id": event.candidate_id,
                "agency": event.agency,
                "journey_id": event.journey_id,
                "track": event.track.value,
                "contract_months": event.contract_months,
                "principal_idr": principal,
                "repayment_channel": RepaymentChannel.OWN_TRANSFER.value,
                "status": LoanStatus.OPEN.value,
                "opened_at": clock.now(),
                "monthly_wage_jpy": event.monthly_wage_jpy,
            }
        )
        item_rows += [
            {
                "loan_id": loan_id,
                "position": position,
                "code": item.code,
                "description": item.description,
                "amount_idr": item.amount_idr,
                "charged_on": opened_on,
            }
            for position, item in enumerate(items, start=1)
        ]
        announcements.append(
            LoanOpened(
                event_id=event_id_for("loan-opened", loan_id),
                agency=event.agency,
                journey_id=event.journey_id,
                loan_id=loan_id,
                candidate_id=event.candidate_id,
                placement_id=event.placement_id,
                principal_idr=principal,
            )
        )
    if not loan_rows:
        return
    funder_id = await _default_funder(session, default_funder, clock)
    await session.execute(insert(loans), [row | {"funder_id": funder_id} for row in loan_rows])
    await session.execute(insert(cost_items), item_rows)
    await add_to_outbox(session, *announcements)


async def on_departed(
    session: AsyncSession, event: Departed, *, terms: LoanTerms, clock: Clock
) -> None:
    """Fix the repayment schedule from the departure date. Also the consumer's fallback, one
    message at a time, when a batch handled with `on_departures` did not fully succeed."""
    await on_departures(session, [event], terms=terms, clock=clock)


async def on_departures(
    session: AsyncSession, events: list[Departed], *, terms: LoanTerms, clock: Clock
) -> None:
    """`on_departed` for a batch: one query for the loans (with what is subsidised on each),
    then the instalments, the RepaymentScheduleFixed events and the loans' updates each done
    together.

    A departure whose placement has no loan yet (its CandidatePlaced has not been handled)
    raises RetryLater, as the single handler does, before anything is written: the two events
    travel on one stream but through two durables, so a departure may well come first. One that
    never finds its loan opens nothing and is dead-lettered once its attempts are spent. A
    departure whose agency, journey or candidate is not its loan's is forged (placement never
    publishes it so): Unprocessable at once (`journey_problem`). In a batch that
    rolls the batch back and the consumer handles it again message by message with
    `on_departed`, so only that departure waits and is redelivered; the others are fixed then.
    Skipping it here instead would be wrong: the consumer records every event handed to a batch
    handler as processed. Likewise a schedule that breaks a protective rule raises
    Unprocessable, and alone it is dead-lettered. A loan whose schedule is already fixed, or
    fixed by an earlier departure of the same batch, is left alone.

    Each instalment keeps the traceparent of the RepaymentScheduleFixed staged for its
    departure's message, so the scheduler's RepaymentDue continues that message's trace.
    """
    subsidised = (
        select(func.coalesce(func.sum(subsidies.c.amount_idr), 0))
        .where(subsidies.c.loan_id == loans.c.id)
        .scalar_subquery()
    )
    found = {
        loan.placement_id: loan
        for loan in await session.execute(
            select(
                loans.c.id,
                loans.c.placement_id,
                loans.c.candidate_id,
                loans.c.agency,
                loans.c.journey_id,
                loans.c.status,
                loans.c.principal_idr,
                subsidised.label("subsidised_idr"),
            ).where(loans.c.placement_id.in_({event.placement_id for event in events}))
        )
    }
    for event in events:
        if event.placement_id not in found:
            raise RetryLater(
                f"placement {event.placement_id} has no loan yet (CandidatePlaced first)"
            )
        if problem := journey_problem(found[event.placement_id], event):
            raise Unprocessable(problem)
    fixed: set[uuid.UUID] = set()
    instalment_rows: list[dict[str, Any]] = []
    staged: list[dict[str, Any]] = []
    loan_updates: list[dict[str, Any]] = []
    for event in events:
        loan = found[event.placement_id]
        if loan.status != LoanStatus.OPEN or loan.id in fixed:
            continue
        fixed.add(loan.id)
        owed = loan.principal_idr - int(loan.subsidised_idr or 0)
        try:
            schedule = repayment_schedule(
                owed,
                event.departure_date,
                event.contract_months,
                terms.max_instalments,
                terms.cap_for(event.monthly_wage_jpy, clock.today()),
            )
        except RuleViolation as exc:
            raise Unprocessable(str(exc)) from exc
        [row] = outbox_rows(
            RepaymentScheduleFixed(
                event_id=event_id_for("schedule-fixed", loan.id),
                agency=event.agency,
                journey_id=event.journey_id,
                loan_id=loan.id,
                candidate_id=loan.candidate_id,
                first_due_date=schedule[0].due_date,
                instalments=len(schedule),
                principal_idr=owed,
            )
        )
        staged.append(row)
        # The scheduler announces each instalment months from now; it continues the trace of
        # this departure's message, as the event staged for it does.
        instalment_rows += _instalment_rows(loan.id, schedule, row["traceparent"])
        loan_updates.append(
            {
                "loan_id": loan.id,
                "status": LoanStatus.REPAYING.value,
                "departure_date": event.departure_date,
                "contract_months": event.contract_months,
                "monthly_wage_jpy": event.monthly_wage_jpy,
                "schedule_fixed_at": clock.now(),
            }
        )
    if not loan_updates:
        return
    await session.execute(insert(instalments), instalment_rows)
    await insert_outbox_rows(session, staged)
    await session.execute(update(loans).where(loans.c.id == bindparam("loan_id")), loan_updates)


def _instalment_rows(
    loan_id: uuid.UUID, schedule: Sequence[Instalment], traceparent: str | None
) -> list[dict[str, Any]]:
    return [
        {
            "id": instalment_id_for(loan_id, instalment.number),
            "loan_id": loan_id,
            "number": instalment.number,
            "due_date": instalment.due_date,
            "amount_idr": instalment.amount_idr,
            "traceparent": traceparent,
        }
        for instalment in schedule
    ]


async def _insert_instalments(
    session: AsyncSession, loan_id: uuid.UUID, schedule: Sequence[Instalment]
) -> None:
    # The scheduler announces each instalment months from now; it continues this trace.
    await session.execute(
        insert(instalments), _instalment_rows(loan_id, schedule, current_traceparent())
    )


async def announce_due_instalments(
    session_factory: async_sessionmaker[AsyncSession], clock: Clock, batch_size: int = 200
) -> int:
    """Stage one RepaymentDue for every instalment due by today that was not yet announced.

    Safe to run in several scheduler instances against one database: each instalment is claimed
    by a conditional update, and only the instance whose update changed the row stages the event.
    Returns how many this call announced.
    """
    announced = 0
    while True:
        due = await _unannounced_due(session_factory, clock, batch_size)
        if due:
            announced += await _announce(session_factory, due, clock.now())
        if len(due) < batch_size:
            return announced


async def _unannounced_due(
    session_factory: async_sessionmaker[AsyncSession], clock: Clock, limit: int
) -> list[Row[Any]]:
    async with session_factory() as session:
        result = await session.execute(
            select(
                instalments,
                loans.c.candidate_id,
                loans.c.agency,
                loans.c.journey_id,
            )
            .join(loans, loans.c.id == instalments.c.loan_id)
            .where(
                instalments.c.due_date <= clock.today(),
                instalments.c.announced_at.is_(None),
                instalments.c.superseded_at.is_(None),
                instalments.c.paid_idr < instalments.c.amount_idr,
                # A paused loan announces nothing until it is restructured.
                loans.c.status == LoanStatus.REPAYING.value,
            )
            .order_by(instalments.c.due_date, instalments.c.id)
            .limit(limit)
        )
        return list(result.all())


async def _announce(
    session_factory: async_sessionmaker[AsyncSession], due: list[Row[Any]], now: datetime
) -> int:
    """Claim the instalments in one conditional update and stage a RepaymentDue for each one
    this update claimed, in one transaction. Returns how many were claimed."""
    async with session_factory() as session, session.begin():
        claimed = set(
            (
                await session.execute(
                    update(instalments)
                    .where(
                        instalments.c.id.in_([instalment.id for instalment in due]),
                        instalments.c.announced_at.is_(None),
                        instalments.c.superseded_at.is_(None),
                    )
                    .values(announced_at=now)
                    .returning(instalments.c.id)
                )
            ).scalars()
        )
        rows = []
        for instalment in due:
            with tracer().start_as_current_span(
                "announce RepaymentDue",
                context=context_from_traceparent(instalment.traceparent),
                kind=SpanKind.INTERNAL,
                attributes={
                    "jembatan.agency": instalment.agency,
                    "jembatan.journey_id": str(instalment.journey_id),
                    "jembatan.loan_id": str(instalment.loan_id),
                    "jembatan.instalment_number": instalment.number,
                    **creation_attributes(RepaymentDue.name),
                },
            ) as span:
                if instalment.id not in claimed:
                    span.set_attribute("jembatan.announced_elsewhere", True)
                    continue
                rows += outbox_rows(
                    RepaymentDue(
                        event_id=event_id_for("repayment-due", instalment.id),
                        occurred_at=now,
                        agency=instalment.agency,
                        journey_id=instalment.journey_id,
                        loan_id=instalment.loan_id,
                        candidate_id=instalment.candidate_id,
                        instalment_number=instalment.number,
                        due_date=instalment.due_date,
                        # What is still owed on it: credit from an earlier over-payment counts.
                        amount_idr=instalment.amount_idr - instalment.paid_idr,
                    )
                )
        await insert_outbox_rows(session, rows)
    return len(claimed)


def journey_problem(loan: Any, event: Departed | EarlyReturned) -> str | None:
    """Why an event about a placement's `loan` (a row with its agency, journey and candidate)
    cannot be the journey financing holds, or None.

    Placement publishes a placement's events with the agency, journey and candidate of its
    CandidatePlaced, which opened the loan; an event that names the placement but another of
    them was not published so (forged, or broken), and waiting will not change it."""
    for what, held, claimed in (
        ("agency", loan.agency, event.agency),
        ("journey", loan.journey_id, event.journey_id),
        ("candidate", loan.candidate_id, event.candidate_id),
    ):
        if held != claimed:
            return (
                f"journey_mismatch: {event.event_type} of placement {event.placement_id} names"
                f" {what} {claimed} but its loan (opened on CandidatePlaced) has {what} {held};"
                " a forged or broken event, not handled"
            )
    return None


async def _loan_of_placement(session: AsyncSession, placement_id: uuid.UUID) -> Row[Any] | None:
    result = await session.execute(select(loans).where(loans.c.placement_id == placement_id))
    return result.first()


# --- costs and subsidies, while the schedule is not yet fixed --------------------------------


async def add_cost_item(
    session: AsyncSession, loan_id: uuid.UUID, item: CostItem, *, terms: LoanTerms, clock: Clock
) -> None:
    loan = await _open_loan(session, loan_id)
    current = await _cost_items(session, loan_id)
    await _check_costs(session, loan, [*current, item], terms, clock)
    position = await session.scalar(
        select(func.coalesce(func.max(cost_items.c.position), 0)).where(
            cost_items.c.loan_id == loan_id
        )
    )
    await session.execute(
        insert(cost_items).values(
            loan_id=loan_id,
            position=int(position or 0) + 1,
            code=item.code,
            description=item.description,
            amount_idr=item.amount_idr,
            charged_on=clock.today(),
        )
    )
    await _set_principal(session, loan_id, principal_of([*current, item]))


async def remove_cost_item(
    session: AsyncSession, loan_id: uuid.UUID, code: str, *, terms: LoanTerms, clock: Clock
) -> None:
    loan = await _open_loan(session, loan_id)
    current = await _cost_items(session, loan_id)
    if code not in {item.code for item in current}:
        raise NotFound("cost item", code)
    remaining = [item for item in current if item.code != code]
    await _check_costs(session, loan, remaining, terms, clock)
    await session.execute(
        delete(cost_items).where(cost_items.c.loan_id == loan_id, cost_items.c.code == code)
    )
    await _set_principal(session, loan_id, principal_of(remaining))


async def add_subsidy(
    session: AsyncSession,
    loan_id: uuid.UUID,
    provider: str,
    item: str,
    amount_idr: int,
    *,
    clock: Clock,
) -> uuid.UUID:
    """A subsidy (e.g. Kemnaker-funded BLK training, a cooperative's education subsidy) reduces
    what the participant owes; it is recorded before the schedule is fixed."""
    loan = await _open_loan(session, loan_id)
    refuse_subsidy_above_charges(
        await _subsidised(session, loan_id) + amount_idr, loan.principal_idr
    )
    subsidy_id = uuid.uuid4()
    await session.execute(
        insert(subsidies).values(
            id=subsidy_id,
            loan_id=loan_id,
            provider=provider,
            item=item,
            amount_idr=amount_idr,
            granted_on=clock.today(),
        )
    )
    return subsidy_id


async def _check_costs(
    session: AsyncSession, loan: Row[Any], items: list[CostItem], terms: LoanTerms, clock: Clock
) -> None:
    check_cost_items(
        items,
        f"loan {loan.id}",
        Track(loan.track),
        terms.dated.ssw_employer_borne_on(clock.today()),
    )
    refuse_subsidy_above_charges(await _subsidised(session, loan.id), principal_of(items))


async def _cost_items(session: AsyncSession, loan_id: uuid.UUID) -> list[CostItem]:
    rows = await session.execute(
        select(cost_items).where(cost_items.c.loan_id == loan_id).order_by(cost_items.c.position)
    )
    return [CostItem(row.code, row.description, row.amount_idr) for row in rows]


async def _set_principal(session: AsyncSession, loan_id: uuid.UUID, principal: int) -> None:
    await session.execute(
        update(loans).where(loans.c.id == loan_id).values(principal_idr=principal)
    )


async def _open_loan(session: AsyncSession, loan_id: uuid.UUID) -> Row[Any]:
    loan = await _loan(session, loan_id)
    if loan.status != LoanStatus.OPEN:
        raise Conflict(
            "schedule_fixed",
            f"loan {loan_id} is {loan.status}: costs and subsidies change only before the "
            "repayment schedule is fixed",
        )
    return loan


# --- payments --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordedPayment:
    payment: Row[Any]
    created: bool


async def record_payment(
    session: AsyncSession,
    loan_id: uuid.UUID,
    *,
    reference: str,
    paid_on: date,
    amount_idr: int,
    channel: str,
    clock: Clock,
) -> RecordedPayment:
    """Record the participant's own transfer. The same reference is the same payment: recorded
    once, and a repeat returns the first record."""
    refuse_salary_deduction(channel)
    loan = await _loan(session, loan_id, for_update=True)
    payment_id = payment_id_for(loan_id, reference)
    earlier = await _payment(session, payment_id)
    if earlier is not None:
        if (earlier.amount_idr, earlier.paid_on) != (amount_idr, paid_on):
            raise Conflict(
                "payment_reference_reused",
                f"reference {reference!r} was recorded as Rp{earlier.amount_idr:,} paid on "
                f"{earlier.paid_on.isoformat()}; a different transfer needs its own reference",
            )
        return RecordedPayment(earlier, created=False)
    if loan.status == LoanStatus.OPEN:
        raise Conflict("no_schedule_yet", f"loan {loan_id} has no repayment schedule yet")
    if loan.status == LoanStatus.SETTLED:
        raise Conflict("loan_settled", f"loan {loan_id} is settled; nothing is owed")

    schedule = await _active_schedule(session, loan_id)
    applied, _credit = allocate_payment(schedule, amount_idr)
    for number, amount in applied:
        await session.execute(
            update(instalments)
            .where(instalments.c.loan_id == loan_id, instalments.c.number == number)
            .values(paid_idr=instalments.c.paid_idr + amount)
        )
    numbers = [number for number, _ in applied]
    await session.execute(
        insert(payments).values(
            id=payment_id,
            loan_id=loan_id,
            reference=reference,
            paid_on=paid_on,
            amount_idr=amount_idr,
            channel=channel,
            instalment_numbers=",".join(str(n) for n in numbers),
            recorded_at=clock.now(),
        )
    )
    balance = await balance_of(session, loan)
    await add_to_outbox(
        session,
        PaymentRecorded(
            event_id=event_id_for("payment-recorded", payment_id),
            agency=loan.agency,
            journey_id=loan.journey_id,
            loan_id=loan_id,
            candidate_id=loan.candidate_id,
            payment_id=payment_id,
            paid_on=paid_on,
            amount_idr=amount_idr,
            instalment_numbers=numbers,
            balance_idr=max(balance, 0),
        ),
    )
    if balance <= 0:
        await _settle(session, loan, paid_on, refund_due=-balance, clock=clock)
    recorded = await _payment(session, payment_id)
    assert recorded is not None
    return RecordedPayment(recorded, created=True)


async def _settle(
    session: AsyncSession, loan: Row[Any], settled_on: date, refund_due: int, clock: Clock
) -> None:
    """Nothing is owed any more; an over-payment beyond the balance is refunded."""
    await session.execute(
        update(loans)
        .where(loans.c.id == loan.id)
        .values(status=LoanStatus.SETTLED.value, settled_at=clock.now(), refund_due_idr=refund_due)
    )
    await add_to_outbox(
        session,
        LoanSettled(
            event_id=event_id_for("loan-settled", loan.id),
            agency=loan.agency,
            journey_id=loan.journey_id,
            loan_id=loan.id,
            candidate_id=loan.candidate_id,
            settled_on=settled_on,
            paid_idr=await _paid(session, loan.id),
            refund_due_idr=refund_due,
        ),
    )


async def balance_of(session: AsyncSession, loan: Row[Any]) -> int:
    """Charges less subsidies less payments; below zero is an over-payment."""
    return loan.principal_idr - await _subsidised(session, loan.id) - await _paid(session, loan.id)


# --- early return and restructuring ----------------------------------------------------------


async def pause_for_early_return(
    session: AsyncSession, loan: Row[Any], return_date: date, reason: str, clock: Clock
) -> bool:
    """Pause the schedule (nothing more falls due) and open a restructuring of the balance.
    Returns False if there was nothing to pause (already paused, or settled)."""
    if loan.status == LoanStatus.OPEN:
        raise Conflict("not_departed", f"loan {loan.id} has no schedule to pause yet")
    if loan.status != LoanStatus.REPAYING:
        return False
    await session.execute(
        update(loans)
        .where(loans.c.id == loan.id)
        .values(status=LoanStatus.PAUSED.value, paused_on=return_date)
    )
    await session.execute(
        insert(restructurings).values(
            id=event_id_for(f"restructuring/{return_date.isoformat()}", loan.id),
            loan_id=loan.id,
            return_date=return_date,
            reason=reason,
            opened_at=clock.now(),
        )
    )
    return True


async def on_early_returned(session: AsyncSession, event: EarlyReturned, *, clock: Clock) -> None:
    loan = await _loan_of_placement(session, event.placement_id)
    if loan is not None and (problem := journey_problem(loan, event)):
        raise Unprocessable(problem)
    if loan is None or loan.status == LoanStatus.OPEN:
        raise RetryLater(f"placement {event.placement_id} has no repayment schedule yet")
    await pause_for_early_return(session, loan, event.return_date, event.reason.value, clock)


async def restructure(
    session: AsyncSession,
    loan_id: uuid.UUID,
    *,
    first_due_date: date,
    instalment_count: int,
    terms: LoanTerms,
    clock: Clock,
) -> tuple[Instalment, ...]:
    """A new schedule for the remaining balance from the chosen date; the unpaid instalments of
    the old schedule are superseded. The protective rules apply as to any schedule."""
    loan = await _loan(session, loan_id, for_update=True)
    opened = (
        await session.execute(
            select(restructurings).where(
                restructurings.c.loan_id == loan_id, restructurings.c.decided_at.is_(None)
            )
        )
    ).first()
    if loan.status != LoanStatus.PAUSED or opened is None:
        raise Conflict(
            "no_open_restructuring",
            f"loan {loan_id} is {loan.status}: only a loan paused by an early return is "
            "restructured",
        )
    if first_due_date < clock.today():
        raise RuleViolation(
            "first_due_in_the_past",
            f"the new schedule must start today ({clock.today().isoformat()}) or later",
        )
    cap = terms.cap_for(loan.monthly_wage_jpy, clock.today()) if loan.monthly_wage_jpy else None
    next_number = int(
        await session.scalar(
            select(func.max(instalments.c.number)).where(instalments.c.loan_id == loan_id)
        )
        or 0
    )
    schedule = restructured_schedule(
        await balance_of(session, loan),
        loan.departure_date,
        first_due_date,
        instalment_count,
        next_number + 1,
        cap,
    )
    now = clock.now()
    await session.execute(
        update(instalments)
        .where(
            instalments.c.loan_id == loan_id,
            instalments.c.superseded_at.is_(None),
            instalments.c.paid_idr < instalments.c.amount_idr,
        )
        .values(superseded_at=now)
    )
    await _insert_instalments(session, loan_id, schedule)
    await session.execute(
        update(restructurings)
        .where(restructurings.c.id == opened.id)
        .values(first_due_date=first_due_date, instalments=len(schedule), decided_at=now)
    )
    await session.execute(
        update(loans).where(loans.c.id == loan_id).values(status=LoanStatus.REPAYING.value)
    )
    await add_to_outbox(
        session,
        LoanRestructured(
            event_id=event_id_for("loan-restructured", opened.id),
            agency=loan.agency,
            journey_id=loan.journey_id,
            loan_id=loan_id,
            candidate_id=loan.candidate_id,
            first_due_date=first_due_date,
            instalments=len(schedule),
            balance_idr=sum(i.amount_idr for i in schedule),
        ),
    )
    return schedule


# --- queries the use cases share -------------------------------------------------------------


async def _loan(session: AsyncSession, loan_id: uuid.UUID, for_update: bool = False) -> Row[Any]:
    query = select(loans).where(loans.c.id == loan_id)
    loan = (await session.execute(query.with_for_update() if for_update else query)).first()
    if loan is None:
        raise NotFound("loan", loan_id)
    return loan


async def _payment(session: AsyncSession, payment_id: uuid.UUID) -> Row[Any] | None:
    return (await session.execute(select(payments).where(payments.c.id == payment_id))).first()


async def _active_schedule(session: AsyncSession, loan_id: uuid.UUID) -> list[InstalmentState]:
    rows = await session.execute(
        select(instalments)
        .where(instalments.c.loan_id == loan_id, instalments.c.superseded_at.is_(None))
        .order_by(instalments.c.number)
    )
    return [InstalmentState(r.number, r.due_date, r.amount_idr, r.paid_idr) for r in rows]


async def _subsidised(session: AsyncSession, loan_id: uuid.UUID) -> int:
    total = await session.scalar(
        select(func.coalesce(func.sum(subsidies.c.amount_idr), 0)).where(
            subsidies.c.loan_id == loan_id
        )
    )
    return int(total or 0)


async def _paid(session: AsyncSession, loan_id: uuid.UUID) -> int:
    total = await session.scalar(
        select(func.coalesce(func.sum(payments.c.amount_idr), 0)).where(
            payments.c.loan_id == loan_id
        )
    )
    return int(total or 0)
