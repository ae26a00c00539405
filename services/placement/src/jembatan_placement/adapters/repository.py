"""Where placement keeps its job orders, ready candidates and placements. The handlers see
`PlacementRepository`; the service runs on `SqlPlacementRepository`, over one AsyncSession (one
transaction, committed by the caller's unit of work), and the unit tests on an in-memory fake.

The repository loads what a list of commands needs in a few queries and writes the changes of a
whole list at once, with the outbox rows of the events the placements recorded, in the same
transaction.

Concurrency is decided by the writes. Slots are claimed with `filled = filled + n` only where
the order still has `n` free and is open; a placement moves only from the status it was read
in; a new placement is inserted `ON CONFLICT DO NOTHING` on the indexes that allow a candidate
one slot and one live path per order, and only after its candidate's row is claimed while not
withdrawn (a withdrawal marks that row first, so one of the two waits for the other); an order
is closed only if still open. What a request at
the same moment won is not written (nor the events of it, nor the slots it took): `save` names it,
and the handler answers or retries that item alone.
"""

from __future__ import annotations

import abc
import uuid
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Table, bindparam, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from jembatan_contracts import (
    CandidateIdentityCleared,
    DuplicateRegistrationFound,
    Event,
    TestKind,
    Track,
)
from jembatan_kit.db import dialect_insert
from jembatan_kit.outbox import insert_outbox_rows, outbox_rows

from ..domain.journey import (
    ENDED_STATUSES,
    SLOT_HOLDING_STATUSES,
    PlacementStatus,
    months_begun,
)
from ..domain.model import HeldCertificate, JobOrder, LanguageLevel, ReadyCandidate
from ..domain.placement import (
    CandidatePaths,
    PathSummary,
    Placement,
    StaySummary,
    Withdrawal,
)
from ..domain.readiness import Certificate, Readiness
from .orm import (
    candidate_certificates,
    candidate_withdrawals,
    identity_holds,
    job_orders,
    placement_steps,
    placements,
    ready_candidates,
    waiting_readiness,
)


class PlacementRepository(abc.ABC):
    @abc.abstractmethod
    async def job_orders(self, ids: Collection[uuid.UUID]) -> dict[uuid.UUID, JobOrder]:
        """The job orders of these ids that exist; `save` writes what is done to them."""

    @abc.abstractmethod
    def add_job_order(self, order: JobOrder) -> None:
        """A new job order, inserted by the next `save`."""

    @abc.abstractmethod
    async def ready_candidates(self, ids: Collection[uuid.UUID]) -> dict[uuid.UUID, ReadyCandidate]:
        """The candidates of these ids training announced ready, with their certificates."""

    @abc.abstractmethod
    def record_commitment(self, candidate_id: uuid.UUID, months_willing_to_stay: int) -> None:
        """A ready candidate's commitment, written by the next `save`."""

    @abc.abstractmethod
    async def placements(self, ids: Collection[uuid.UUID]) -> dict[uuid.UUID, Placement]:
        """The placements of these ids that exist, each with its job order (one object per
        order, shared with `job_orders`); `save` writes what is done to them."""

    @abc.abstractmethod
    async def paths_of(self, candidate_ids: Collection[uuid.UUID]) -> CandidatePaths:
        """The live paths (not ended) of these candidates, and the stays in Japan they came
        back from early."""

    @abc.abstractmethod
    def add_placement(self, placement: Placement) -> None:
        """A new placement, inserted by the next `save`."""

    @abc.abstractmethod
    async def certificates_of(
        self, candidate_ids: Collection[uuid.UUID]
    ) -> dict[uuid.UUID, list[Certificate]]:
        """The certificates each of these candidates holds (candidates with none are left out)."""

    @abc.abstractmethod
    def add_certificates(self, certificates: Sequence[Certificate]) -> None:
        """Certificates to keep; one already kept (by `certificate_id`) is left as it is."""

    @abc.abstractmethod
    def add_readiness(self, readiness: Sequence[Readiness]) -> None:
        """Readiness to keep, at most one per candidate: each replaces what is kept of its
        candidate only if it is later (`ready_at`), and keeps the commitment recorded."""

    @abc.abstractmethod
    async def waiting_readiness(
        self, candidate_ids: Collection[uuid.UUID]
    ) -> dict[uuid.UUID, Readiness]:
        """The readiness waiting for a certificate of each of these candidates (candidates with
        none are left out)."""

    @abc.abstractmethod
    async def waiting_with_a_certificate(self, limit: int) -> dict[uuid.UUID, Readiness]:
        """At most `limit` readiness waiting though their candidate holds a certificate of their
        agency and journey now (`readiness.doubt`), by candidate."""

    @abc.abstractmethod
    def add_waiting(self, readiness: Sequence[Readiness]) -> None:
        """Readiness to keep waiting for a certificate, at most one per candidate: each replaces
        what waits for its candidate only if it is later (`ready_at`)."""

    @abc.abstractmethod
    def end_waiting(self, readiness: Sequence[Readiness]) -> None:
        """These readiness wait no more (their candidates were made ready): the next `save`
        removes each, unless a later one of its candidate replaced it meanwhile."""

    @abc.abstractmethod
    def add_withdrawals(self, withdrawals: Sequence[Withdrawal]) -> None:
        """Withdrawals to keep, at most one per candidate (the first kept stays), each marking
        its candidate withdrawn if the candidate is known with the same agency and journey.
        Written first by the next `save`."""

    @abc.abstractmethod
    async def save(self) -> set[uuid.UUID]:
        """Write everything added and changed since the last `save`, with the events recorded,
        and forget it (the next loads read afresh). Returns the ids of the job orders and
        placements left unwritten because a request at the same moment changed them first; the
        placements that took a slot of an order left unwritten are left unwritten too."""


