"""How each event changes the read model. Every projection is idempotent and commutes with the
others: it inserts a row keyed by the event's own ids, or sets a fact to the earliest day seen.
So redelivery, the order of arrival across consumers, and a rebuild from the streams all give
the same figures."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Table, case, or_, update
from sqlalchemy.ext.asyncio import AsyncSession

from jembatan_contracts import (
    CandidateInterviewed,
    CandidatePlaced,
    CandidateReadyForPlacement,
    CandidateRegistered,
    CandidateWithdrawn,
    CertificatePassed,
    DailyScoreRecorded,
    Departed,
    EarlyReturned,
    Event,
    LoanOpened,
    LoanRestructured,
    LoanSettled,
    PaymentRecorded,
    RepaymentDue,
)
from jembatan_kit.db import dialect_insert

from ..adapters.orm import (
    candidates,
    daily_scores,
    drop_outs,
    loans,
    payments,
    repayments_due,
    restructurings,
)
from ..domain.stages import DropOutKind

INTERVIEW_NOT_PASSED = "not_passed"


def _utc(moment: datetime) -> datetime:
    """Instants are kept in UTC, so they compare alike on every database."""
    return moment.astimezone(UTC)


async def _insert_new(session: AsyncSession, table: Table, values: dict[str, Any]) -> None:
    """Insert unless a row with the same key exists (then leave it as it is)."""
    await session.execute(dialect_insert(session, table).values(**values).on_conflict_do_nothing())


async def _candidate(session: AsyncSession, candidate_id: uuid.UUID, agency: str) -> None:
    await _insert_new(session, candidates, {"candidate_id": candidate_id, "agency": agency})


async def _first(session: AsyncSession, candidate_id: uuid.UUID, column: str, day: date) -> None:
    """Set the candidate's `column` to `day` unless an earlier day is already there."""
    current = candidates.c[column]
    await session.execute(
        update(candidates)
        .where(
            candidates.c.candidate_id == candidate_id,
            or_(current.is_(None), current > day),
        )
        .values({column: day})
    )


async def _track(session: AsyncSession, candidate_id: uuid.UUID, track: str) -> None:
    await session.execute(
        update(candidates)
        .where(candidates.c.candidate_id == candidate_id, candidates.c.track.is_(None))
        .values(track=track)
    )


async def on_candidate_registered(session: AsyncSession, event: CandidateRegistered) -> None:
    await _candidate(session, event.candidate_id, event.agency)
    await _track(session, event.candidate_id, event.track.value)
    await _first(session, event.candidate_id, "registered_on", event.registered_on)


async def on_candidate_withdrawn(session: AsyncSession, event: CandidateWithdrawn) -> None:
    await _candidate(session, event.candidate_id, event.agency)
    await _first(session, event.candidate_id, "withdrawn_on", event.withdrawn_on)
    await _drop_out(session, event, DropOutKind.WITHDRAWN, event.reason.value, event.withdrawn_on)


async def on_certificate_passed(session: AsyncSession, event: CertificatePassed) -> None:
    await _candidate(session, event.candidate_id, event.agency)
    await _first(session, event.candidate_id, "in_training_on", event.passed_on)
    await _first(session, event.candidate_id, "certified_on", event.passed_on)


async def on_daily_score_recorded(session: AsyncSession, event: DailyScoreRecorded) -> None:
    await _candidate(session, event.candidate_id, event.agency)
    await _first(session, event.candidate_id, "in_training_on", event.day)
    values = {
        "agency": event.agency,
        "score": event.score,
        "cohort_id": event.cohort_id,
        "cohort_name": event.cohort_name,
        "training_centre": event.training_centre,
        "recorded_at": _utc(event.occurred_at),
    }
    await _insert_new(
        session, daily_scores, {"candidate_id": event.candidate_id, "day": event.day, **values}
    )
    # The same day scored again: the later recording wins, whatever order they arrive in.
    await session.execute(
        update(daily_scores)
        .where(
            daily_scores.c.candidate_id == event.candidate_id,
            daily_scores.c.day == event.day,
            daily_scores.c.recorded_at < _utc(event.occurred_at),
        )
        .values(**values)
    )


async def on_candidate_ready(session: AsyncSession, event: CandidateReadyForPlacement) -> None:
    await _candidate(session, event.candidate_id, event.agency)
    await _track(session, event.candidate_id, event.track.value)
    await _first(session, event.candidate_id, "ready_on", event.occurred_at.date())


