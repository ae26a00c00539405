"""Where loans are kept. The handlers see `FinancingRepository`; the service runs on
`SqlFinancingRepository`, over one AsyncSession (one transaction, committed by the caller's unit
of work or consumer), and the unit tests on an in-memory fake.

The repository loads what a list of items needs in a few queries, whatever its length, and
`save` writes the changes of every loan it handed out or was given, with the outbox rows of the
events they recorded, in the same transaction, each kind of row in one statement. A loan's cost
items live in its own row (a JSON list), read only by the use cases that change them.

Concurrency is decided by the writes. The loans a use case reads to change are locked as they
are read (`SELECT ... FOR UPDATE`, in the order of their ids; SQLite runs one writing
transaction at a time anyway), so two changes of one loan take turns and the second sees the
first. A funder is inserted `ON CONFLICT DO NOTHING`: a name a request at the same moment took
is not written (`WriteConflicts.funders_taken`). An instalment is announced by a conditional
update that only one scheduler's can match, and only while the instalment is still unpaid and its
loan still being repaid: one announced by another scheduler, paid, paused or restructured
meanwhile is not (`WriteConflicts.not_claimed`), and its RepaymentDue is not staged.

An instalment keeps the traceparent its schedule's event (RepaymentScheduleFixed,
LoanRestructured) was staged with: its RepaymentDue, staged months later, continues that trace.
"""

from __future__ import annotations

import abc
import uuid
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from jembatan_contracts import Event, Track, WriteOffReason
from jembatan_kit.db import dialect_insert
from jembatan_kit.outbox import insert_outbox_rows, outbox_rows, staging_for_messages
from jembatan_kit.telemetry import restored_span

from ..domain.costs import CostItem
from ..domain.loan import (
    CostLine,
    DueInstalment,
    Funder,
    Loan,
    Payment,
    Restructuring,
    ScheduledInstalment,
    Subsidy,
    Withdrawal,
    WriteOff,
)
from ..domain.model import LoanStatus, RepaymentChannel, instalment_id_for
from .orm import (
    LOAN_WITHOUT_COSTS,
    funders,
    instalments,
    loans,
    payments,
    restructurings,
    subsidies,
    withdrawn_candidates,
    write_offs,
)


def _still_due(*, claiming: bool) -> tuple[ColumnElement[bool], ...]:
    """An instalment falls due only while it is unannounced, in force and not paid in full, and
    its loan is being repaid. The sweep asks when it reads, and the statement that claims the
    instalment asks again, so a payment or pause committed in between is never announced. When
    claiming, the loan is read locked FOR SHARE (on PostgreSQL): a payment, early return or
    restructuring of it still in progress is waited for, and its outcome decides."""
    repaying = (
        select(loans.c.id)
        .where(loans.c.id == instalments.c.loan_id, loans.c.status == LoanStatus.REPAYING.value)
        .correlate(instalments)
    )
    return (
        instalments.c.announced_at.is_(None),
        instalments.c.superseded_at.is_(None),
        instalments.c.paid_idr < instalments.c.amount_idr,
        (repaying.with_for_update(read=True) if claiming else repaying).exists(),
    )


@dataclass
class WriteConflicts:
    """What a `save` left out because a request or scheduler at the same moment won."""

    funders_taken: set[uuid.UUID] = field(default_factory=set)
    not_claimed: set[uuid.UUID] = field(default_factory=set)
    """Instalments no longer due when claimed: another scheduler announced them meanwhile, or
    they were paid, or their loan paused or restructured."""


