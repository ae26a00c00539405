"""The index's repository on SQLite and PostgreSQL: a request's new claims, changed claims and
notices are each written in one statement, and read back as written, the notices in order."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from jembatan_contracts.identity import Standing
from jembatan_identity.adapters.repository import SqlIndexRepository
from jembatan_identity.bootstrap import MIGRATIONS
from jembatan_identity.domain.index import IndexedClaim
from jembatan_kit.db import create_engine, create_session_factory
from jembatan_kit.migrations import upgrade_to_head

NOW = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    await asyncio.to_thread(upgrade_to_head, MIGRATIONS, database_url)
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


def statements_on(engine: AsyncEngine) -> list[str]:
    seen: list[str] = []

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _seen(_conn, _cursor, statement, _parameters, _context, _executemany) -> None:  # type: ignore[no-untyped-def]
        seen.append(statement.split()[0])

    return seen


def claim(nik_hash: str, standing: Standing = Standing.CLEARED) -> IndexedClaim:
    return IndexedClaim(uuid.uuid4(), "kaltim", nik_hash, NOW, standing)


async def test_a_requests_claims_and_notices_take_a_statement_each(engine: AsyncEngine) -> None:
    sessions = create_session_factory(engine)
    first = [claim(f"hash-{n}") for n in range(30)]
    async with sessions() as session, session.begin():
        await SqlIndexRepository(session).put([(c, True) for c in first], NOW)

    for c in first[:10]:
        c.standing = Standing.HELD_ELSEWHERE
    for c in first[10:12]:
        c.released = True
    later = [claim(f"hash-{n}", Standing.SUSPENDED) for n in range(5)]
    seen = statements_on(engine)
    async with sessions() as session, session.begin():
        repo = SqlIndexRepository(session)
        await repo.put([(c, False) for c in first[:12]] + [(c, True) for c in later], NOW)
        await repo.notify([(c, f"reason {n}") for n, c in enumerate(first[:10] + later)], NOW)
        await repo.notify([], NOW)
        await repo.put([], NOW)
    assert [s for s in seen if s in ("INSERT", "UPDATE")] == ["INSERT", "UPDATE", "INSERT"]

    async with sessions() as session:
        repo = SqlIndexRepository(session)
        stored = await repo.by_candidate([c.candidate_id for c in first + later])
        notices = await repo.notices_after(None, 0, 100)
    assert {i: (c.standing, c.released, c.nik_hash) for i, c in stored.items()} == {
        c.candidate_id: (c.standing, c.released, c.nik_hash) for c in first + later
    }
    assert [(n.candidate_id, n.standing, n.reason) for n in notices] == [
        (c.candidate_id, c.standing, f"reason {n}") for n, c in enumerate(first[:10] + later)
    ]
    assert [n.sequence for n in notices] == sorted(n.sequence for n in notices)