async def on_candidate_interviewed(session: AsyncSession, event: CandidateInterviewed) -> None:
    if event.passed:
        return
    await _candidate(session, event.candidate_id, event.agency)
    await _drop_out(
        session, event, DropOutKind.INTERVIEW_FAILED, INTERVIEW_NOT_PASSED, event.interviewed_on
    )


async def on_candidate_placed(session: AsyncSession, event: CandidatePlaced) -> None:
    await _candidate(session, event.candidate_id, event.agency)
    await _track(session, event.candidate_id, event.track.value)
    signed = event.contract_signed_on or event.occurred_at.date()
    await _first(session, event.candidate_id, "placed_on", signed)


async def on_departed(session: AsyncSession, event: Departed) -> None:
    await _candidate(session, event.candidate_id, event.agency)
    await _first(session, event.candidate_id, "departed_on", event.departure_date)


async def on_early_returned(session: AsyncSession, event: EarlyReturned) -> None:
    await _candidate(session, event.candidate_id, event.agency)
    await _first(session, event.candidate_id, "returned_on", event.return_date)
    await _drop_out(session, event, DropOutKind.EARLY_RETURN, event.reason.value, event.return_date)


async def _drop_out(
    session: AsyncSession, event: Any, kind: DropOutKind, reason: str, day: date
) -> None:
    await _insert_new(
        session,
        drop_outs,
        {
            "event_id": event.event_id,
            "candidate_id": event.candidate_id,
            "agency": event.agency,
            "kind": kind.value,
            "reason": reason,
            "day": day,
        },
    )


async def _loan(session: AsyncSession, event: Any) -> None:
    await _candidate(session, event.candidate_id, event.agency)
    await _insert_new(
        session,
        loans,
        {"loan_id": event.loan_id, "candidate_id": event.candidate_id, "agency": event.agency},
    )


async def on_loan_opened(session: AsyncSession, event: LoanOpened) -> None:
    await _loan(session, event)


async def on_repayment_due(session: AsyncSession, event: RepaymentDue) -> None:
    await _loan(session, event)
    await _first(session, event.candidate_id, "repaying_on", event.due_date)
    await _insert_new(
        session,
        repayments_due,
        {
            "loan_id": event.loan_id,
            "instalment_number": event.instalment_number,
            "due_date": event.due_date,
            "amount_idr": event.amount_idr,
            "announced_at": _utc(event.occurred_at),
        },
    )


async def on_payment_recorded(session: AsyncSession, event: PaymentRecorded) -> None:
    await _loan(session, event)
    await _first(session, event.candidate_id, "repaying_on", event.paid_on)
    await _insert_new(
        session,
        payments,
        {
            "payment_id": event.payment_id,
            "loan_id": event.loan_id,
            "amount_idr": event.amount_idr,
            "instalment_numbers": list(event.instalment_numbers),
            "recorded_at": _utc(event.occurred_at),
            "paid_on": event.paid_on,
        },
    )


async def on_loan_settled(session: AsyncSession, event: LoanSettled) -> None:
    await _loan(session, event)
    await _first(session, event.candidate_id, "settled_on", event.settled_on)
    await session.execute(
        update(loans)
        .where(
            loans.c.loan_id == event.loan_id,
            or_(loans.c.settled_on.is_(None), loans.c.settled_on > event.settled_on),
        )
        .values(settled_on=event.settled_on)
    )


async def on_loan_restructured(session: AsyncSession, event: LoanRestructured) -> None:
    await _loan(session, event)
    await _insert_new(
        session,
        restructurings,
        {
            "event_id": event.event_id,
            "loan_id": event.loan_id,
            "restructured_at": _utc(event.occurred_at),
            "first_due_date": event.first_due_date,
        },
    )


# Batch versions: the effect of the projection above on each event of a list, in order, in a
# few statements. Used by the consumer for a fetched batch (`EventHandler.handle_batch`); its
# fallback, message by message, uses the single-event projections. Each batch projection first
# merges the events in Python as the single ones would leave the rows (the first agency and
# track, the earliest day, the latest score recording), then writes one row per key with an
# upsert that merges with what is stored the same way, row by row in the database.


def _earliest(table: Table, new: Any, columns: Iterable[str]) -> dict[str, Any]:
    """For an upsert: each of `columns` set to the proposed day if it is earlier than the stored
    one (or none is stored)."""
    changes = {}
    for column in columns:
        current = table.c[column]
        changes[column] = case(
            (
                new[column].is_not(None) & or_(current.is_(None), current > new[column]),
                new[column],
            ),
            else_=current,
        )
    return changes