class FinancingRepository(abc.ABC):
    @abc.abstractmethod
    async def get_many(
        self, loan_ids: Collection[uuid.UUID], *, with_costs: bool = False
    ) -> dict[uuid.UUID, Loan]:
        """The loans of these ids that exist, whole except their cost items, which are loaded
        only `with_costs`; `save` writes what is done to them."""

    @abc.abstractmethod
    async def of_placements(self, placement_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, Loan]:
        """The loans of these placements that have one, by placement id, as `get_many`."""

    @abc.abstractmethod
    async def of_candidates(
        self, candidate_ids: Collection[uuid.UUID]
    ) -> dict[uuid.UUID, list[Loan]]:
        """The loans of these candidates, by candidate id, as `get_many`."""

    @abc.abstractmethod
    async def withdrawals(
        self, candidate_ids: Collection[uuid.UUID]
    ) -> dict[uuid.UUID, Withdrawal]:
        """The withdrawals recorded of these candidates, by candidate id."""

    @abc.abstractmethod
    def add_withdrawal(self, withdrawal: Withdrawal) -> None:
        """A candidate's withdrawal, recorded by the next `save` (once: a repeat is ignored)."""

    @abc.abstractmethod
    async def financed_placements(
        self, placement_ids: Collection[uuid.UUID]
    ) -> dict[uuid.UUID, uuid.UUID]:
        """The loan of each of these placements that has one already."""

    @abc.abstractmethod
    def add(self, loan: Loan) -> None:
        """A new loan, inserted by the next `save`."""

    @abc.abstractmethod
    async def get_funders(self, funder_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, Funder]:
        """The funders of these ids that exist."""

    @abc.abstractmethod
    def add_funder(self, funder: Funder) -> None:
        """A new funder, inserted by the next `save` unless its name is taken meanwhile."""

    @abc.abstractmethod
    async def due_instalments(self, today: date, limit: int) -> list[DueInstalment]:
        """Up to `limit` instalments due by `today`, not yet announced, neither superseded nor
        paid, of loans being repaid (a paused loan announces nothing), oldest first."""

    @abc.abstractmethod
    async def save(self) -> WriteConflicts:
        """Write the new and changed loans, funders and announcements with the outbox rows of
        their events, leaving out what a concurrent request or scheduler won. What was saved
        is forgotten: a further change of a loan reads it again."""


@dataclass(frozen=True)
class _Read:
    """A loan as read: what `save` compares it against."""

    columns: dict[str, Any]
    subsidies: frozenset[uuid.UUID]
    write_offs: frozenset[uuid.UUID]
    payments: frozenset[uuid.UUID]
    instalments: dict[int, tuple[int, Any]]
    """Paid and superseded_at of each instalment, by number."""
    restructuring: uuid.UUID | None


def _columns(loan: Loan) -> dict[str, Any]:
    """The loan's row; its cost items only if they were read (`with_costs`) or are new."""
    columns = {
        "placement_id": loan.placement_id,
        "candidate_id": loan.candidate_id,
        "agency": loan.agency,
        "journey_id": loan.journey_id,
        "track": loan.track.value,
        "contract_months": loan.contract_months,
        "principal_idr": loan.principal_idr,
        "repayment_channel": loan.repayment_channel.value,
        "status": loan.status.value,
        "opened_at": loan.opened_at,
        "departure_date": loan.departure_date,
        "schedule_fixed_at": loan.schedule_fixed_at,
        "funder_id": loan.funder_id,
        "monthly_wage_jpy": loan.monthly_wage_jpy,
        "paused_on": loan.paused_on,
        "settled_at": loan.settled_at,
        "refund_due_idr": loan.refund_due_idr,
        "channel": loan.channel,
        "closed_on": loan.closed_on,
    }
    if loan.cost_lines is not None:
        columns["cost_items"] = _cost_items_column(loan.cost_lines)
    return columns


def _cost_items_column(lines: list[CostLine]) -> list[dict[str, Any]]:
    return [
        {
            "position": line.position,
            "code": line.item.code,
            "description": line.item.description,
            "amount_idr": line.item.amount_idr,
            "charged_on": line.charged_on.isoformat() if line.charged_on else None,
        }
        for line in sorted(lines, key=lambda line: line.position)
    ]


def _cost_lines(column: list[dict[str, Any]]) -> list[CostLine]:
    return [
        CostLine(
            line["position"],
            CostItem(line["code"], line["description"], line["amount_idr"]),
            date.fromisoformat(line["charged_on"]) if line["charged_on"] else None,
        )
        for line in column
    ]


def _read(loan: Loan) -> _Read:
    return _Read(
        columns=_columns(loan),
        subsidies=frozenset(s.id for s in loan.subsidies),
        write_offs=frozenset(w.id for w in loan.write_offs),
        payments=frozenset(p.id for p in loan.payments),
        instalments={i.number: (i.paid_idr, i.superseded_at) for i in loan.instalments},
        restructuring=loan.open_restructuring.id if loan.open_restructuring else None,
    )


