"""Where candidates are kept. The handlers see `RegistrationRepository`; the service runs on
`SqlRegistrationRepository`, over one AsyncSession (one transaction, committed by the caller's
unit of work), and the unit tests on an in-memory fake.

The repository loads what a list of commands needs in a few queries and writes the changes of a
whole list at once, with the outbox rows of the events the candidates recorded, in the same
transaction. Personal data is protected here (`IdentityProtector`): the aggregates hold it in the
clear, the tables only encrypted, and the NIK also as a keyed hash to look it up.

Concurrency is decided by the writes. A new candidate is inserted `ON CONFLICT DO NOTHING` on the
index that allows one active registration per NIK: a candidate whose NIK a request at the same
moment took is not written (`WriteConflicts.nik_taken`). A change of a candidate is written
`WHERE version = <the version read>`: a candidate changed by another request since it was read is
not written (`WriteConflicts.changed_meanwhile`). Either way that candidate alone is left out, and
its events with it; the handler answers it with a refusal.
"""

from __future__ import annotations

import abc
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from jembatan_contracts import CandidateRegistered, Track, WithdrawalReason
from jembatan_contracts.ids import new_id
from jembatan_kit.db import dialect_insert
from jembatan_kit.outbox import insert_outbox_rows, outbox_rows
from jembatan_kit.telemetry import journey_root_span

from ..domain.candidate import Candidate, Withdrawal
from ..domain.duplicates import REFUSED_ELSEWHERE, ActiveRegistration, NikRead
from ..domain.model import CandidateStatus, NationalCheck, Sex, Upload, mask_nik
from .orm import (
    ONE_ACTIVE_PER_NIK,
    bulk_uploads,
    candidates,
    index_cursor,
    nik_reads,
    withdrawals,
)
from .protection import IdentityProtector


@dataclass
class WriteConflicts:
    """The candidates a `save` left out because a request at the same moment won."""

    nik_taken: set[uuid.UUID] = field(default_factory=set)
    """Registered or corrected to a NIK another request registered meanwhile."""
    changed_meanwhile: set[uuid.UUID] = field(default_factory=set)
    """Changed by another request since they were read."""


class RegistrationRepository(abc.ABC):
    @abc.abstractmethod
    async def active_registrations(self, niks: Collection[str]) -> dict[str, ActiveRegistration]:
        """The active registration of each of these NIKs that has one."""

    @abc.abstractmethod
    async def get_many(self, ids: Collection[uuid.UUID]) -> dict[uuid.UUID, Candidate]:
        """The candidates of these ids that exist; `save` writes what is done to them."""

    @abc.abstractmethod
    def add(self, candidate: Candidate) -> None:
        """A new candidate, inserted by the next `save`."""

    @abc.abstractmethod
    def add_nik_read(self, read: NikRead) -> None:
        """An entry for the NIK read log, written by the next `save`."""

    @abc.abstractmethod
    async def refusals_elsewhere(self, reader: str, since: datetime) -> int:
        """How many refusals for NIKs registered elsewhere the log holds for `reader` after
        `since`."""

    @abc.abstractmethod
    async def upload_of(self, agency: str, sha256: str) -> Upload | None:
        """The answer to the file with this digest, if the agency sent it before."""

    @abc.abstractmethod
    def add_upload(self, upload: Upload) -> None:
        """An answered file, written by the next `save`."""

    @abc.abstractmethod
    async def due_for_index(self, limit: int) -> list[Candidate]:
        """Up to `limit` candidates the national identity index has still to hear of, in the
        order they were registered; `save` writes what is done to them."""

    @abc.abstractmethod
    async def index_cursor(self) -> tuple[str | None, int]:
        """The epoch of the index and the last of its notices applied here."""

    @abc.abstractmethod
    def set_index_cursor(self, epoch: str, after: int) -> None:
        """Written by the next `save`."""

    @abc.abstractmethod
    async def send_all_to_index(self) -> int:
        """Mark every active candidate for the index to hear of again (its rebuild); how many."""

    @abc.abstractmethod
    def discard(self, candidate_id: uuid.UUID) -> None:
        """Forget what was done to a loaded candidate: the next `save` writes none of it."""

    @abc.abstractmethod
    async def save(self) -> WriteConflicts:
        """Write the new and changed candidates, their events, the log entries and uploads
        added since the last `save`, leaving out the candidates a concurrent request won."""