@dataclass
class _Facts:
    """What a batch says about one candidate: `agency` and `track` as first given, and the
    earliest day given for each stage column."""

    agency: str
    track: str | None = None
    days: dict[str, date] = field(default_factory=dict)


class _Candidates:
    def __init__(self) -> None:
        self.facts: dict[uuid.UUID, _Facts] = {}

    def add(
        self, candidate_id: uuid.UUID, agency: str, track: str | None = None, **days: date
    ) -> None:
        facts = self.facts.setdefault(candidate_id, _Facts(agency))
        if facts.track is None:
            facts.track = track
        for column, day in days.items():
            known = facts.days.get(column)
            if known is None or day < known:
                facts.days[column] = day

    async def write(
        self, session: AsyncSession, columns: tuple[str, ...] = (), track: bool = False
    ) -> None:
        """One statement: each candidate inserted unless known, its track set unless already
        set, and each of `columns` set to the earliest of the stored day and the batch's."""
        if not self.facts:
            return
        rows = []
        for candidate_id in sorted(self.facts):  # one lock order, whatever the arrival order
            facts = self.facts[candidate_id]
            row: dict[str, Any] = {"candidate_id": candidate_id, "agency": facts.agency}
            if track:
                row["track"] = facts.track
            rows.append(row | {column: facts.days.get(column) for column in columns})
        statement = dialect_insert(session, candidates)
        new = statement.excluded
        changes: dict[str, Any] = {}
        if track:
            changes["track"] = case(
                (candidates.c.track.is_(None), new.track), else_=candidates.c.track
            )
        changes |= _earliest(candidates, new, columns)
        if changes:
            statement = statement.on_conflict_do_update(
                index_elements=[candidates.c.candidate_id], set_=changes
            )
        else:
            statement = statement.on_conflict_do_nothing()
        await session.execute(statement, rows)


async def _insert_new_many(
    session: AsyncSession, table: Table, rows: Iterable[dict[str, Any]]
) -> None:
    """`_insert_new` for many rows in one statement; `rows` has one row per key, the first."""
    rows = list(rows)
    if rows:
        await session.execute(dialect_insert(session, table).on_conflict_do_nothing(), rows)


async def on_candidates_registered(
    session: AsyncSession, events: list[CandidateRegistered]
) -> None:
    found = _Candidates()
    for event in events:
        found.add(
            event.candidate_id, event.agency, event.track.value, registered_on=event.registered_on
        )
    await found.write(session, ("registered_on",), track=True)


async def on_certificates_passed(session: AsyncSession, events: list[CertificatePassed]) -> None:
    found = _Candidates()
    for event in events:
        found.add(
            event.candidate_id,
            event.agency,
            in_training_on=event.passed_on,
            certified_on=event.passed_on,
        )
    await found.write(session, ("in_training_on", "certified_on"))


async def on_candidates_ready(
    session: AsyncSession, events: list[CandidateReadyForPlacement]
) -> None:
    found = _Candidates()
    for event in events:
        found.add(
            event.candidate_id,
            event.agency,
            event.track.value,
            ready_on=event.occurred_at.date(),
        )
    await found.write(session, ("ready_on",), track=True)


async def on_candidates_placed(session: AsyncSession, events: list[CandidatePlaced]) -> None:
    found = _Candidates()
    for event in events:
        signed = event.contract_signed_on or event.occurred_at.date()
        found.add(event.candidate_id, event.agency, event.track.value, placed_on=signed)
    await found.write(session, ("placed_on",), track=True)


async def on_departures(session: AsyncSession, events: list[Departed]) -> None:
    found = _Candidates()
    for event in events:
        found.add(event.candidate_id, event.agency, departed_on=event.departure_date)
    await found.write(session, ("departed_on",))


async def on_daily_scores_recorded(session: AsyncSession, events: list[DailyScoreRecorded]) -> None:
    found = _Candidates()
    latest: dict[tuple[uuid.UUID, date], dict[str, Any]] = {}
    for event in events:
        found.add(event.candidate_id, event.agency, in_training_on=event.day)
        row = {
            "candidate_id": event.candidate_id,
            "day": event.day,
            "agency": event.agency,
            "score": event.score,
            "cohort_id": event.cohort_id,
            "cohort_name": event.cohort_name,
            "training_centre": event.training_centre,
            "recorded_at": _utc(event.occurred_at),
        }
        key = (event.candidate_id, event.day)
        if key not in latest or latest[key]["recorded_at"] < row["recorded_at"]:
            latest[key] = row
    await found.write(session, ("in_training_on",))
    statement = dialect_insert(session, daily_scores)
    new = statement.excluded
    statement = statement.on_conflict_do_update(
        index_elements=[daily_scores.c.candidate_id, daily_scores.c.day],
        set_={
            column: new[column]
            for column in (
                "agency",
                "score",
                "cohort_id",
                "cohort_name",
                "training_centre",
                "recorded_at",
            )
        },
        # The same day scored again: the later recording wins, whatever order they arrive in.
        where=daily_scores.c.recorded_at < new.recorded_at,
    )
    await session.execute(statement, [latest[key] for key in sorted(latest)])