def job_order_of(row: Any) -> JobOrder:
    """A job order from a row of `job_orders`."""
    return JobOrder(
        id=row.id,
        sector=row.sector,
        track=Track(row.track),
        slots=row.slots,
        filled=row.filled,
        contract_months=row.contract_months,
        minimum_language_level=LanguageLevel(row.minimum_language_level),
        required_certificates=frozenset(TestKind(test) for test in row.required_certificates),
        closed=row.closed_at is not None,
        employer=row.employer,
        supervising_organisation=row.supervising_organisation,
        prefecture=row.prefecture,
        monthly_wage_jpy=row.monthly_wage_jpy,
        interview_date=row.interview_date,
        opened_at=row.opened_at,
        closed_at=row.closed_at,
        close_reason=row.close_reason,
    )


async def ready_candidates_of(session: AsyncSession, rows: Iterable[Any]) -> list[ReadyCandidate]:
    """Ready candidates from rows of `ready_candidates`, with their certificates and whether
    they withdrew (two queries)."""
    rows = list(rows)
    held: dict[uuid.UUID, set[HeldCertificate]] = {}
    withdrawn = await withdrawn_on(session, rows)
    holds = await identity_holds_of(session, rows)
    if rows:
        for certificate in await session.execute(
            select(
                candidate_certificates.c.candidate_id,
                candidate_certificates.c.test,
                candidate_certificates.c.sector,
            ).where(candidate_certificates.c.candidate_id.in_([row.candidate_id for row in rows]))
        ):
            held.setdefault(certificate.candidate_id, set()).add(
                HeldCertificate(TestKind(certificate.test), certificate.sector)
            )
    return [
        ReadyCandidate(
            candidate_id=row.candidate_id,
            journey_id=row.journey_id,
            agency=row.agency,
            track=Track(row.track),
            sector=row.sector,
            language_level=row.language_level,
            ready_on=row.ready_at.date(),
            certificates=frozenset(held.get(row.candidate_id, ())),
            daily_score_average=row.daily_score_average,
            months_willing_to_stay=row.months_willing_to_stay,
            withdrawn_on=withdrawn.get(row.candidate_id),
            identity_hold=holds.get(row.candidate_id),
        )
        for row in rows
    ]


