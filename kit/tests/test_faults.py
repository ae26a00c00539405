"""Resource failures are told apart from handling failures, on real databases."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
import pytest
from sqlalchemy import make_url, text
from sqlalchemy.exc import DBAPIError

from jembatan_kit.db import create_engine
from jembatan_kit.faults import RepeatedFailureLog, describe, is_infrastructure_failure
from jembatan_kit.nats_server import free_port


async def test_a_locked_sqlite_database_is_a_resource_failure(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x INTEGER)")
    holder.execute("BEGIN EXCLUSIVE")
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    with pytest.raises(sqlite3.OperationalError) as raised:
        other.execute("INSERT INTO t VALUES (1)")
    holder.close()
    other.close()
    assert is_infrastructure_failure(raised.value)
    assert "locked" in describe(raised.value)


async def test_a_missing_table_is_a_handling_failure(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'service.db'}")
    try:
        with pytest.raises(DBAPIError) as raised:
            async with engine.begin() as connection:
                await connection.execute(text("SELECT * FROM no_such_table"))
    finally:
        await engine.dispose()
    assert not is_infrastructure_failure(raised.value)


async def test_postgresql_that_does_not_answer_is_a_resource_failure() -> None:
    engine = create_engine(f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/none")
    try:
        with pytest.raises(Exception) as raised:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
    finally:
        await engine.dispose()
    assert is_infrastructure_failure(raised.value)


async def test_a_terminated_postgresql_connection_is_a_resource_failure(postgres_url: str) -> None:
    engine = create_engine(postgres_url, pool_pre_ping=False)
    try:
        with pytest.raises(DBAPIError) as raised:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))
    finally:
        await engine.dispose()
    assert is_infrastructure_failure(raised.value)


def test_bugs_and_refusals_are_handling_failures() -> None:
    assert not is_infrastructure_failure(ZeroDivisionError("a bug"))
    assert not is_infrastructure_failure(ValueError("bad value"))
    wrapped = RuntimeError("batch failed")
    wrapped.__cause__ = KeyError("x")
    assert not is_infrastructure_failure(wrapped)


def test_a_repeated_failure_is_logged_once_and_its_end_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    log = logging.getLogger("jembatan.test.loop")
    failures = RepeatedFailureLog(log, "the loop")
    path = tmp_path / "locked.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x INTEGER)")
    holder.execute("BEGIN EXCLUSIVE")
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    with caplog.at_level(logging.INFO, logger="jembatan.test.loop"):
        for _ in range(3):
            try:
                other.execute("INSERT INTO t VALUES (1)")
            except sqlite3.OperationalError as exc:
                failures.failed(exc)
        holder.rollback()
        other.execute("INSERT INTO t VALUES (1)")
        failures.succeeded()
        failures.succeeded()
        failures.failed(ZeroDivisionError("a bug"))
    holder.close()
    other.close()
    lines = [(record.levelname, record.getMessage()) for record in caplog.records]
    assert lines == [
        (
            "WARNING",
            "the loop failed, retrying until it works: OperationalError: database is locked",
        ),
        ("INFO", "the loop works again"),
        ("ERROR", "the loop failed, retrying: ZeroDivisionError('a bug')"),
    ]
    assert caplog.records[-1].exc_info is not None


async def test_a_postgresql_database_closed_to_connections_is_a_resource_failure(
    postgres_url: str, postgres_admin: str
) -> None:
    name = make_url(postgres_url).database
    admin = await asyncpg.connect(
        make_url(postgres_admin).set(drivername="postgresql").render_as_string(hide_password=False)
    )
    engine = create_engine(postgres_url)
    await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
    try:
        with pytest.raises(DBAPIError) as raised:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
    finally:
        await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        await admin.close()
        await engine.dispose()
    assert is_infrastructure_failure(raised.value)
    assert "not currently accepting connections" in describe(raised.value)
