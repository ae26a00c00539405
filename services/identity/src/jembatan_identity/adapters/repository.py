"""Where the index keeps its claims and notices. The handlers see `IndexRepository`; the service
runs on `SqlIndexRepository` over one session (one transaction, committed by the caller), the
unit tests on an in-memory fake."""

from __future__ import annotations

import abc
import uuid
from collections.abc import Collection
from datetime import datetime

from sqlalchemy import func, insert, select, update
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
    async def put(self, claim: IndexedClaim, new: bool, now: datetime) -> None:
        """Insert a new claim or write a changed one."""

    @abc.abstractmethod
    async def notify(self, claim: IndexedClaim, reason: str, now: datetime) -> None:
        """A notice to the claim's agency of its claim's standing."""

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

    async def put(self, claim: IndexedClaim, new: bool, now: datetime) -> None:
        values = {
            "agency": claim.agency,
            "nik_hash": claim.nik_hash,
            "registered_at": claim.registered_at,
            "standing": claim.standing.value,
            "released": claim.released,
            "updated_at": now,
        }
        if new:
            await self.session.execute(
                insert(claims).values(candidate_id=claim.candidate_id, **values)
            )
        else:
            await self.session.execute(
                update(claims).where(claims.c.candidate_id == claim.candidate_id).values(values)
            )

    async def notify(self, claim: IndexedClaim, reason: str, now: datetime) -> None:
        await self.session.execute(
            insert(notices).values(
                agency=claim.agency,
                candidate_id=claim.candidate_id,
                standing=claim.standing.value,
                reason=reason,
                created_at=now,
            )
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
