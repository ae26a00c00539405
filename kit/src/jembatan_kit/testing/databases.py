"""Throwaway databases for tests: a SQLite file, or a PostgreSQL database created and dropped.

PostgreSQL comes from, in order: `TEST_POSTGRES_URL` (an admin URL), a testcontainers container
where a Docker engine runs, or the local server at 127.0.0.1:5432 (user postgres, trust auth).
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy.engine import make_url

from jembatan_kit.nats_server import free_port

LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
THROWAWAY = {"fsync": "off"}
"""A test's cluster need not survive the machine's crash."""


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


@dataclass
class PrivatePostgres:
    """A PostgreSQL cluster of the test's own, on a free loopback port, that it may stop."""

    data_dir: Path
    port: int
    as_owner: list[str]
    settings: Mapping[str, str] = field(default_factory=lambda: THROWAWAY)

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def admin_url(self) -> str:
        """The plain URL (asyncpg, psql) of its `postgres` database."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def pid(self) -> int:
        """The postmaster's process id, while it runs."""
        return int((self.data_dir / "postmaster.pid").read_text().split()[0])

    def pg_ctl(self, *args: str) -> None:
        subprocess.run(
            [*self.as_owner, _binary("pg_ctl"), "-D", str(self.data_dir), *args],
            check=True,
            capture_output=True,
        )

    def start(self) -> None:
        settings = {"listen_addresses": "127.0.0.1", **self.settings}
        options = " ".join(
            [f"-p {self.port} -k {self.data_dir}", *(f"-c {k}={v}" for k, v in settings.items())]
        )
        self.pg_ctl("-o", options, "-l", str(self.data_dir / "server.log"), "-w", "start")

    def stop(self) -> None:
        self.pg_ctl("-m", "fast", "-w", "stop")


def _binary(name: str) -> str:
    found = shutil.which(name) or shutil.which(
        name, path="/usr/local/bin:/usr/lib/postgresql/15/bin"
    )
    if found is None:
        raise RuntimeError(f"{name} is not installed: PostgreSQL's server binaries are needed")
    return found


@contextmanager
def private_postgres_cluster(
    settings: Mapping[str, str] = THROWAWAY,
) -> Iterator[PrivatePostgres]:
    """A PostgreSQL cluster of its own on a free loopback port, for a test that stops and
    starts its database (never the shared server's), or a benchmark that needs the server's
    defaults (`settings={}`: autovacuum and fsync on, as in production). Run as the `postgres`
    user under root."""
    root = Path(tempfile.mkdtemp(prefix="jembatan-pg-"))
    as_owner: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root: run it as its own user
        owner = pwd.getpwnam("postgres")
        os.chown(root, owner.pw_uid, owner.pw_gid)
        as_owner = ["runuser", "-u", "postgres", "--"]
    cluster = PrivatePostgres(root / "data", free_port(), as_owner, settings)
    initdb = [_binary("initdb"), "-D", str(cluster.data_dir), "-U", "postgres", "--auth=trust"]
    subprocess.run([*as_owner, *initdb, "-N"], check=True, capture_output=True)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.pg_ctl("-m", "immediate", "stop")
        shutil.rmtree(root, ignore_errors=True)