async def identity_holds_of(session: AsyncSession, rows: Sequence[Any]) -> dict[uuid.UUID, str]:
    """The national identity hold of each candidate of these rows of `ready_candidates` that has
    one (of the same agency and journey)."""
    if not rows:
        return {}
    by_id = {row.candidate_id: row for row in rows}
    holds: dict[uuid.UUID, str] = {}
    for kept in await session.execute(
        select(identity_holds).where(identity_holds.c.candidate_id.in_(list(by_id)))
    ):
        row = by_id[kept.candidate_id]
        if kept.hold and (kept.agency, kept.journey_id) == (row.agency, row.journey_id):
            holds[kept.candidate_id] = kept.hold
    return holds


async def hold_for_identity(
    session: AsyncSession, found: Sequence[DuplicateRegistrationFound]
) -> None:
    """Keep each duplicate found, unless registration said something later of the candidate."""
    for event in found:
        await _tell_hold(session, event, "suspended" if event.suspended else "duplicate")


async def clear_identity_holds(
    session: AsyncSession, cleared: Sequence[CandidateIdentityCleared]
) -> None:
    """Lift each candidate's hold, unless registration said something later of the candidate."""
    for event in cleared:
        await _tell_hold(session, event, None)


async def _tell_hold(
    session: AsyncSession,
    event: DuplicateRegistrationFound | CandidateIdentityCleared,
    hold: str | None,
) -> None:
    told_at = event.occurred_at
    insert = dialect_insert(session, identity_holds).values(
        candidate_id=event.candidate_id,
        agency=event.agency,
        journey_id=event.journey_id,
        hold=hold,
        told_at=told_at,
    )
    await session.execute(
        insert.on_conflict_do_update(
            index_elements=["candidate_id"],
            set_={"hold": hold, "told_at": told_at},
            where=identity_holds.c.told_at < told_at,
        )
    )


async def withdrawn_on(session: AsyncSession, rows: Sequence[Any]) -> dict[uuid.UUID, date]:
    """The day each candidate of these rows of `ready_candidates` withdrew, if they did: marked
    on the row, or kept as a withdrawal of the same agency and journey (heard before the
    readiness, or while it was being written)."""
    withdrawn = {row.candidate_id: row.withdrawn_on for row in rows if row.withdrawn_on}
    unmarked = {row.candidate_id: row for row in rows if not row.withdrawn_on}
    if unmarked:
        for kept in await session.execute(
            select(candidate_withdrawals).where(
                candidate_withdrawals.c.candidate_id.in_(list(unmarked))
            )
        ):
            row = unmarked[kept.candidate_id]
            if (kept.agency, kept.journey_id) == (row.agency, row.journey_id):
                withdrawn[kept.candidate_id] = kept.withdrawn_on
    return withdrawn


