"""Throwaway databases for tests: a SQLite file, or a PostgreSQL database created and dropped.

PostgreSQL comes from, in order: `TEST_POSTGRES_URL` (an admin URL), a testcontainers container
where a Docker engine runs, or the local server at 127.0.0.1:5432 (user postgres, trust auth).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy.engine import make_url

LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"


def _docker_engine_runs() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=5).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@contextmanager
def postgres_admin_url() -> Iterator[str]:
    if url := os.environ.get("TEST_POSTGRES_URL"):
        yield url
        return
    if _docker_engine_runs():
        from testcontainers.community.postgres import PostgresContainer

        with PostgresContainer("postgres:16-alpine", driver=None) as container:
            yield container.get_connection_url()
        return
    yield LOCAL_POSTGRES


async def create_database(admin_url: str) -> str:
    """Create an empty database and return its SQLAlchemy asyncpg URL."""
    name = f"jembatan_test_{uuid.uuid4().hex[:12]}"
    admin = make_url(admin_url)
    try:
        connection = await asyncpg.connect(_plain(admin_url), timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        raise RuntimeError(
            f"PostgreSQL is not reachable at {admin.host}:{admin.port}: {exc}. Start it, run "
            "Docker for testcontainers, or set TEST_POSTGRES_URL."
        ) from exc
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return admin.set(drivername="postgresql+asyncpg", database=name).render_as_string(
        hide_password=False
    )


async def drop_database(admin_url: str, database_url: str) -> None:
    name = make_url(database_url).database
    connection = await asyncpg.connect(_plain(admin_url), timeout=5)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


def _plain(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