class SqlFinancingRepository(FinancingRepository):
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._loans: dict[uuid.UUID, Loan] = {}
        self._read: dict[uuid.UUID, _Read] = {}
        """What each loan handed out was when read; none for a loan added."""
        self._restructurings: dict[uuid.UUID, Restructuring] = {}
        """The open restructuring of each loan read with one, to write its decision."""
        self._funders: list[Funder] = []
        self._withdrawals: list[Withdrawal] = []
        self._due: dict[uuid.UUID, DueInstalment] = {}
        self._due_traceparents: dict[uuid.UUID, str | None] = {}

    # --- loading -----------------------------------------------------------------------------

    async def get_many(
        self, loan_ids: Collection[uuid.UUID], *, with_costs: bool = False
    ) -> dict[uuid.UUID, Loan]:
        found = await self._load(loans.c.id.in_(set(loan_ids)), with_costs)
        return {loan.id: loan for loan in found}

    async def of_placements(self, placement_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, Loan]:
        found = await self._load(loans.c.placement_id.in_(set(placement_ids)), with_costs=False)
        return {loan.placement_id: loan for loan in found}

    async def of_candidates(
        self, candidate_ids: Collection[uuid.UUID]
    ) -> dict[uuid.UUID, list[Loan]]:
        found = await self._load(loans.c.candidate_id.in_(set(candidate_ids)), with_costs=False)
        by_candidate: dict[uuid.UUID, list[Loan]] = defaultdict(list)
        for loan in found:
            by_candidate[loan.candidate_id].append(loan)
        return dict(by_candidate)

    async def withdrawals(
        self, candidate_ids: Collection[uuid.UUID]
    ) -> dict[uuid.UUID, Withdrawal]:
        query = select(withdrawn_candidates).where(
            withdrawn_candidates.c.candidate_id.in_(set(candidate_ids))
        )
        return {
            row.candidate_id: Withdrawal(
                row.candidate_id, row.agency, row.journey_id, row.withdrawn_on
            )
            for row in await self.session.execute(query)
        }

    def add_withdrawal(self, withdrawal: Withdrawal) -> None:
        self._withdrawals.append(withdrawal)

    async def financed_placements(
        self, placement_ids: Collection[uuid.UUID]
    ) -> dict[uuid.UUID, uuid.UUID]:
        query = select(loans.c.placement_id, loans.c.id).where(
            loans.c.placement_id.in_(set(placement_ids))
        )
        return {row.placement_id: row.id for row in await self.session.execute(query)}

    async def _load(self, which: ColumnElement[bool], with_costs: bool) -> list[Loan]:
        """The loans `which` selects, each locked until the transaction ends, with their
        parts: one query for each kind, asked only of the loans that can have such parts (an
        open loan has no instalments, payments or restructuring yet)."""
        columns = loans.c if with_costs else LOAN_WITHOUT_COSTS
        rows = (
            await self.session.execute(
                select(*columns).where(which).order_by(loans.c.id).with_for_update()
            )
        ).all()
        if not rows:
            return []
        ids = [row.id for row in rows]
        begun = [row.id for row in rows if row.status != LoanStatus.OPEN]
        paused = [row.id for row in rows if row.status == LoanStatus.PAUSED]
        parts_of = await self._parts(ids, begun, paused)
        found = []
        for row in rows:
            held = self._loans.get(row.id)
            if held is not None and (held.cost_lines is not None or not with_costs):
                found.append(held)  # read before by this repository: its changes are kept
                continue
            loan = _loan(row, *(part.get(row.id) for part in parts_of))
            if with_costs:
                loan.cost_lines = _cost_lines(row.cost_items)
            self._loans[loan.id] = loan
            self._read[loan.id] = _read(loan)
            if loan.open_restructuring is not None:
                self._restructurings[loan.id] = loan.open_restructuring
            found.append(loan)
        return found

    async def _parts(
        self,
        ids: list[uuid.UUID],
        begun: list[uuid.UUID],
        paused: list[uuid.UUID],
    ) -> tuple[dict[uuid.UUID, Any], ...]:
        session = self.session
        granted: dict[uuid.UUID, list[Subsidy]] = defaultdict(list)
        query = (
            select(subsidies)
            .where(subsidies.c.loan_id.in_(ids))
            .order_by(subsidies.c.granted_on, subsidies.c.id)
        )
        for row in await session.execute(query):
            granted[row.loan_id].append(
                Subsidy(row.id, row.provider, row.item, row.amount_idr, row.granted_on)
            )
        written_off: dict[uuid.UUID, list[WriteOff]] = defaultdict(list)
        if begun:
            query = (
                select(write_offs)
                .where(write_offs.c.loan_id.in_(begun))
                .order_by(write_offs.c.recorded_at, write_offs.c.id)
            )
            for row in await session.execute(query):
                written_off[row.loan_id].append(
                    WriteOff(
                        row.id,
                        row.amount_idr,
                        WriteOffReason(row.reason),
                        row.written_off_on,
                        row.recorded_at,
                    )
                )
        paid: dict[uuid.UUID, list[Payment]] = defaultdict(list)
        scheduled: dict[uuid.UUID, list[ScheduledInstalment]] = defaultdict(list)
        if begun:
            query = (
                select(payments)
                .where(payments.c.loan_id.in_(begun))
                .order_by(payments.c.paid_on, payments.c.recorded_at)
            )
            for row in await session.execute(query):
                paid[row.loan_id].append(_payment(row))
            query = (
                select(instalments)
                .where(instalments.c.loan_id.in_(begun))
                .order_by(instalments.c.loan_id, instalments.c.number)
            )
            for row in await session.execute(query):
                scheduled[row.loan_id].append(
                    ScheduledInstalment(
                        row.number, row.due_date, row.amount_idr, row.paid_idr, row.superseded_at
                    )
                )
        opened: dict[uuid.UUID, Restructuring] = {}
        if paused:
            query = select(restructurings).where(
                restructurings.c.loan_id.in_(paused), restructurings.c.decided_at.is_(None)
            )
            for row in await session.execute(query):
                opened[row.loan_id] = Restructuring(
                    row.id, row.return_date, row.reason, row.opened_at
                )
        return granted, written_off, paid, scheduled, opened

    def add(self, loan: Loan) -> None:
        self._loans[loan.id] = loan

    async def get_funders(self, funder_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, Funder]:
        rows = await self.session.execute(select(funders).where(funders.c.id.in_(set(funder_ids))))
        return {row.id: Funder(row.id, row.name, row.created_at) for row in rows}

    def add_funder(self, funder: Funder) -> None:
        self._funders.append(funder)

    async def due_instalments(self, today: date, limit: int) -> list[DueInstalment]:
        result = await self.session.execute(
            select(
                instalments,
                loans.c.candidate_id,
                loans.c.agency,
                loans.c.journey_id,
            )
            .join(loans, loans.c.id == instalments.c.loan_id)
            .where(instalments.c.due_date <= today, *_still_due(claiming=False))
            .order_by(instalments.c.due_date, instalments.c.id)
            .limit(limit)
        )
        due = []
        for row in result:
            instalment = DueInstalment(
                row.loan_id,
                row.number,
                row.due_date,
                row.amount_idr,
                row.paid_idr,
                row.agency,
                row.journey_id,
                row.candidate_id,
            )
            self._due[instalment.id] = instalment
            self._due_traceparents[instalment.id] = row.traceparent
            due.append(instalment)
        return due

    # --- saving ------------------------------------------------------------------------------

    async def save(self) -> WriteConflicts:
        conflicts = WriteConflicts()
        conflicts.funders_taken = await self._save_funders()
        await self._save_withdrawals()
        changed = [loan for loan in self._loans.values() if self._changed(loan)]
        events = [event for loan in changed for event in loan.events]
        staged = outbox_rows(*events)
        # Instalments continue the trace their schedule's event was staged in.
        traceparents = {row["journey_id"]: row["traceparent"] for row in staged}
        await self._save_loans(changed, traceparents)
        await insert_outbox_rows(self.session, staged)
        for loan in changed:
            loan.events.clear()
        # What was saved is forgotten: a further change reads the loans again.
        self._loans, self._read, self._restructurings = {}, {}, {}
        conflicts.not_claimed = await self._save_announcements()
        return conflicts

    async def _save_withdrawals(self) -> None:
        added, self._withdrawals = self._withdrawals, []
        if not added:
            return
        rows = [
            {
                "candidate_id": w.candidate_id,
                "agency": w.agency,
                "journey_id": w.journey_id,
                "withdrawn_on": w.withdrawn_on,
            }
            for w in {w.candidate_id: w for w in added}.values()
        ]
        statement = dialect_insert(self.session, withdrawn_candidates).on_conflict_do_nothing()
        await self.session.execute(statement, rows)

    def _changed(self, loan: Loan) -> bool:
        return bool(loan.events) or self._read.get(loan.id) != _read(loan)

    async def _save_funders(self) -> set[uuid.UUID]:
        added, self._funders = self._funders, []
        taken: set[uuid.UUID] = set()
        for funder in added:
            statement = (
                dialect_insert(self.session, funders)
                .values(id=funder.id, name=funder.name, created_at=funder.created_at)
                .on_conflict_do_nothing()
                .returning(funders.c.id)
            )
            if await self.session.scalar(statement) is None:
                taken.add(funder.id)
        return taken

    async def _save_loans(
        self, changed: list[Loan], traceparents: dict[uuid.UUID, str | None]
    ) -> None:
        rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
        loan_inserts: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
        loan_updates: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
        for loan in changed:
            read = self._read.get(loan.id)
            if read is None:
                # A new loan's empty columns are left to their NULL default: most are empty
                # until departure, and the insert is the hot path of every journey.
                filled = {k: v for k, v in _columns(loan).items() if v is not None}
                loan_inserts[tuple(filled)].append({"id": loan.id, **filled})
            else:
                now = _columns(loan)
                update_of = {k: v for k, v in now.items() if read.columns.get(k) != v}
                if update_of:
                    loan_updates[tuple(sorted(update_of))].append({"loan_id": loan.id, **update_of})
            _part_rows(loan, read, traceparents.get(loan.journey_id), rows)
            read_open = self._restructurings.get(loan.id)
            if read_open is not None and read_open.decided_at is not None:
                rows["decided"].append(
                    {
                        "restructuring_id": read_open.id,
                        "first_due_date": read_open.first_due_date,
                        "instalments": read_open.instalments,
                        "decided_at": read_open.decided_at,
                    }
                )
        await self._write(rows, loan_inserts, loan_updates)

    async def _write(
        self,
        rows: dict[str, list[dict[str, Any]]],
        loan_inserts: dict[tuple[str, ...], list[dict[str, Any]]],
        loan_updates: dict[tuple[str, ...], list[dict[str, Any]]],
    ) -> None:
        execute = self.session.execute
        for inserts in loan_inserts.values():
            await execute(insert(loans), inserts)
        for updates in loan_updates.values():
            await execute(update(loans).where(loans.c.id == bindparam("loan_id")), updates)
        for table, kind in (
            (subsidies, "subsidies"),
            (write_offs, "write_offs"),
            (payments, "payments"),
            (instalments, "instalments"),
            (restructurings, "restructurings"),
        ):
            if rows[kind]:
                await execute(insert(table), rows[kind])
        if rows["paid"]:
            await execute(
                update(instalments)
                .where(instalments.c.id == bindparam("instalment_id"))
                .values(paid_idr=instalments.c.paid_idr + bindparam("paid_now")),
                rows["paid"],
            )
        if rows["superseded"]:
            await execute(
                update(instalments)
                .where(
                    instalments.c.id == bindparam("instalment_id"),
                    instalments.c.superseded_at.is_(None),
                )
                .values(superseded_at=bindparam("superseded")),
                rows["superseded"],
            )
        if rows["decided"]:
            await execute(
                update(restructurings).where(restructurings.c.id == bindparam("restructuring_id")),
                rows["decided"],
            )

    async def _save_announcements(self) -> set[uuid.UUID]:
        announced = [due for due in self._due.values() if due.events]
        if not announced:
            return set()
        claimed: set[uuid.UUID] = set()
        for moment in {due.announced_at for due in announced}:
            claimed |= set(
                await self.session.scalars(
                    update(instalments)
                    .where(
                        instalments.c.id.in_(
                            [due.id for due in announced if due.announced_at == moment]
                        ),
                        *_still_due(claiming=True),
                    )
                    .values(announced_at=moment)
                    .returning(instalments.c.id)
                )
            )
        events: list[Event] = []
        following: dict[uuid.UUID, Any] = {}
        for due in announced:
            if due.id in claimed:
                events += due.events
                following.setdefault(
                    due.journey_id, restored_span(self._due_traceparents.get(due.id))
                )
            due.events.clear()
            del self._due[due.id]
        # Each RepaymentDue continues the trace of the message that fixed its schedule.
        with staging_for_messages(following):
            await insert_outbox_rows(self.session, outbox_rows(*events))
        return {due.id for due in announced} - claimed


