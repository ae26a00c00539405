"""The relay's next rows are read along an index of the unsent rows: a poll costs about the same
however many rows were sent before it, on SQLite and on PostgreSQL (where every row marked sent
leaves an entry behind until vacuum, and this machine's shared server never vacuums by itself)."""

from __future__ import annotations

import json
import statistics
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from jembatan_kit.db import create_session_factory
from jembatan_kit.messaging_tables import outbox_table
from jembatan_kit.outbox import outbox_rows, read_along_pending_index, unsent_rows
from jembatan_kit.testing.effects import registered

POLLS = 80
STAGED = 250
"""Rows staged between two polls, as a consumer's batch stages them."""
NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)


async def _plan(session: AsyncSession, sql: str) -> tuple[str, int]:
    """How the relay's read runs in `session`: its plan's nodes, and on PostgreSQL the pages it
    touched (shared blocks hit or read)."""
    if session.get_bind().dialect.name != "postgresql":
        explained = await session.execute(text(f"EXPLAIN QUERY PLAN {sql}"))
        return " ".join(row[-1] for row in explained), 0
    answer = (
        await session.execute(text(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}"))
    ).scalar_one()
    plan: dict[str, Any] = (json.loads(answer) if isinstance(answer, str) else answer)[0]["Plan"]
    nodes, below = [], [plan]
    while below:
        node = below.pop()
        nodes.append(f"{node['Node Type']} {node.get('Index Name', '')}".strip())
        below.extend(node.get("Plans", []))
    return "; ".join(nodes), int(plan["Shared Hit Blocks"]) + int(plan["Shared Read Blocks"])


async def test_a_poll_reads_the_unsent_rows_without_passing_those_sent_before(
    engine: AsyncEngine,
) -> None:
    sessions = create_session_factory(engine)
    query = unsent_rows(500)
    sql = str(query.compile(engine.sync_engine, compile_kwargs={"literal_binds": True}))
    touched: list[int] = []
    for poll in range(POLLS):
        async with engine.begin() as connection:
            await connection.execute(
                insert(outbox_table), outbox_rows(*(registered() for _ in range(STAGED)))
            )
        if poll == 2:  # statistics as autovacuum takes them, while rows are few
            async with engine.connect() as connection:
                await connection.execute(text("ANALYZE outbox"))
        async with sessions() as session:  # as the relay reads, then marks what it sent
            await read_along_pending_index(session)
            plan, pages = await _plan(session, sql)
            ids = [row.id for row in (await session.execute(query)).all()]
        async with engine.begin() as connection:
            await connection.execute(
                update(outbox_table).where(outbox_table.c.id.in_(ids)).values(sent_at=NOW)
            )
        assert ids == list(range(poll * STAGED + 1, (poll + 1) * STAGED + 1))
        touched.append(pages)

    if engine.dialect.name == "postgresql":
        assert plan == "Limit; Index Scan ix_outbox_pending", plan
        # A bitmap scan, or the primary key's, touched ~900 pages a poll by the last polls,
        # and more with every poll; along the index, ~60.
        assert statistics.median(touched[-10:]) < 200, touched
    else:
        # SQLite searches an index that holds the unsent rows in order: no scan, no sort.
        assert plan.startswith("SEARCH outbox USING"), plan
        assert "TEMP B-TREE" not in plan, plan
