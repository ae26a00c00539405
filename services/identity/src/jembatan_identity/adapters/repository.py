"""Where the index keeps its claims and notices. The handlers see `IndexRepository`; the service
runs on `SqlIndexRepository` over one session (one transaction, committed by the caller), the
unit tests on an in-memory fake."""

from __future__ import annotations

import abc
import uuid
from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from jembatan_contracts.identity import Notice, Standing

from ..domain.index import IndexedClaim
from .orm import claims, index_epoch, notices


class IndexRepository(abc.ABC):
    @abc.abstractmethod
    async def active_by_hash(self, hashes: Collection[str]) -> dict[str, list[IndexedClaim]]:
        """The active claims of each of these national hashes."""

    @abc.abstractmethod
    async def by_candidate(self, ids: Collection[uuid.UUID]) -> dict[uuid.UUID, IndexedClaim]:
        """The claims of these candidates, active or released."""

    @abc.abstractmethod
    async def put(self, written: Sequence[tuple[IndexedClaim, bool]], now: datetime) -> None:
        """Insert the new claims (`True`) and write the changed ones."""

    @abc.abstractmethod
    async def notify(self, told: Sequence[tuple[IndexedClaim, str]], now: datetime) -> None:
        """A notice to each claim's agency of its claim's standing, for the reason given, in
        order."""

    @abc.abstractmethod
    async def notices_after(self, agency: str | None, after: int, limit: int) -> list[Notice]:
        """The notices of `agency` (None: every agency) after sequence `after`, in order."""

    @abc.abstractmethod
    async def epoch(self) -> str:
        """The index's epoch: a new one after the index is rebuilt from an empty database."""

    @abc.abstractmethod
    async def counts(self) -> dict[str, int]:
        """Active claims by standing."""


def _claim(row: object) -> IndexedClaim:
    return IndexedClaim(
        candidate_id=row.candidate_id,  # type: ignore[attr-defined]
        agency=row.agency,  # type: ignore[attr-defined]
        nik_hash=row.nik_hash,  # type: ignore[attr-defined]
        registered_at=row.registered_at,  # type: ignore[attr-defined]
        standing=Standing(row.standing),  # type: ignore[attr-defined]
        released=row.released,  # type: ignore[attr-defined]
    )


class SqlIndexRepository(IndexRepository):
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def active_by_hash(self, hashes: Collection[str]) -> dict[str, list[IndexedClaim]]:
        found: dict[str, list[IndexedClaim]] = {}
        if not hashes:
            return found
        rows = await self.session.execute(
            select(claims).where(claims.c.nik_hash.in_(list(hashes)), claims.c.released.is_(False))
        )
        for row in rows:
            found.setdefault(row.nik_hash, []).append(_claim(row))
        return found

    async def by_candidate(self, ids: Collection[uuid.UUID]) -> dict[uuid.UUID, IndexedClaim]:
        if not ids:
            return {}
        rows = await self.session.execute(select(claims).where(claims.c.candidate_id.in_(ids)))
        return {row.candidate_id: _claim(row) for row in rows}

    async def put(self, written: Sequence[tuple[IndexedClaim, bool]], now: datetime) -> None:
        """The new claims in one statement, the changed ones in another: a statement is a round
        trip to PostgreSQL, so a request's claims cost two, not two each."""
        rows = [
            {
                "candidate_id": claim.candidate_id,
                "agency": claim.agency,
                "nik_hash": claim.nik_hash,
                "registered_at": claim.registered_at,
                "standing": claim.standing.value,
                "released": claim.released,
                "updated_at": now,
            }
            for claim, _ in written
        ]
        new = [row for row, (_, is_new) in zip(rows, written, strict=True) if is_new]
        changed = [
            {f"b_{key}": value for key, value in row.items()}
            for row, (_, is_new) in zip(rows, written, strict=True)
            if not is_new
        ]
        if new:
            await self.session.execute(insert(claims), new)
        if changed:
            columns = [key for key in rows[0] if key != "candidate_id"]
            await self.session.execute(
                update(claims)
                .where(claims.c.candidate_id == bindparam("b_candidate_id"))
                .values({key: bindparam(f"b_{key}") for key in columns}),
                changed,
            )

    async def notify(self, told: Sequence[tuple[IndexedClaim, str]], now: datetime) -> None:
        if not told:
            return
        await self.session.execute(
            insert(notices),
            [
                {
                    "agency": claim.agency,
                    "candidate_id": claim.candidate_id,
                    "standing": claim.standing.value,
                    "reason": reason,
                    "created_at": now,
                }
                for claim, reason in told
            ],
        )

    async def notices_after(self, agency: str | None, after: int, limit: int) -> list[Notice]:
        query = select(notices).where(notices.c.sequence > after)
        if agency is not None:
            query = query.where(notices.c.agency == agency)
        rows = await self.session.execute(query.order_by(notices.c.sequence).limit(limit))
        return [
            Notice(
                sequence=row.sequence,
                candidate_id=row.candidate_id,
                standing=Standing(row.standing),
                reason=row.reason,
            )
            for row in rows
        ]

    async def epoch(self) -> str:
        return str(await self.session.scalar(select(index_epoch.c.epoch)))

    async def counts(self) -> dict[str, int]:
        rows = await self.session.execute(
            select(claims.c.standing, func.count())
            .where(claims.c.released.is_(False))
            .group_by(claims.c.standing)
        )
        return {standing: count for standing, count in rows.tuples()}
