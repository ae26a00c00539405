"""Writes the facts of a list of events into the read model: one statement per table touched,
each merging with the stored rows as domain/facts.py merges facts (first agency and track,
earliest day, later score recording, first of each key), inside the database's upsert. So no
row is read first, and consumers writing the same candidate at once cannot lose each other's
facts. Rows are written in key order, and tables in `READ_MODEL` order, so concurrent writers
lock rows in one order."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, Table, case, or_
from sqlalchemy.ext.asyncio import AsyncSession

from jembatan_kit.db import dialect_insert

from ..domain.facts import DAY_COLUMNS, LOAN_DAY_COLUMNS, Facts
from .orm import (
    candidates,
    daily_scores,
    decisions_needed,
    drop_outs,
    loans,
    national_checks,
    payments,
    repayments_due,
    restructurings,
    write_offs,
)


class ReadModelRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def save(self, facts: Facts) -> None:
        await self._candidates(facts)
        await self._insert_new(
            drop_outs,
            (
                {
                    "event_id": event_id,
                    "candidate_id": drop_out.candidate_id,
                    "agency": drop_out.agency,
                    "kind": drop_out.kind.value,
                    "reason": drop_out.reason,
                    "day": drop_out.day,
                }
                for event_id, drop_out in sorted(facts.drop_outs.items())
            ),
        )
        await self._daily_scores(facts)
        await self._national_checks(facts)
        await self._loans(facts)
        await self._insert_new(
            repayments_due,
            (
                {
                    "loan_id": loan_id,
                    "instalment_number": number,
                    "due_date": due.due_date,
                    "amount_idr": due.amount_idr,
                    "announced_at": due.announced_at,
                    "scheduled_amount_idr": due.scheduled_amount_idr,
                }
                for (loan_id, number), due in sorted(facts.instalments_due.items())
            ),
        )
        await self._insert_new(
            payments,
            (
                {
                    "payment_id": payment_id,
                    "loan_id": payment.loan_id,
                    "amount_idr": payment.amount_idr,
                    "instalment_numbers": list(payment.instalment_numbers),
                    "recorded_at": payment.recorded_at,
                    "paid_on": payment.paid_on,
                    "allocations": None
                    if payment.allocations is None
                    else [list(allocation) for allocation in payment.allocations],
                }
                for payment_id, payment in sorted(facts.payments.items())
            ),
        )
        await self._insert_new(
            restructurings,
            (
                {
                    "event_id": event_id,
                    "loan_id": restructuring.loan_id,
                    "restructured_at": restructuring.restructured_at,
                    "first_due_date": restructuring.first_due_date,
                }
                for event_id, restructuring in sorted(facts.restructurings.items())
            ),
        )
        await self._insert_new(
            write_offs,
            (
                {
                    "event_id": event_id,
                    "loan_id": write_off.loan_id,
                    "reason": write_off.reason,
                    "amount_idr": write_off.amount_idr,
                    "written_off_on": write_off.written_off_on,
                }
                for event_id, write_off in sorted(facts.write_offs.items())
            ),
        )
        await self._insert_new(
            decisions_needed,
            (
                {
                    "loan_id": loan_id,
                    "reason": decision.reason,
                    "departure_date": decision.departure_date,
                    "owed_idr": decision.owed_idr,
                    "shortfall_idr": decision.shortfall_idr,
                    "recorded_at": decision.recorded_at,
                }
                for loan_id, decision in sorted(facts.decisions_needed.items())
            ),
        )

    async def _candidates(self, facts: Facts) -> None:
        """Each candidate inserted unless known; its track set unless already set; each day
        told set unless an earlier one is stored."""
        if not facts.candidates:
            return
        told = facts.candidates.values()
        columns = [c for c in DAY_COLUMNS if any(c in candidate.days for candidate in told)]
        track = any(candidate.track is not None for candidate in told)
        rows = []
        for candidate_id, candidate in sorted(facts.candidates.items()):
            row: dict[str, Any] = {"candidate_id": candidate_id, "agency": candidate.agency}
            if track:
                row["track"] = candidate.track
            rows.append(row | {column: candidate.days.get(column) for column in columns})
        statement = dialect_insert(self.session, candidates)
        new = statement.excluded
        changes: dict[str, ColumnElement[Any]] = {}
        news: list[ColumnElement[bool]] = []  # a stored row changes if one of these holds
        if track:
            unset = candidates.c.track.is_(None) & new.track.is_not(None)
            changes["track"] = case((unset, new.track), else_=candidates.c.track)
            news.append(unset)
        for column in columns:
            sooner = _earlier(candidates, new, column)
            changes[column] = case((sooner, new[column]), else_=candidates.c[column])
            news.append(sooner)
        if changes:
            statement = statement.on_conflict_do_update(
                index_elements=[candidates.c.candidate_id], set_=changes, where=or_(*news)
            )
        else:
            statement = statement.on_conflict_do_nothing()
        await self.session.execute(statement, rows)

    async def _daily_scores(self, facts: Facts) -> None:
        if not facts.scores:
            return
        rows = [
            {
                "candidate_id": candidate_id,
                "day": day,
                "agency": score.agency,
                "score": score.score,
                "cohort_id": score.cohort_id,
                "cohort_name": score.cohort_name,
                "training_centre": score.training_centre,
                "recorded_at": score.recorded_at,
            }
            for (candidate_id, day), score in sorted(facts.scores.items())
        ]
        statement = dialect_insert(self.session, daily_scores)
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
        await self.session.execute(statement, rows)

    async def _national_checks(self, facts: Facts) -> None:
        if not facts.national_checks:
            return
        rows = [
            {
                "candidate_id": candidate_id,
                "agency": told.agency,
                "standing": told.check,
                "told_at": told.told_at,
            }
            for candidate_id, told in sorted(facts.national_checks.items())
        ]
        statement = dialect_insert(self.session, national_checks)
        new = statement.excluded
        statement = statement.on_conflict_do_update(
            index_elements=[national_checks.c.candidate_id],
            set_={"standing": new.standing, "told_at": new.told_at},
            where=national_checks.c.told_at < new.told_at,
        )
        await self.session.execute(statement, rows)

    async def _loans(self, facts: Facts) -> None:
        """Each loan inserted unless known; each day told (settled, schedule fixed, closed) set
        unless an earlier one is stored."""
        if not facts.loans:
            return
        told = facts.loans.values()
        columns = [c for c in LOAN_DAY_COLUMNS if any(getattr(loan, c) for loan in told)]
        rows = []
        for loan_id, loan in sorted(facts.loans.items()):
            row = {"loan_id": loan_id, "candidate_id": loan.candidate_id, "agency": loan.agency}
            rows.append(row | {column: getattr(loan, column) for column in columns})
        statement = dialect_insert(self.session, loans)
        if columns:
            new = statement.excluded
            sooner = {column: _earlier(loans, new, column) for column in columns}
            statement = statement.on_conflict_do_update(
                index_elements=[loans.c.loan_id],
                set_={
                    column: case((sooner[column], new[column]), else_=loans.c[column])
                    for column in columns
                },
                where=or_(*sooner.values()),
            )
        else:
            statement = statement.on_conflict_do_nothing()
        await self.session.execute(statement, rows)

    async def _insert_new(self, table: Table, rows: Iterable[dict[str, Any]]) -> None:
        """Each row inserted unless a row with its key is stored (that one stays as it is)."""
        rows = list(rows)
        if rows:
            await self.session.execute(
                dialect_insert(self.session, table).on_conflict_do_nothing(), rows
            )


def _earlier(table: Table, new: Any, column: str) -> ColumnElement[bool]:
    """For an upsert: the proposed day of `column` is given and earlier than the stored one (or
    none is stored)."""
    current = table.c[column]
    return new[column].is_not(None) & or_(current.is_(None), current > new[column])