class SqlPlacementRepository(PlacementRepository):
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._forget()

    def _forget(self) -> None:
        self._orders: dict[uuid.UUID, JobOrder] = {}
        self._closed_when_read: dict[uuid.UUID, bool] = {}
        self._new_orders: list[JobOrder] = []
        self._placements: dict[uuid.UUID, Placement] = {}
        self._placements_read: dict[uuid.UUID, _PlacementRead] = {}
        self._new_placements: list[Placement] = []
        self._commitments: dict[uuid.UUID, int] = {}
        self._certificates: list[Certificate] = []
        self._readiness: list[Readiness] = []
        self._waiting: list[Readiness] = []
        self._waited: list[Readiness] = []
        self._withdrawals: list[Withdrawal] = []

    # --- loads ------------------------------------------------------------------------------

    async def job_orders(self, ids: Collection[uuid.UUID]) -> dict[uuid.UUID, JobOrder]:
        wanted = [order_id for order_id in ids if order_id not in self._orders]
        if wanted:
            for row in await self.session.execute(
                select(job_orders).where(job_orders.c.id.in_(wanted))
            ):
                self._orders[row.id] = job_order_of(row)
                self._closed_when_read[row.id] = row.closed_at is not None
        return {order_id: self._orders[order_id] for order_id in ids if order_id in self._orders}

    async def ready_candidates(self, ids: Collection[uuid.UUID]) -> dict[uuid.UUID, ReadyCandidate]:
        if not ids:
            return {}
        rows = await self.session.execute(
            select(ready_candidates).where(ready_candidates.c.candidate_id.in_(list(ids)))
        )
        return {
            candidate.candidate_id: candidate
            for candidate in await ready_candidates_of(self.session, rows)
        }

    async def placements(self, ids: Collection[uuid.UUID]) -> dict[uuid.UUID, Placement]:
        wanted = [placement_id for placement_id in ids if placement_id not in self._placements]
        if wanted:
            rows = (
                await self.session.execute(select(placements).where(placements.c.id.in_(wanted)))
            ).all()
            orders = await self.job_orders({row.job_order_id for row in rows})
            last_step_on: dict[uuid.UUID, date] = {
                placement_id: day
                for placement_id, day in await self.session.execute(
                    select(placement_steps.c.placement_id, func.max(placement_steps.c.happened_on))
                    .where(placement_steps.c.placement_id.in_(wanted))
                    .group_by(placement_steps.c.placement_id)
                )
            }
            for row in rows:
                placement = Placement(
                    id=row.id,
                    order=orders[row.job_order_id],
                    candidate_id=row.candidate_id,
                    journey_id=row.journey_id,
                    agency=row.agency,
                    status=PlacementStatus(row.status),
                    started_at=row.started_at,
                    last_step_on=last_step_on[row.id],
                    placed_at=row.placed_at,
                    departure_date=row.departure_date,
                )
                self._placements[placement.id] = placement
                self._placements_read[placement.id] = _PlacementRead(
                    placement.status, placement.placed_at, placement.departure_date
                )
        return {
            placement_id: self._placements[placement_id]
            for placement_id in ids
            if placement_id in self._placements
        }

    async def paths_of(self, candidate_ids: Collection[uuid.UUID]) -> CandidatePaths:
        if not candidate_ids:
            return CandidatePaths()
        rows = (
            await self.session.execute(
                select(
                    placements.c.id,
                    placements.c.candidate_id,
                    placements.c.job_order_id,
                    placements.c.status,
                ).where(
                    placements.c.candidate_id.in_(list(candidate_ids)),
                    placements.c.status.not_in([status.value for status in ENDED_STATUSES]),
                )
            )
        ).all()
        stays = (
            await self.session.execute(
                select(
                    placements.c.candidate_id,
                    job_orders.c.track,
                    placements.c.departure_date,
                    placement_steps.c.happened_on,
                )
                .join(job_orders, job_orders.c.id == placements.c.job_order_id)
                .join(
                    placement_steps,
                    (placement_steps.c.placement_id == placements.c.id)
                    & (placement_steps.c.status == PlacementStatus.RETURNED_EARLY.value),
                )
                .where(
                    placements.c.candidate_id.in_(list(candidate_ids)),
                    placements.c.status == PlacementStatus.RETURNED_EARLY.value,
                )
            )
        ).all()
        return CandidatePaths(
            (
                PathSummary(row.id, row.candidate_id, row.job_order_id, PlacementStatus(row.status))
                for row in rows
            ),
            (
                StaySummary(
                    stay.candidate_id,
                    Track(stay.track),
                    months_begun(stay.departure_date, stay.happened_on),
                )
                for stay in stays
            ),
        )

    async def certificates_of(
        self, candidate_ids: Collection[uuid.UUID]
    ) -> dict[uuid.UUID, list[Certificate]]:
        held: dict[uuid.UUID, list[Certificate]] = {}
        if not candidate_ids:
            return held
        for row in await self.session.execute(
            select(candidate_certificates).where(
                candidate_certificates.c.candidate_id.in_(list(candidate_ids))
            )
        ):
            held.setdefault(row.candidate_id, []).append(
                Certificate(
                    certificate_id=row.certificate_id,
                    candidate_id=row.candidate_id,
                    test=TestKind(row.test),
                    sector=row.sector,
                    level=row.level,
                    passed_on=row.passed_on,
                    agency=row.agency,
                    journey_id=row.journey_id,
                )
            )
        return held

    async def waiting_readiness(
        self, candidate_ids: Collection[uuid.UUID]
    ) -> dict[uuid.UUID, Readiness]:
        if not candidate_ids:
            return {}
        rows = await self.session.execute(
            select(waiting_readiness).where(
                waiting_readiness.c.candidate_id.in_(list(candidate_ids))
            )
        )
        return {row.candidate_id: _readiness_of(row) for row in rows}

    async def waiting_with_a_certificate(self, limit: int) -> dict[uuid.UUID, Readiness]:
        certificate, waiting = candidate_certificates.c, waiting_readiness.c
        # Of the readiness's agency and journey, or of none (`readiness.doubt`).
        held = select(certificate.certificate_id).where(
            certificate.candidate_id == waiting.candidate_id,
            or_(certificate.agency.is_(None), certificate.agency == waiting.agency),
            or_(certificate.journey_id.is_(None), certificate.journey_id == waiting.journey_id),
        )
        rows = await self.session.execute(
            select(waiting_readiness).where(held.exists()).limit(limit)
        )
        return {row.candidate_id: _readiness_of(row) for row in rows}

    # --- what the next save writes ----------------------------------------------------------

    def add_job_order(self, order: JobOrder) -> None:
        self._new_orders.append(order)

    def add_placement(self, placement: Placement) -> None:
        self._new_placements.append(placement)

    def record_commitment(self, candidate_id: uuid.UUID, months_willing_to_stay: int) -> None:
        self._commitments[candidate_id] = months_willing_to_stay

    def add_certificates(self, certificates: Sequence[Certificate]) -> None:
        self._certificates.extend(certificates)

    def add_readiness(self, readiness: Sequence[Readiness]) -> None:
        self._readiness.extend(readiness)

    def add_waiting(self, readiness: Sequence[Readiness]) -> None:
        self._waiting.extend(readiness)

    def end_waiting(self, readiness: Sequence[Readiness]) -> None:
        self._waited.extend(readiness)

    def add_withdrawals(self, withdrawals: Sequence[Withdrawal]) -> None:
        self._withdrawals.extend(withdrawals)

    # --- save -------------------------------------------------------------------------------

    async def save(self) -> set[uuid.UUID]:
        try:
            return await self._write()
        finally:
            self._forget()

    async def _write(self) -> set[uuid.UUID]:
        lost: set[uuid.UUID] = set()
        returned: Counter[uuid.UUID] = Counter()
        """Slots claimed for placements then left unwritten, or given back by placements that
        held them, by order."""
        await self._write_withdrawals()
        if self._new_orders:
            await self.session.execute(
                dialect_insert(self.session, job_orders),
                [_job_order_row(order) for order in self._new_orders],
            )
        await self._close_orders(lost)
        await self._claim_candidates(lost)
        await self._claim_slots(lost)
        await self._insert_placements(lost, returned)
        await self._move_placements(lost, returned)
        for order_id, count in returned.items():
            await self.session.execute(
                update(job_orders)
                .where(job_orders.c.id == order_id)
                .values(filled=job_orders.c.filled - count)
            )
        written = [
            placement
            for placement in [*self._new_placements, *self._placements.values()]
            if placement.id not in lost and placement.new_steps
        ]
        await self._insert_steps(written)
        await insert_outbox_rows(self.session, outbox_rows(*_in_recorded_order(written)))
        await self._write_candidates()
        return lost

    async def _close_orders(self, lost: set[uuid.UUID]) -> None:
        for order in self._orders.values():
            if not order.closed or self._closed_when_read[order.id]:
                continue
            closed = await self.session.execute(
                update(job_orders)
                .where(job_orders.c.id == order.id, job_orders.c.closed_at.is_(None))
                .values(closed_at=order.closed_at, close_reason=order.close_reason)
                .returning(job_orders.c.id)
            )
            if closed.first() is None:
                lost.add(order.id)

    async def _write_withdrawals(self) -> None:
        if not self._withdrawals:
            return
        await self.session.execute(
            dialect_insert(self.session, candidate_withdrawals).on_conflict_do_nothing(
                index_elements=[candidate_withdrawals.c.candidate_id]
            ),
            [
                {
                    "candidate_id": withdrawal.candidate_id,
                    "agency": withdrawal.agency,
                    "journey_id": withdrawal.journey_id,
                    "withdrawn_on": withdrawal.withdrawn_on,
                    "reason": withdrawal.reason,
                    "recorded_at": withdrawal.heard_at,
                }
                for withdrawal in self._withdrawals
            ],
        )
        await self.session.execute(
            update(ready_candidates)
            .where(
                ready_candidates.c.candidate_id == bindparam("withdrawn_id"),
                ready_candidates.c.agency == bindparam("withdrawn_agency"),
                ready_candidates.c.journey_id == bindparam("withdrawn_journey"),
                ready_candidates.c.withdrawn_on.is_(None),
            )
            .values(withdrawn_on=bindparam("withdrawn_day")),
            [
                {
                    "withdrawn_id": withdrawal.candidate_id,
                    "withdrawn_agency": withdrawal.agency,
                    "withdrawn_journey": withdrawal.journey_id,
                    "withdrawn_day": withdrawal.withdrawn_on,
                }
                for withdrawal in self._withdrawals
            ],
        )

    async def _claim_candidates(self, lost: set[uuid.UUID]) -> None:
        """Claim the row of each candidate starting a path, only while not withdrawn: a
        withdrawal written at the same moment marked it first (and the path is decided again),
        or waits for this one to commit and then finds the path."""
        starting = [placement for placement in self._new_placements if placement.id not in lost]
        if not starting:
            return
        claimed = set(
            (
                await self.session.execute(
                    update(ready_candidates)
                    .where(
                        ready_candidates.c.candidate_id.in_(
                            {placement.candidate_id for placement in starting}
                        ),
                        ready_candidates.c.withdrawn_on.is_(None),
                    )
                    .values(withdrawn_on=None)
                    .returning(ready_candidates.c.candidate_id)
                )
            ).scalars()
        )
        lost.update(placement.id for placement in starting if placement.candidate_id not in claimed)

    def _slot_takers(self) -> dict[uuid.UUID, list[Placement]]:
        """The placements that took a slot since they were loaded (or started), by order."""
        takers: dict[uuid.UUID, list[Placement]] = {}
        for placement in self._new_placements:
            if placement.holds_slot:
                takers.setdefault(placement.job_order_id, []).append(placement)
        for placement in self._placements.values():
            if placement.holds_slot and not self._placements_read[placement.id].held_slot:
                takers.setdefault(placement.job_order_id, []).append(placement)
        return takers

    async def _claim_slots(self, lost: set[uuid.UUID]) -> None:
        """Claim the slots taken, order by order (in one order of ids, so two requests claiming
        on the same orders never wait for each other in a circle)."""
        takers = self._slot_takers()
        for order_id in sorted(takers):
            count = len(takers[order_id])
            claimed = await self.session.execute(
                update(job_orders)
                .where(
                    job_orders.c.id == order_id,
                    job_orders.c.filled + count <= job_orders.c.slots,
                    job_orders.c.closed_at.is_(None),
                )
                .values(filled=job_orders.c.filled + count)
                .returning(job_orders.c.id)
            )
            if claimed.first() is None:
                lost.add(order_id)
                lost.update(placement.id for placement in takers[order_id])

    async def _insert_placements(self, lost: set[uuid.UUID], returned: Counter[uuid.UUID]) -> None:
        new = [placement for placement in self._new_placements if placement.id not in lost]
        if not new:
            return
        inserted = set(
            (
                await self.session.execute(
                    dialect_insert(self.session, placements)
                    .on_conflict_do_nothing()
                    .returning(placements.c.id),
                    [_placement_row(placement) for placement in new],
                )
            ).scalars()
        )
        for placement in new:
            if placement.id not in inserted:
                lost.add(placement.id)
                if placement.holds_slot:
                    returned[placement.job_order_id] += 1

    async def _move_placements(self, lost: set[uuid.UUID], returned: Counter[uuid.UUID]) -> None:
        """Each placement moves only from the status it was read in: one UPDATE for each kind of
        move; a move onto a slot one at a time, as the one-slot-per-candidate index may refuse
        it."""
        moves: dict[tuple[PlacementStatus, PlacementStatus], list[Placement]] = {}
        for placement in self._placements.values():
            was = self._placements_read[placement.id].status
            if placement.status is not was and placement.id not in lost:
                moves.setdefault((was, placement.status), []).append(placement)
        moved: list[Placement] = []
        for (was, now), group in moves.items():
            onto_slot = now in SLOT_HOLDING_STATUSES and was not in SLOT_HOLDING_STATUSES
            # A withdrawal gives back the slot; an early return does not (the slot was used).
            gives_back = was in SLOT_HOLDING_STATUSES and now is PlacementStatus.WITHDRAWN
            if onto_slot:
                done = set()
                for placement in group:
                    done |= await self._move_onto_slot(placement, was)
            else:
                done = set((await self.session.execute(_move(group, was, now))).scalars())
            for placement in group:
                if placement.id in done:
                    moved.append(placement)
                    if gives_back:
                        returned[placement.job_order_id] += 1
                    continue
                lost.add(placement.id)
                if onto_slot:
                    returned[placement.job_order_id] += 1
        dated = [
            {"moved_id": p.id, "placed_at": p.placed_at, "departure_date": p.departure_date}
            for p in moved
            if self._placements_read[p.id].dated != (p.placed_at, p.departure_date)
        ]
        if dated:
            await self.session.execute(
                update(placements)
                .where(placements.c.id == bindparam("moved_id"))
                .values(
                    placed_at=bindparam("placed_at"), departure_date=bindparam("departure_date")
                ),
                dated,
            )

    async def _move_onto_slot(self, placement: Placement, was: PlacementStatus) -> set[uuid.UUID]:
        try:
            async with self.session.begin_nested():
                result = await self.session.execute(_move([placement], was, placement.status))
                return set(result.scalars())
        except IntegrityError:
            return set()  # the candidate took a slot elsewhere a moment ago

    async def _insert_steps(self, written: list[Placement]) -> None:
        rows = [
            {
                "placement_id": placement.id,
                "status": step.status.value,
                "happened_on": step.happened_on,
                "recorded_at": step.recorded_at,
                "detail": step.detail,
            }
            for placement in written
            for step in placement.new_steps
        ]
        if rows:
            await self.session.execute(dialect_insert(self.session, placement_steps), rows)

    async def _write_candidates(self) -> None:
        if self._commitments:
            await self.session.execute(
                update(ready_candidates)
                .where(ready_candidates.c.candidate_id == bindparam("committed_id"))
                .values(months_willing_to_stay=bindparam("months")),
                [
                    {"committed_id": candidate_id, "months": months}
                    for candidate_id, months in self._commitments.items()
                ],
            )
        if self._certificates:
            await self.session.execute(
                dialect_insert(self.session, candidate_certificates).on_conflict_do_nothing(
                    index_elements=[candidate_certificates.c.certificate_id]
                ),
                [_certificate_row(certificate) for certificate in self._certificates],
            )
        if self._readiness:
            await self._keep_the_later(ready_candidates, self._readiness)
        if self._waiting:
            await self._keep_the_later(waiting_readiness, self._waiting)
        if self._waited:
            await self.session.execute(
                delete(waiting_readiness).where(
                    waiting_readiness.c.candidate_id == bindparam("waited_id"),
                    waiting_readiness.c.ready_at <= bindparam("waited_at"),
                ),
                [
                    {"waited_id": readiness.candidate_id, "waited_at": readiness.ready_at}
                    for readiness in self._waited
                ],
            )

    async def _keep_the_later(self, table: Table, readiness: Sequence[Readiness]) -> None:
        """Each readiness into `table` (ready or waiting candidates), replacing what is kept of
        its candidate only if it is later; other columns (the commitment) are left as they are."""
        upsert = dialect_insert(self.session, table)
        kept = [column for column in _readiness_row(readiness[0]) if column != "candidate_id"]
        await self.session.execute(
            upsert.on_conflict_do_update(
                index_elements=[table.c.candidate_id],
                set_={column: upsert.excluded[column] for column in kept},
                where=table.c.ready_at < upsert.excluded.ready_at,
            ),
            [_readiness_row(one) for one in readiness],
        )