def _part_rows(
    loan: Loan,
    read: _Read | None,
    traceparent: str | None,
    rows: dict[str, list[dict[str, Any]]],
) -> None:
    """The rows of a loan's parts that changed since `read` (all of them for a new loan)."""
    granted = read.subsidies if read is not None else frozenset()
    rows["subsidies"] += [
        {
            "id": s.id,
            "loan_id": loan.id,
            "provider": s.provider,
            "item": s.item,
            "amount_idr": s.amount_idr,
            "granted_on": s.granted_on,
        }
        for s in loan.subsidies
        if s.id not in granted
    ]
    written_off = read.write_offs if read is not None else frozenset()
    rows["write_offs"] += [
        {
            "id": w.id,
            "loan_id": loan.id,
            "amount_idr": w.amount_idr,
            "reason": w.reason.value,
            "written_off_on": w.written_off_on,
            "recorded_at": w.recorded_at,
        }
        for w in loan.write_offs
        if w.id not in written_off
    ]
    paid = read.payments if read is not None else frozenset()
    rows["payments"] += [
        {
            "id": p.id,
            "loan_id": loan.id,
            "reference": p.reference,
            "paid_on": p.paid_on,
            "amount_idr": p.amount_idr,
            "channel": p.channel,
            "instalment_numbers": ",".join(str(n) for n in p.instalment_numbers),
            "recorded_at": p.recorded_at,
        }
        for p in loan.payments
        if p.id not in paid
    ]
    _instalment_rows(loan, read.instalments if read is not None else {}, traceparent, rows)
    opened = loan.open_restructuring
    if opened is not None and (read is None or read.restructuring != opened.id):
        rows["restructurings"].append(
            {
                "id": opened.id,
                "loan_id": loan.id,
                "return_date": opened.return_date,
                "reason": opened.reason,
                "opened_at": opened.opened_at,
            }
        )


