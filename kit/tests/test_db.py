"""The engines. SQLite (the embedded default): statements run on the event loop's thread, a
wait for another process's lock does not stop the loop, and the write-ahead log is checkpointed
off it. PostgreSQL: a server without autovacuum is named at start."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import JSON, Column, Integer, MetaData, Table, event, select, text

from jembatan_kit.db import CHECKPOINT_INTERVAL_S, create_engine, warn_if_autovacuum_is_off
from jembatan_kit.faults import is_infrastructure_failure
from jembatan_kit.testing.databases import private_postgres_cluster


async def test_commits_leave_the_checkpoint_to_a_thread_of_its_own(tmp_path: Path) -> None:
    path = tmp_path / "service.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    try:
        async with engine.begin() as connection:
            autocheckpoint = (await connection.execute(text("PRAGMA wal_autocheckpoint"))).scalar()
            await connection.execute(text("CREATE TABLE rows (id INTEGER PRIMARY KEY, body TEXT)"))
        assert autocheckpoint == 0, "no commit copies the log back itself"
        for _ in range(20):  # well past the 1000 pages that would trigger SQLite's own
            async with engine.begin() as connection:
                await connection.execute(
                    text("INSERT INTO rows (body) VALUES (:body)"),
                    [{"body": "x" * 2000} for _ in range(200)],
                )
        written = 20 * 200 * 2000
        assert path.with_name("service.db-wal").stat().st_size > written
        assert path.stat().st_size < written, "the commits left the log as it was"
        await asyncio.sleep(CHECKPOINT_INTERVAL_S * 4)
        assert path.stat().st_size > written, "the checkpoint thread copied the log back"
    finally:
        await engine.dispose()


async def test_the_write_ahead_log_is_cut_back_once_a_long_reader_lets_go(tmp_path: Path) -> None:
    path = tmp_path / "service.db"
    limit = 256 * 1024
    engine = create_engine(f"sqlite+aiosqlite:///{path}", wal_size_limit_bytes=limit)
    reader = sqlite3.connect(path, isolation_level=None)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE rows (id INTEGER PRIMARY KEY, body TEXT)"))
        # A reader in the middle of a transaction keeps checkpoints from reaching the log's end,
        # so the log grows well past the limit meanwhile.
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM rows").fetchall()
        for _ in range(10):
            async with engine.begin() as connection:
                await connection.execute(
                    text("INSERT INTO rows (body) VALUES (:body)"),
                    [{"body": "x" * 2000} for _ in range(200)],
                )
        wal = path.with_name("service.db-wal")
        await asyncio.sleep(CHECKPOINT_INTERVAL_S * 3)
        assert wal.stat().st_size > 10 * limit, "the reader held the log back"
        reader.execute("COMMIT")

        deadline = asyncio.get_running_loop().time() + 5
        while wal.stat().st_size > limit and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(CHECKPOINT_INTERVAL_S)
        assert wal.stat().st_size <= limit
        async with engine.connect() as connection:
            rows = (await connection.execute(text("SELECT count(*) FROM rows"))).scalar()
        assert rows == 10 * 200, "nothing was lost on the way"
    finally:
        reader.close()
        await engine.dispose()


async def test_transactions_queued_behind_a_locked_database_fail_together(
    tmp_path: Path,
) -> None:
    """While another process holds the database, each transaction queued in this process fails
    as a resource failure within about one busy timeout, not one busy timeout after another."""
    path = tmp_path / "service.db"
    busy_s = 0.5
    engine = create_engine(f"sqlite+aiosqlite:///{path}", busy_timeout_s=busy_s)
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE rows (id INTEGER PRIMARY KEY)"))
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")

    async def write() -> None:
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO rows DEFAULT VALUES"))

    try:
        started = asyncio.get_running_loop().time()
        outcomes = await asyncio.gather(*(write() for _ in range(6)), return_exceptions=True)
        waited = asyncio.get_running_loop().time() - started
        holder.rollback()
        await write()  # the turn was given back: the next transaction goes through
        async with engine.connect() as connection:
            stored = (await connection.execute(text("SELECT count(*) FROM rows"))).scalar()
    finally:
        holder.close()
        await engine.dispose()
    assert all(is_infrastructure_failure(outcome) for outcome in outcomes), outcomes
    assert waited < 6 * busy_s, f"queued one busy timeout after another ({waited:.1f} s)"
    assert stored == 1


async def test_statements_run_on_the_event_loops_thread(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'service.db'}")
    threads: set[int] = set()

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _seen(*_args: Any) -> None:
        threads.add(threading.get_ident())

    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE rows (id INTEGER PRIMARY KEY)"))
            await connection.execute(text("INSERT INTO rows DEFAULT VALUES"))
            rows = (await connection.execute(text("SELECT count(*) FROM rows"))).scalar()
    finally:
        await engine.dispose()
    assert rows == 1
    assert threads == {threading.get_ident()}, "no statement was handed to another thread"


async def test_waiting_for_another_process_lock_lets_the_loop_run(tmp_path: Path) -> None:
    """A transaction that finds the write lock taken waits for it asynchronously: the loop goes
    on meanwhile, and the transaction goes through once the lock is let go."""
    path = tmp_path / "service.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}", busy_timeout_s=5)
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE rows (id INTEGER PRIMARY KEY)"))
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")

    async def write() -> None:
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO rows DEFAULT VALUES"))

    try:
        writing = asyncio.create_task(write())
        loop = asyncio.get_running_loop()
        started = loop.time()
        for _ in range(30):
            await asyncio.sleep(0.01)
        ticking_s = loop.time() - started
        assert not writing.done(), "the lock is still held"
        holder.commit()
        await asyncio.wait_for(writing, 5)
        async with engine.connect() as connection:
            stored = (await connection.execute(text("SELECT count(*) FROM rows"))).scalar()
    finally:
        holder.close()
        await engine.dispose()
    assert ticking_s < 1.5, f"the loop stood still for {ticking_s:.1f} s while the lock was held"
    assert stored == 1


@pytest.mark.parametrize("autovacuum", ["on", "off"])
async def test_a_postgresql_server_without_autovacuum_is_named_at_start(
    autovacuum: str, caplog: pytest.LogCaptureFixture
) -> None:
    with private_postgres_cluster(settings={"autovacuum": autovacuum}) as cluster:
        engine = create_engine(cluster.url)
        try:
            with caplog.at_level(logging.WARNING, logger="jembatan_kit.db"):
                warned = await warn_if_autovacuum_is_off(engine)
        finally:
            await engine.dispose()
    said = [r.getMessage() for r in caplog.records if "autovacuum" in r.getMessage()]
    assert warned is (autovacuum == "off")
    assert len(said) == (1 if autovacuum == "off" else 0), said


async def test_sqlite_has_no_autovacuum_to_warn_of(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'service.db'}")
    try:
        assert await warn_if_autovacuum_is_off(engine) is False
    finally:
        await engine.dispose()


async def test_a_json_column_reads_back_what_was_written(database_url: str) -> None:
    """JSON columns are encoded with orjson: what the standard library took, read back as it
    would have been (keys that are not strings become strings)."""
    table = Table(
        "documents", MetaData(), Column("id", Integer, primary_key=True), Column("body", JSON)
    )
    written = {"items": [{"category": "pelatihan", "amount": 1_500_000, "rate": 0.5}], "none": None}
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(table.metadata.create_all)
            await connection.execute(
                table.insert(), [{"id": 1, "body": written}, {"id": 2, "body": {3: "tiga"}}]
            )
        async with engine.connect() as connection:
            bodies = dict((await connection.execute(select(table.c.id, table.c.body))).all())
    finally:
        await engine.dispose()
    assert bodies == {1: written, 2: {"3": "tiga"}}