@dataclass(frozen=True)
class _PlacementRead:
    """A placement as loaded: what `save` compares it with."""

    status: PlacementStatus
    placed_at: datetime | None
    departure_date: date | None

    @property
    def held_slot(self) -> bool:
        return self.status in SLOT_HOLDING_STATUSES

    @property
    def dated(self) -> tuple[datetime | None, date | None]:
        return self.placed_at, self.departure_date


def _move(group: list[Placement], was: PlacementStatus, now: PlacementStatus) -> Any:
    return (
        update(placements)
        .where(
            placements.c.id.in_([placement.id for placement in group]),
            placements.c.status == was.value,
        )
        .values(status=now.value)
        .returning(placements.c.id)
    )


def _in_recorded_order(placements_written: list[Placement]) -> list[Event]:
    recorded = [
        (order, event)
        for placement in placements_written
        for order, event in zip(placement.event_order, placement.events, strict=True)
    ]
    return [event for _, event in sorted(recorded, key=lambda pair: pair[0])]


def _job_order_row(order: JobOrder) -> dict[str, Any]:
    return {
        "id": order.id,
        "employer": order.employer,
        "supervising_organisation": order.supervising_organisation,
        "prefecture": order.prefecture,
        "sector": order.sector,
        "track": order.track.value,
        "slots": order.slots,
        "filled": order.filled,
        "monthly_wage_jpy": order.monthly_wage_jpy,
        "contract_months": order.contract_months,
        "minimum_language_level": order.minimum_language_level.value,
        "required_certificates": sorted(test.value for test in order.required_certificates),
        "interview_date": order.interview_date,
        "opened_at": order.opened_at,
    }