LoanEvents = (
    list[LoanOpened]
    | list[RepaymentDue]
    | list[PaymentRecorded]
    | list[LoanSettled]
    | list[LoanRestructured]
)


def _loans(events: LoanEvents) -> dict[uuid.UUID, dict[str, Any]]:
    first: dict[uuid.UUID, dict[str, Any]] = {}
    for event in events:
        first.setdefault(
            event.loan_id,
            {"loan_id": event.loan_id, "candidate_id": event.candidate_id, "agency": event.agency},
        )
    return first


async def on_loans_opened(session: AsyncSession, events: list[LoanOpened]) -> None:
    found = _Candidates()
    for event in events:
        found.add(event.candidate_id, event.agency)
    await found.write(session)
    loans_found = _loans(events)
    await _insert_new_many(session, loans, (loans_found[key] for key in sorted(loans_found)))


async def on_repayments_due(session: AsyncSession, events: list[RepaymentDue]) -> None:
    found = _Candidates()
    due: dict[tuple[uuid.UUID, int], dict[str, Any]] = {}
    for event in events:
        found.add(event.candidate_id, event.agency, repaying_on=event.due_date)
        due.setdefault(
            (event.loan_id, event.instalment_number),
            {
                "loan_id": event.loan_id,
                "instalment_number": event.instalment_number,
                "due_date": event.due_date,
                "amount_idr": event.amount_idr,
                "announced_at": _utc(event.occurred_at),
            },
        )
    await found.write(session, ("repaying_on",))
    loans_found = _loans(events)
    await _insert_new_many(session, loans, (loans_found[key] for key in sorted(loans_found)))
    await _insert_new_many(session, repayments_due, (due[key] for key in sorted(due)))


def _drop_out_row(event: Any, kind: DropOutKind, reason: str, day: date) -> dict[str, Any]:
    return {
        "event_id": event.event_id,
        "candidate_id": event.candidate_id,
        "agency": event.agency,
        "kind": kind.value,
        "reason": reason,
        "day": day,
    }