def _instalment_rows(
    loan: Loan,
    before: dict[int, tuple[int, Any]],
    traceparent: str | None,
    rows: dict[str, list[dict[str, Any]]],
) -> None:
    for instalment in loan.instalments:
        if instalment.number not in before:
            rows["instalments"].append(
                {
                    "id": instalment_id_for(loan.id, instalment.number),
                    "loan_id": loan.id,
                    "number": instalment.number,
                    "due_date": instalment.due_date,
                    "amount_idr": instalment.amount_idr,
                    "paid_idr": instalment.paid_idr,
                    "superseded_at": instalment.superseded_at,
                    "traceparent": traceparent,
                }
            )
            continue
        paid_before, superseded_before = before[instalment.number]
        newly_superseded = instalment.superseded_at is not None and superseded_before is None
        if instalment.paid_idr == paid_before and not newly_superseded:
            continue  # unchanged: most of a schedule, each time its loan is saved
        instalment_id = instalment_id_for(loan.id, instalment.number)
        if instalment.paid_idr != paid_before:
            rows["paid"].append(
                {"instalment_id": instalment_id, "paid_now": instalment.paid_idr - paid_before}
            )
        if newly_superseded:
            rows["superseded"].append(
                {"instalment_id": instalment_id, "superseded": instalment.superseded_at}
            )


