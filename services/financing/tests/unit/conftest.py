"""Fakes for the handlers' unit tests: a repository in memory and a clock that stands still, so
every handler runs without a database or NATS."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Collection
from datetime import UTC, date, datetime

import pytest

from jembatan_contracts import Event
from jembatan_financing.adapters.repository import FinancingRepository, WriteConflicts
from jembatan_financing.domain.loan import DueInstalment, Funder, Loan, Withdrawal
from jembatan_financing.domain.model import LoanStatus, instalment_id_for

NOW = datetime(2026, 11, 2, 3, 0, tzinfo=UTC)


class FixedClock:
    def __init__(self, now: datetime = NOW) -> None:
        self.moment = now

    def now(self) -> datetime:
        return self.moment

    def today(self) -> date:
        return self.moment.date()


class FakeRepository(FinancingRepository):
    """`FinancingRepository` in memory. What `save` writes is kept in `loans`, `funders` and
    `announced`; the events staged, in order, in `outbox`. A loan handed out is a copy, so a
    change not saved is lost, as in a rolled-back transaction; its cost items are left out
    unless asked for, as the real repository does. `announce_meanwhile` plays another scheduler
    that announces instalments between this one's read and its save."""

    def __init__(self) -> None:
        self.loans: dict[uuid.UUID, Loan] = {}
        self.funders: dict[uuid.UUID, Funder] = {}
        self.announced: dict[uuid.UUID, datetime] = {}
        self.withdrawn: dict[uuid.UUID, Withdrawal] = {}
        self.outbox: list[Event] = []
        self.saves = 0
        self._handed: dict[uuid.UUID, Loan] = {}
        self._new_funders: list[Funder] = []
        self._new_withdrawals: list[Withdrawal] = []
        self._due: list[DueInstalment] = []
        self._meanwhile: set[uuid.UUID] = set()

    def announce_meanwhile(self, instalment_ids: Collection[uuid.UUID]) -> None:
        self._meanwhile |= set(instalment_ids)

    def _hand_out(self, loan: Loan, with_costs: bool) -> Loan:
        held = self._handed.get(loan.id)
        if held is not None and (held.cost_lines is not None or not with_costs):
            return held
        handed = copy.deepcopy(loan)
        if not with_costs:
            handed.cost_lines = None
        self._handed[loan.id] = handed
        return handed

    async def get_many(
        self, loan_ids: Collection[uuid.UUID], *, with_costs: bool = False
    ) -> dict[uuid.UUID, Loan]:
        return {
            loan_id: self._hand_out(self.loans[loan_id], with_costs)
            for loan_id in loan_ids
            if loan_id in self.loans
        }

    async def of_placements(self, placement_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, Loan]:
        return {
            loan.placement_id: self._hand_out(loan, with_costs=False)
            for loan in self.loans.values()
            if loan.placement_id in placement_ids
        }

    async def of_candidates(
        self, candidate_ids: Collection[uuid.UUID]
    ) -> dict[uuid.UUID, list[Loan]]:
        found: dict[uuid.UUID, list[Loan]] = {}
        for loan in self.loans.values():
            if loan.candidate_id in candidate_ids:
                found.setdefault(loan.candidate_id, []).append(self._hand_out(loan, False))
        return found

    async def withdrawals(
        self, candidate_ids: Collection[uuid.UUID]
    ) -> dict[uuid.UUID, Withdrawal]:
        return {c: self.withdrawn[c] for c in candidate_ids if c in self.withdrawn}

    def add_withdrawal(self, withdrawal: Withdrawal) -> None:
        self._new_withdrawals.append(withdrawal)

    async def financed_placements(
        self, placement_ids: Collection[uuid.UUID]
    ) -> dict[uuid.UUID, uuid.UUID]:
        return {
            loan.placement_id: loan.id
            for loan in self.loans.values()
            if loan.placement_id in placement_ids
        }

    def add(self, loan: Loan) -> None:
        self._handed[loan.id] = loan

    async def get_funders(self, funder_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, Funder]:
        return {i: self.funders[i] for i in funder_ids if i in self.funders}

    def add_funder(self, funder: Funder) -> None:
        self._new_funders.append(funder)

    async def due_instalments(self, today: date, limit: int) -> list[DueInstalment]:
        due = [
            DueInstalment(
                loan.id,
                i.number,
                i.due_date,
                i.amount_idr,
                i.paid_idr,
                loan.agency,
                loan.journey_id,
                loan.candidate_id,
            )
            for loan in self.loans.values()
            if loan.status == LoanStatus.REPAYING
            for i in loan.instalments
            if i.due_date <= today
            and i.superseded_at is None
            and i.paid_idr < i.amount_idr
            and instalment_id_for(loan.id, i.number) not in self.announced
        ]
        due.sort(key=lambda d: (d.due_date, d.id))
        self._due = due[:limit]
        return list(self._due)

    async def save(self) -> WriteConflicts:
        self.saves += 1
        conflicts = WriteConflicts()
        for funder in self._new_funders:
            if funder.id in self.funders:
                conflicts.funders_taken.add(funder.id)
            else:
                self.funders[funder.id] = funder
        self._new_funders = []
        for withdrawal in self._new_withdrawals:
            self.withdrawn.setdefault(withdrawal.candidate_id, withdrawal)
        self._new_withdrawals = []
        for loan in self._handed.values():
            stored = copy.deepcopy(loan)
            if stored.cost_lines is None:
                stored.cost_lines = self.loans[loan.id].cost_lines
            stored.events = []
            self.loans[loan.id] = stored
            self.outbox += loan.events
            loan.events.clear()
        for instalment in self._due:
            if not instalment.events:
                continue
            if instalment.id in self._meanwhile or instalment.id in self.announced:
                conflicts.not_claimed.add(instalment.id)
                self.announced.setdefault(instalment.id, NOW)
            else:
                assert instalment.announced_at is not None
                self.announced[instalment.id] = instalment.announced_at
                self.outbox += instalment.events
            instalment.events.clear()
        self._due = []
        self._handed = {}  # the next use case reads afresh, as on a new transaction
        return conflicts

    def staged(self, event_type: type[Event]) -> list[Event]:
        return [event for event in self.outbox if isinstance(event, event_type)]


@pytest.fixture
def repo() -> FakeRepository:
    return FakeRepository()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def new_repo() -> type[FakeRepository]:
    """Another, empty repository, for a test comparing two runs."""
    return FakeRepository