PERSONAL = ("nik", "full_name", "phone")
"""What is stored only protected: encrypted, and the NIK also hashed (`_protected`)."""


@dataclass
class _Loaded:
    """A candidate as read: what a later write compares against."""

    version: int
    columns: dict[str, Any]
    withdrawn: bool


def _columns(candidate: Candidate) -> dict[str, Any]:
    """The stored state of a candidate, in the clear; a write changes the columns that differ."""
    return {
        "nik": candidate.nik,
        "full_name": candidate.full_name,
        "phone": candidate.phone,
        "birth_date": candidate.birth_date,
        "sex": candidate.sex.value,
        "education": candidate.education,
        "track": candidate.track.value,
        "preferred_sector": candidate.preferred_sector,
        "status": candidate.status.value,
        "rule_set": candidate.rule_set,
        "warnings": list(candidate.warnings),
        "national_check": candidate.national_check.value,
        "index_due": candidate.index_due,
    }


class SqlRegistrationRepository(RegistrationRepository):
    def __init__(self, session: AsyncSession, protector: IdentityProtector) -> None:
        self.session = session
        self.protector = protector
        self._new: list[Candidate] = []
        self._seen: dict[uuid.UUID, Candidate] = {}
        self._loaded: dict[uuid.UUID, _Loaded] = {}
        self._nik_reads: list[NikRead] = []
        self._uploads: list[Upload] = []
        self._hashes: dict[str, str] = {}
        self._cursor: tuple[str, int] | None = None

    def _hash(self, nik: str) -> str:
        known = self._hashes.get(nik)
        if known is None:
            known = self._hashes[nik] = self.protector.lookup_hash(nik)
        return known

    async def active_registrations(self, niks: Collection[str]) -> dict[str, ActiveRegistration]:
        by_hash = {self._hash(nik): nik for nik in niks}
        if not by_hash:
            return {}
        rows = await self.session.execute(
            select(candidates.c.nik_hash, candidates.c.id, candidates.c.agency).where(
                candidates.c.nik_hash.in_(list(by_hash)),
                candidates.c.status == CandidateStatus.ACTIVE.value,
            )
        )
        return {by_hash[row.nik_hash]: ActiveRegistration(row.id, row.agency) for row in rows}

    async def get_many(self, ids: Collection[uuid.UUID]) -> dict[uuid.UUID, Candidate]:
        if not ids:
            return {}
        rows = await self.session.execute(
            select(
                candidates,
                withdrawals.c.reason.label("withdrawal_reason"),
                withdrawals.c.note.label("withdrawal_note"),
                withdrawals.c.withdrawn_at,
            )
            .outerjoin(withdrawals, withdrawals.c.candidate_id == candidates.c.id)
            .where(candidates.c.id.in_(list(ids)))
        )
        found = {}
        for row in rows:
            candidate = self._candidate(row)
            self._seen[candidate.id] = candidate
            self._loaded[candidate.id] = _Loaded(
                row.version, _columns(candidate), candidate.withdrawal is not None
            )
            found[candidate.id] = candidate
        return found

    def _candidate(self, row: Any) -> Candidate:
        decrypt = self.protector.decrypt
        withdrawal = None
        if row.withdrawal_reason is not None:
            reason = WithdrawalReason(row.withdrawal_reason)
            withdrawal = Withdrawal(reason, row.withdrawal_note, row.withdrawn_at)
        return Candidate(
            id=row.id,
            journey_id=row.journey_id,
            agency=row.agency,
            nik=decrypt(row.nik_encrypted),
            full_name=decrypt(row.name_encrypted),
            phone=decrypt(row.phone_encrypted) if row.phone_encrypted else None,
            birth_date=row.birth_date,
            sex=Sex(row.sex),
            education=row.education,
            track=Track(row.track),
            preferred_sector=row.preferred_sector,
            status=CandidateStatus(row.status),
            rule_set=row.rule_set,
            warnings=list(row.warnings),
            registered_at=row.registered_at,
            selection_date=row.selection_date or row.registered_at.date(),
            withdrawal=withdrawal,
            national_check=NationalCheck(row.national_check),
            index_due=row.index_due,
        )

    def add(self, candidate: Candidate) -> None:
        self._new.append(candidate)

    def add_nik_read(self, read: NikRead) -> None:
        self._nik_reads.append(read)

    async def refusals_elsewhere(self, reader: str, since: datetime) -> int:
        refused = await self.session.scalar(
            select(func.count())
            .select_from(nik_reads)
            .where(
                nik_reads.c.reader == reader,
                nik_reads.c.reason == REFUSED_ELSEWHERE,
                nik_reads.c.read_at > since,
            )
        )
        return refused or 0

    async def upload_of(self, agency: str, sha256: str) -> Upload | None:
        row = (
            await self.session.execute(
                select(bulk_uploads).where(
                    bulk_uploads.c.agency == agency, bulk_uploads.c.sha256 == sha256
                )
            )
        ).first()
        if row is None:
            return None
        return Upload(
            row.id, row.agency, row.sha256, row.received_at, row.accepted, row.refused, row.results
        )

    def add_upload(self, upload: Upload) -> None:
        self._uploads.append(upload)

    async def due_for_index(self, limit: int) -> list[Candidate]:
        ids = (
            await self.session.scalars(
                select(candidates.c.id)
                .where(candidates.c.index_due.is_(True))
                .order_by(candidates.c.registered_at, candidates.c.id)
                .limit(limit)
            )
        ).all()
        found = await self.get_many(ids)
        return [found[candidate_id] for candidate_id in ids if candidate_id in found]

    async def index_cursor(self) -> tuple[str | None, int]:
        row = (
            await self.session.execute(select(index_cursor).where(index_cursor.c.id == 1))
        ).first()
        return (None, 0) if row is None else (row.epoch, row.last_notice)

    def set_index_cursor(self, epoch: str, after: int) -> None:
        self._cursor = (epoch, after)

    async def send_all_to_index(self) -> int:
        result = await self.session.execute(
            update(candidates)
            .where(candidates.c.status == CandidateStatus.ACTIVE.value)
            .values(index_due=True)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    def discard(self, candidate_id: uuid.UUID) -> None:
        self._seen.pop(candidate_id, None)

    async def _write_cursor(self) -> None:
        if self._cursor is None:
            return
        epoch, after = self._cursor
        await self.session.execute(
            dialect_insert(self.session, index_cursor)
            .values(id=1, epoch=epoch, last_notice=after)
            .on_conflict_do_update(
                index_elements=["id"], set_={"epoch": epoch, "last_notice": after}
            )
        )
        self._cursor = None

    async def save(self) -> WriteConflicts:
        await self._write_cursor()
        conflicts = WriteConflicts()
        new = await self._insert(self._new, conflicts)
        changed = sorted(
            (
                candidate
                for candidate in self._seen.values()
                if candidate.events or _columns(candidate) != self._loaded[candidate.id].columns
            ),
            key=lambda candidate: candidate.id,  # one order of row locks for every request
        )
        updated = [candidate for candidate in changed if await self._update(candidate, conflicts)]
        await self._insert_withdrawals(updated)
        await insert_outbox_rows(self.session, self._outbox_rows(new, updated))
        if self._nik_reads:
            await insert_nik_reads(self.session, self._nik_reads)
        if self._uploads:
            # An Upload's fields are the table's columns.
            await self.session.execute(insert(bulk_uploads), [vars(u) for u in self._uploads])
        for candidate in [*self._new, *changed]:
            candidate.events.clear()
        for candidate in updated:
            self._loaded[candidate.id] = _Loaded(
                self._loaded[candidate.id].version + 1,
                _columns(candidate),
                candidate.withdrawal is not None,
            )
        for lost in conflicts.nik_taken | conflicts.changed_meanwhile:
            self._seen.pop(lost, None)
        self._new, self._nik_reads, self._uploads = [], [], []
        return conflicts

    async def _insert(self, new: Sequence[Candidate], conflicts: WriteConflicts) -> list[Candidate]:
        """Insert the new candidates in one statement; those inserted. A candidate whose NIK has
        an active registration by then (a request at the same moment) is not. In the order of
        their NIKs' hashes, so two requests inserting the same NIKs wait for each other in one
        order and cannot deadlock."""
        if not new:
            return []
        rows = sorted((self._new_row(candidate) for candidate in new), key=lambda r: r["nik_hash"])
        result = await self.session.execute(
            dialect_insert(self.session, candidates)
            .on_conflict_do_nothing(index_elements=["nik_hash"], index_where=ONE_ACTIVE_PER_NIK)
            .returning(candidates.c.id),
            rows,
        )
        inserted = set(result.scalars())
        conflicts.nik_taken |= {candidate.id for candidate in new if candidate.id not in inserted}
        return [candidate for candidate in new if candidate.id in inserted]

    async def _insert_withdrawals(self, updated: Sequence[Candidate]) -> None:
        rows = [
            {
                "candidate_id": candidate.id,
                "reason": candidate.withdrawal.reason.value,
                "note": candidate.withdrawal.note,
                "withdrawn_at": candidate.withdrawal.withdrawn_at,
            }
            for candidate in updated
            if candidate.withdrawal is not None and not self._loaded[candidate.id].withdrawn
        ]
        if rows:
            await self.session.execute(insert(withdrawals), rows)

    @staticmethod
    def _outbox_rows(
        new: Sequence[Candidate], updated: Sequence[Candidate]
    ) -> list[dict[str, Any]]:
        """The outbox rows of the events the written candidates recorded, in the order written."""
        rows: list[Any] = []
        for candidate in new:
            # Registration opens each journey's trace; its first event is staged in it.
            with journey_root_span(
                candidate.journey_id, candidate.agency, creates=CandidateRegistered.name
            ):
                rows += outbox_rows(*candidate.events)
        for candidate in updated:
            rows += outbox_rows(*candidate.events)
        return rows

    def _new_row(self, candidate: Candidate) -> dict[str, Any]:
        columns = _columns(candidate)
        return {
            "id": candidate.id,
            "journey_id": candidate.journey_id,
            "agency": candidate.agency,
            "registered_at": candidate.registered_at,
            "selection_date": candidate.selection_date,
            "version": 1,
            **{name: value for name, value in columns.items() if name not in PERSONAL},
            **self._protected(columns),
        }

    def _protected(self, columns: dict[str, Any]) -> dict[str, Any]:
        """The stored form of whichever of the NIK, name and phone `columns` holds."""
        stored: dict[str, Any] = {}
        if "nik" in columns:
            nik = columns["nik"]
            stored |= {
                "nik_hash": self._hash(nik),
                "nik_encrypted": self.protector.encrypt(nik),
                "nik_masked": mask_nik(nik),
                "province_code": nik[:2],
            }
        if "full_name" in columns:
            stored["name_encrypted"] = self.protector.encrypt(columns["full_name"])
        if "phone" in columns:
            phone = columns["phone"]
            stored["phone_encrypted"] = self.protector.encrypt(phone) if phone else None
        return stored

    async def _update(self, candidate: Candidate, conflicts: WriteConflicts) -> bool:
        """Write what changed of a candidate read before, unless another request changed it
        since or took its new NIK; whether it was written."""
        loaded = self._loaded[candidate.id]
        now = _columns(candidate)
        changed = {name: value for name, value in now.items() if value != loaded.columns[name]}
        personal = {name: changed.pop(name) for name in PERSONAL if name in changed}
        statement = (
            update(candidates)
            .where(candidates.c.id == candidate.id, candidates.c.version == loaded.version)
            .values(changed | self._protected(personal) | {"version": loaded.version + 1})
        )
        if "nik" in personal:
            try:
                async with self.session.begin_nested():
                    result = await self.session.execute(statement)
            except IntegrityError:
                conflicts.nik_taken.add(candidate.id)
                return False
        else:
            result = await self.session.execute(statement)
        if result.rowcount == 0:  # type: ignore[attr-defined]
            conflicts.changed_meanwhile.add(candidate.id)
            return False
        return True


async def insert_nik_reads(session: AsyncSession, reads: Sequence[NikRead]) -> None:
    """Add entries to the NIK read log, in one statement."""
    await session.execute(
        insert(nik_reads),
        [
            {
                "id": new_id(),
                "candidate_id": read.candidate_id,
                "reader": read.reader,
                "reason": read.reason,
                "read_at": read.read_at,
            }
            for read in reads
        ],
    )