def _loan(
    row: Any,
    granted: list[Subsidy] | None,
    written_off: list[WriteOff] | None,
    paid: list[Payment] | None,
    scheduled: list[ScheduledInstalment] | None,
    opened: Restructuring | None,
) -> Loan:
    return Loan(
        id=row.id,
        placement_id=row.placement_id,
        candidate_id=row.candidate_id,
        agency=row.agency,
        journey_id=row.journey_id,
        track=Track(row.track),
        contract_months=row.contract_months,
        principal_idr=row.principal_idr,
        status=LoanStatus(row.status),
        opened_at=row.opened_at,
        funder_id=row.funder_id,
        monthly_wage_jpy=row.monthly_wage_jpy,
        repayment_channel=RepaymentChannel(row.repayment_channel),
        departure_date=row.departure_date,
        schedule_fixed_at=row.schedule_fixed_at,
        paused_on=row.paused_on,
        settled_at=row.settled_at,
        refund_due_idr=row.refund_due_idr,
        channel=row.channel,
        closed_on=row.closed_on,
        subsidies=granted or [],
        write_offs=written_off or [],
        payments=paid or [],
        instalments=scheduled or [],
        open_restructuring=opened,
    )


def _payment(row: Any) -> Payment:
    return Payment(
        row.id,
        row.reference,
        row.paid_on,
        row.amount_idr,
        row.channel,
        tuple(int(n) for n in row.instalment_numbers.split(",") if n),
        row.recorded_at,
    )