def _placement_row(placement: Placement) -> dict[str, Any]:
    return {
        "id": placement.id,
        "job_order_id": placement.job_order_id,
        "candidate_id": placement.candidate_id,
        "journey_id": placement.journey_id,
        "agency": placement.agency,
        "status": placement.status.value,
        "started_at": placement.started_at,
        "placed_at": placement.placed_at,
        "departure_date": placement.departure_date,
    }


def _certificate_row(certificate: Certificate) -> dict[str, Any]:
    return {
        "certificate_id": certificate.certificate_id,
        "candidate_id": certificate.candidate_id,
        "test": certificate.test.value,
        "sector": certificate.sector,
        "level": certificate.level,
        "passed_on": certificate.passed_on,
        "agency": certificate.agency,
        "journey_id": certificate.journey_id,
    }


def _readiness_of(row: Any) -> Readiness:
    return Readiness(
        candidate_id=row.candidate_id,
        journey_id=row.journey_id,
        agency=row.agency,
        track=Track(row.track),
        sector=row.sector,
        language_level=row.language_level,
        ready_at=row.ready_at,
        daily_score_average=row.daily_score_average,
    )


def _readiness_row(readiness: Readiness) -> dict[str, Any]:
    return {
        "candidate_id": readiness.candidate_id,
        "journey_id": readiness.journey_id,
        "agency": readiness.agency,
        "track": readiness.track.value,
        "sector": readiness.sector,
        "language_level": readiness.language_level,
        "ready_at": readiness.ready_at,
        "daily_score_average": readiness.daily_score_average,
    }
