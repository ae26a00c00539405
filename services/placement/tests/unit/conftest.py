"""Fakes for the handlers' unit tests: the repository in memory and a clock that stands still,
so every handler runs without a database or NATS."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time

import pytest

from jembatan_contracts import Event
from jembatan_placement.adapters.repository import PlacementRepository
from jembatan_placement.domain.journey import (
    ENDED_STATUSES,
    SLOT_HOLDING_STATUSES,
    PlacementStatus,
    months_begun,
)
from jembatan_placement.domain.model import HeldCertificate, JobOrder, ReadyCandidate
from jembatan_placement.domain.placement import (
    CandidatePaths,
    PathStep,
    PathSummary,
    Placement,
    StaySummary,
    Withdrawal,
)
from jembatan_placement.domain.readiness import Certificate, Readiness, doubt

NOW = datetime(2027, 1, 15, 9, 30, tzinfo=UTC)


class FixedClock:
    def __init__(self, now: datetime = NOW) -> None:
        self.moment = now

    def now(self) -> datetime:
        return self.moment

    def today(self) -> date:
        return self.moment.date()


@dataclass
class StoredPlacement:
    id: uuid.UUID
    job_order_id: uuid.UUID
    candidate_id: uuid.UUID
    journey_id: uuid.UUID
    agency: str
    status: PlacementStatus
    started_at: datetime
    placed_at: datetime | None
    departure_date: date | None
    steps: list[PathStep] = field(default_factory=list)


class FakeRepository(PlacementRepository):
    """`PlacementRepository` in memory, with the writes' rules of the SQL one: slots claimed only
    while free on an open order, a placement moved only from the status it was read in, one slot
    and one live path per order a candidate, an order closed once. What is saved is kept in
    `orders`, `candidates`, `certificates`, `waiting`, `stored`; the events staged, in order, in
    `outbox`.

    `meanwhile`, when set, runs once at the start of the next `save`: a request at the same moment
    that commits first. Writes to the ids in `contended` are always lost."""

    def __init__(self) -> None:
        self.orders: dict[uuid.UUID, JobOrder] = {}
        self.candidates: dict[uuid.UUID, ReadyCandidate] = {}
        self.certificates: dict[uuid.UUID, Certificate] = {}
        self.stored: dict[uuid.UUID, StoredPlacement] = {}
        self.ready_at: dict[uuid.UUID, datetime] = {}
        self.withdrawals: dict[uuid.UUID, Withdrawal] = {}
        self.waiting: dict[uuid.UUID, Readiness] = {}
        self.outbox: list[Event] = []
        self.meanwhile: Callable[[], None] | None = None
        self.contended: set[uuid.UUID] = set()
        self.saves = 0
        self._forget()

    def _forget(self) -> None:
        self._orders: dict[uuid.UUID, JobOrder] = {}
        self._orders_read: dict[uuid.UUID, bool] = {}
        self._new_orders: list[JobOrder] = []
        self._placements: dict[uuid.UUID, Placement] = {}
        self._read_status: dict[uuid.UUID, PlacementStatus] = {}
        self._new_placements: list[Placement] = []
        self._commitments: dict[uuid.UUID, int] = {}
        self._new_certificates: list[Certificate] = []
        self._readiness: list[Readiness] = []
        self._waiting: list[Readiness] = []
        self._waited: list[Readiness] = []
        self._withdrawals: list[Withdrawal] = []

    # --- seeding and reading what is kept ---------------------------------------------------

    def keep(self, *items: JobOrder | ReadyCandidate | Certificate) -> None:
        for item in items:
            if isinstance(item, JobOrder):
                self.orders[item.id] = replace(item)
            elif isinstance(item, ReadyCandidate):
                self.candidates[item.candidate_id] = item
                self.ready_at[item.candidate_id] = datetime.combine(item.ready_on, time(), UTC)
            else:
                self.certificates[item.certificate_id] = item

    def events(self, kind: type[Event] | None = None) -> list[Event]:
        return [event for event in self.outbox if kind is None or isinstance(event, kind)]

    # --- loads ------------------------------------------------------------------------------

    async def job_orders(self, ids: Collection[uuid.UUID]) -> dict[uuid.UUID, JobOrder]:
        for order_id in ids:
            if order_id in self.orders and order_id not in self._orders:
                self._orders[order_id] = replace(self.orders[order_id])
                self._orders_read[order_id] = self.orders[order_id].closed
        return {order_id: self._orders[order_id] for order_id in ids if order_id in self._orders}

    def add_job_order(self, order: JobOrder) -> None:
        self._new_orders.append(order)

    async def ready_candidates(self, ids: Collection[uuid.UUID]) -> dict[uuid.UUID, ReadyCandidate]:
        return {
            candidate_id: replace(
                self.candidates[candidate_id],
                certificates=frozenset(
                    HeldCertificate(certificate.test, certificate.sector)
                    for certificate in self.certificates.values()
                    if certificate.candidate_id == candidate_id
                ),
                withdrawn_on=self._withdrawn_on(self.candidates[candidate_id]),
            )
            for candidate_id in ids
            if candidate_id in self.candidates
        }

    def _withdrawn_on(self, candidate: ReadyCandidate) -> date | None:
        """A withdrawal of the candidate's agency and journey, heard before or after them."""
        withdrawal = self.withdrawals.get(candidate.candidate_id)
        if withdrawal is None or not withdrawal.concerns(candidate.agency, candidate.journey_id):
            return None
        return withdrawal.withdrawn_on

    def record_commitment(self, candidate_id: uuid.UUID, months_willing_to_stay: int) -> None:
        self._commitments[candidate_id] = months_willing_to_stay

    async def placements(self, ids: Collection[uuid.UUID]) -> dict[uuid.UUID, Placement]:
        wanted = [i for i in ids if i in self.stored and i not in self._placements]
        orders = await self.job_orders({self.stored[i].job_order_id for i in wanted})
        for placement_id in wanted:
            row = self.stored[placement_id]
            self._placements[placement_id] = Placement(
                id=row.id,
                order=orders[row.job_order_id],
                candidate_id=row.candidate_id,
                journey_id=row.journey_id,
                agency=row.agency,
                status=row.status,
                started_at=row.started_at,
                last_step_on=max(step.happened_on for step in row.steps),
                placed_at=row.placed_at,
                departure_date=row.departure_date,
            )
            self._read_status[placement_id] = row.status
        return {i: self._placements[i] for i in ids if i in self._placements}

    async def paths_of(self, candidate_ids: Collection[uuid.UUID]) -> CandidatePaths:
        mine = [row for row in self.stored.values() if row.candidate_id in candidate_ids]
        return CandidatePaths(
            (
                PathSummary(row.id, row.candidate_id, row.job_order_id, row.status)
                for row in mine
                if row.status not in ENDED_STATUSES
            ),
            (
                StaySummary(
                    row.candidate_id,
                    self.orders[row.job_order_id].track,
                    months_begun(row.departure_date, row.steps[-1].happened_on),
                )
                for row in mine
                if row.status is PlacementStatus.RETURNED_EARLY and row.departure_date
            ),
        )

    def add_placement(self, placement: Placement) -> None:
        self._new_placements.append(placement)

    async def certificates_of(
        self, candidate_ids: Collection[uuid.UUID]
    ) -> dict[uuid.UUID, list[Certificate]]:
        held: dict[uuid.UUID, list[Certificate]] = {}
        for certificate in self.certificates.values():
            if certificate.candidate_id in candidate_ids:
                held.setdefault(certificate.candidate_id, []).append(certificate)
        return held

    def add_certificates(self, certificates: Sequence[Certificate]) -> None:
        self._new_certificates.extend(certificates)

    def add_readiness(self, readiness: Sequence[Readiness]) -> None:
        self._readiness.extend(readiness)

    async def waiting_readiness(
        self, candidate_ids: Collection[uuid.UUID]
    ) -> dict[uuid.UUID, Readiness]:
        return {i: self.waiting[i] for i in candidate_ids if i in self.waiting}

    async def waiting_with_a_certificate(self, limit: int) -> dict[uuid.UUID, Readiness]:
        held = await self.certificates_of(set(self.waiting))
        vouched = [
            readiness
            for readiness in self.waiting.values()
            if doubt(readiness, held.get(readiness.candidate_id, [])) is None
        ]
        return {readiness.candidate_id: readiness for readiness in vouched[:limit]}

    def add_waiting(self, readiness: Sequence[Readiness]) -> None:
        self._waiting.extend(readiness)

    def end_waiting(self, readiness: Sequence[Readiness]) -> None:
        self._waited.extend(readiness)

    def add_withdrawals(self, withdrawals: Sequence[Withdrawal]) -> None:
        self._withdrawals.extend(withdrawals)

    # --- save -------------------------------------------------------------------------------

    async def save(self) -> set[uuid.UUID]:
        self.saves += 1
        if self.meanwhile is not None:
            meanwhile, self.meanwhile = self.meanwhile, None
            meanwhile()
        try:
            return self._write()
        finally:
            self._forget()

    def _write(self) -> set[uuid.UUID]:
        lost: set[uuid.UUID] = set(self.contended)
        returned: Counter[uuid.UUID] = Counter()
        for withdrawal in self._withdrawals:
            self.withdrawals.setdefault(withdrawal.candidate_id, withdrawal)
        for placement in self._new_placements:
            candidate = self.candidates[placement.candidate_id]
            if self._withdrawn_on(candidate) is not None:
                lost.add(placement.id)  # withdrawn a moment ago: the path is decided again
        for order in self._new_orders:
            self.orders[order.id] = replace(order)
        for order in self._orders.values():
            if order.closed and not self._orders_read[order.id]:
                if self.orders[order.id].closed or order.id in lost:
                    lost.add(order.id)
                else:
                    self.orders[order.id] = replace(
                        self.orders[order.id],
                        closed=True,
                        closed_at=order.closed_at,
                        close_reason=order.close_reason,
                    )
        takers: dict[uuid.UUID, list[Placement]] = {}
        for placement in [*self._new_placements, *self._placements.values()]:
            was = self._read_status.get(placement.id)
            took = placement.holds_slot and (was is None or was not in SLOT_HOLDING_STATUSES)
            if took and placement.id not in lost:
                takers.setdefault(placement.job_order_id, []).append(placement)
        for order_id, taking in takers.items():
            stored = self.orders[order_id]
            if stored.closed or stored.filled + len(taking) > stored.slots or order_id in lost:
                lost.add(order_id)
                lost.update(placement.id for placement in taking)
            else:
                stored.filled += len(taking)
        written = []
        for placement in self._new_placements:
            if placement.id in lost:
                continue
            if self._breaks_an_index(placement):
                lost.add(placement.id)
                returned[placement.job_order_id] += placement.holds_slot
                continue
            written.append(placement)
            self.stored[placement.id] = StoredPlacement(
                placement.id,
                placement.job_order_id,
                placement.candidate_id,
                placement.journey_id,
                placement.agency,
                placement.status,
                placement.started_at,
                placement.placed_at,
                placement.departure_date,
            )
        for placement in self._placements.values():
            was = self._read_status[placement.id]
            if placement.status is was or placement.id in lost:
                continue
            row = self.stored[placement.id]
            onto_slot = placement.holds_slot and was not in SLOT_HOLDING_STATUSES
            if row.status is not was or (onto_slot and self._breaks_an_index(placement)):
                lost.add(placement.id)
                returned[placement.job_order_id] += onto_slot
                continue
            if was in SLOT_HOLDING_STATUSES and placement.status is PlacementStatus.WITHDRAWN:
                returned[placement.job_order_id] += 1  # given back
            written.append(placement)
            row.status = placement.status
            row.placed_at, row.departure_date = placement.placed_at, placement.departure_date
        for order_id, count in returned.items():
            self.orders[order_id].filled -= count
        recorded: list[tuple[int, Event]] = []
        for placement in written:
            self.stored[placement.id].steps.extend(placement.new_steps)
            recorded.extend(zip(placement.event_order, placement.events, strict=True))
        self.outbox.extend(event for _, event in sorted(recorded, key=lambda pair: pair[0]))
        for candidate_id, months in self._commitments.items():
            self.candidates[candidate_id] = replace(
                self.candidates[candidate_id], months_willing_to_stay=months
            )
        for certificate in self._new_certificates:
            self.certificates.setdefault(certificate.certificate_id, certificate)
        for readiness in self._readiness:
            self._keep_readiness(readiness)
        for readiness in self._waiting:
            kept = self.waiting.get(readiness.candidate_id)
            if kept is None or kept.ready_at < readiness.ready_at:
                self.waiting[readiness.candidate_id] = readiness
        for readiness in self._waited:
            kept = self.waiting.get(readiness.candidate_id)
            if kept is not None and kept.ready_at <= readiness.ready_at:
                del self.waiting[readiness.candidate_id]
        return lost

    def _breaks_an_index(self, placement: Placement) -> bool:
        """One slot-holding placement per candidate; one live path per candidate and order."""
        for row in self.stored.values():
            if row.candidate_id != placement.candidate_id or row.id == placement.id:
                continue
            if placement.holds_slot and row.status in SLOT_HOLDING_STATUSES:
                return True
            if row.job_order_id == placement.job_order_id and row.status not in ENDED_STATUSES:
                return True
        return False

    def _keep_readiness(self, readiness: Readiness) -> None:
        """The latest readiness of a candidate wins; the commitment recorded stays."""
        kept = self.candidates.get(readiness.candidate_id)
        if kept is not None and self.ready_at[readiness.candidate_id] >= readiness.ready_at:
            return
        self.ready_at[readiness.candidate_id] = readiness.ready_at
        self.candidates[readiness.candidate_id] = ReadyCandidate(
            candidate_id=readiness.candidate_id,
            journey_id=readiness.journey_id,
            agency=readiness.agency,
            track=readiness.track,
            sector=readiness.sector,
            language_level=readiness.language_level,
            ready_on=readiness.ready_at.date(),
            daily_score_average=readiness.daily_score_average,
            months_willing_to_stay=kept.months_willing_to_stay if kept else None,
        )


@pytest.fixture
def repo() -> FakeRepository:
    return FakeRepository()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()