async def _drop_outs_many(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    first: dict[uuid.UUID, dict[str, Any]] = {}
    for row in rows:
        first.setdefault(row["event_id"], row)
    await _insert_new_many(session, drop_outs, (first[key] for key in sorted(first)))


async def on_candidates_withdrawn(session: AsyncSession, events: list[CandidateWithdrawn]) -> None:
    found = _Candidates()
    rows = []
    for event in events:
        found.add(event.candidate_id, event.agency, withdrawn_on=event.withdrawn_on)
        rows.append(
            _drop_out_row(event, DropOutKind.WITHDRAWN, event.reason.value, event.withdrawn_on)
        )
    await found.write(session, ("withdrawn_on",))
    await _drop_outs_many(session, rows)


async def on_candidates_interviewed(
    session: AsyncSession, events: list[CandidateInterviewed]
) -> None:
    found = _Candidates()
    rows = []
    for event in events:
        if event.passed:
            continue
        found.add(event.candidate_id, event.agency)
        rows.append(
            _drop_out_row(
                event, DropOutKind.INTERVIEW_FAILED, INTERVIEW_NOT_PASSED, event.interviewed_on
            )
        )
    await found.write(session)
    await _drop_outs_many(session, rows)


async def on_early_returns(session: AsyncSession, events: list[EarlyReturned]) -> None:
    found = _Candidates()
    rows = []
    for event in events:
        found.add(event.candidate_id, event.agency, returned_on=event.return_date)
        rows.append(
            _drop_out_row(event, DropOutKind.EARLY_RETURN, event.reason.value, event.return_date)
        )
    await found.write(session, ("returned_on",))
    await _drop_outs_many(session, rows)


async def on_payments_recorded(session: AsyncSession, events: list[PaymentRecorded]) -> None:
    found = _Candidates()
    recorded: dict[uuid.UUID, dict[str, Any]] = {}
    for event in events:
        found.add(event.candidate_id, event.agency, repaying_on=event.paid_on)
        recorded.setdefault(
            event.payment_id,
            {
                "payment_id": event.payment_id,
                "loan_id": event.loan_id,
                "amount_idr": event.amount_idr,
                "instalment_numbers": list(event.instalment_numbers),
                "recorded_at": _utc(event.occurred_at),
                "paid_on": event.paid_on,
            },
        )
    await found.write(session, ("repaying_on",))
    loans_found = _loans(events)
    await _insert_new_many(session, loans, (loans_found[key] for key in sorted(loans_found)))
    await _insert_new_many(session, payments, (recorded[key] for key in sorted(recorded)))


async def on_loans_settled(session: AsyncSession, events: list[LoanSettled]) -> None:
    found = _Candidates()
    settled: dict[uuid.UUID, date] = {}
    for event in events:
        found.add(event.candidate_id, event.agency, settled_on=event.settled_on)
        known = settled.get(event.loan_id)
        if known is None or event.settled_on < known:
            settled[event.loan_id] = event.settled_on
    await found.write(session, ("settled_on",))
    loans_found = _loans(events)
    statement = dialect_insert(session, loans)
    statement = statement.on_conflict_do_update(
        index_elements=[loans.c.loan_id], set_=_earliest(loans, statement.excluded, ["settled_on"])
    )
    await session.execute(
        statement,
        [loans_found[key] | {"settled_on": settled[key]} for key in sorted(loans_found)],
    )


async def on_loans_restructured(session: AsyncSession, events: list[LoanRestructured]) -> None:
    found = _Candidates()
    restructured: dict[uuid.UUID, dict[str, Any]] = {}
    for event in events:
        found.add(event.candidate_id, event.agency)
        restructured.setdefault(
            event.event_id,
            {
                "event_id": event.event_id,
                "loan_id": event.loan_id,
                "restructured_at": _utc(event.occurred_at),
                "first_due_date": event.first_due_date,
            },
        )
    await found.write(session)
    loans_found = _loans(events)
    await _insert_new_many(session, loans, (loans_found[key] for key in sorted(loans_found)))
    await _insert_new_many(
        session, restructurings, (restructured[key] for key in sorted(restructured))
    )


Projection = Callable[[AsyncSession, Any], Awaitable[None]]

PROJECTIONS: dict[type[Event], tuple[str, Projection]] = {
    CandidateRegistered: ("dashboard-candidate-registered", on_candidate_registered),
    CandidateWithdrawn: ("dashboard-candidate-withdrawn", on_candidate_withdrawn),
    CertificatePassed: ("dashboard-certificate-passed", on_certificate_passed),
    DailyScoreRecorded: ("dashboard-daily-score-recorded", on_daily_score_recorded),
    CandidateReadyForPlacement: ("dashboard-candidate-ready", on_candidate_ready),
    CandidateInterviewed: ("dashboard-candidate-interviewed", on_candidate_interviewed),
    CandidatePlaced: ("dashboard-candidate-placed", on_candidate_placed),
    Departed: ("dashboard-departed", on_departed),
    EarlyReturned: ("dashboard-early-returned", on_early_returned),
    LoanOpened: ("dashboard-loan-opened", on_loan_opened),
    RepaymentDue: ("dashboard-repayment-due", on_repayment_due),
    PaymentRecorded: ("dashboard-payment-recorded", on_payment_recorded),
    LoanSettled: ("dashboard-loan-settled", on_loan_settled),
    LoanRestructured: ("dashboard-loan-restructured", on_loan_restructured),
}
"""Each event the dashboard follows: its durable consumer and its projection."""

BatchProjection = Callable[[AsyncSession, list[Any]], Awaitable[None]]

BATCH_PROJECTIONS: dict[type[Event], BatchProjection] = {
    CandidateRegistered: on_candidates_registered,
    CertificatePassed: on_certificates_passed,
    DailyScoreRecorded: on_daily_scores_recorded,
    CandidateReadyForPlacement: on_candidates_ready,
    CandidatePlaced: on_candidates_placed,
    Departed: on_departures,
    LoanOpened: on_loans_opened,
    RepaymentDue: on_repayments_due,
    CandidateWithdrawn: on_candidates_withdrawn,
    CandidateInterviewed: on_candidates_interviewed,
    EarlyReturned: on_early_returns,
    PaymentRecorded: on_payments_recorded,
    LoanSettled: on_loans_settled,
    LoanRestructured: on_loans_restructured,
}
"""Each projection's version for a whole batch of its events."""
