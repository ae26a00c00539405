"""Pytest fixtures shared by every package's tests. Enabled in the root conftest.py."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import nats
import pytest
from nats.aio.client import Client as NatsClient

from jembatan_kit.nats_server import NatsServerProcess

from .databases import (
    PrivatePostgres,
    create_database,
    drop_database,
    postgres_admin_url,
    private_postgres_cluster,
)


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsServerProcess]:
    """A fresh nats-server with JetStream for each test: no state leaks between tests."""
    with NatsServerProcess(store_dir=tmp_path / "nats") as server:
        yield server


@pytest.fixture
def nats_url(nats_server: NatsServerProcess) -> str:
    return nats_server.url


@pytest.fixture
async def nats_client(nats_url: str) -> AsyncIterator[NatsClient]:
    client = await nats.connect(nats_url)
    yield client
    await client.close()


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[str]:
    with postgres_admin_url() as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'service.db'}"


@pytest.fixture
async def postgres_url(postgres_admin: str) -> AsyncIterator[str]:
    url = await create_database(postgres_admin)
    yield url
    await drop_database(postgres_admin, url)


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """Runs the test once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'service.db'}"
        return
    admin = request.getfixturevalue("postgres_admin")
    url = await create_database(admin)
    yield url
    await drop_database(admin, url)


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    """A PostgreSQL cluster of the test's own, which the test may stop and start."""
    with private_postgres_cluster() as cluster:
        yield cluster
