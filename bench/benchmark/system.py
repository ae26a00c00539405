"""The system under test, started as a user starts it (one nats-server, the services as their
own processes), each service on its own database; the token the driver calls it with; and
waiting until it is quiet, so a measurement has the machine to itself."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import asyncpg
import nats
from nats.aio.client import Client as NatsClient

from jembatan_cli.system import SERVICES, LocalSystem, local_issuer
from jembatan_kit.auth import NATIONAL_AGENCY, NIK_READER
from jembatan_kit.issuers import issue_token
from jembatan_kit.testing.helpers import consumers_drained

from .databases import unsent_count

POSTGRES_ADMIN = os.environ.get(
    "BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def sqlite_databases(data_dir: Path) -> dict[str, str]:
    """Each service's SQLite database in `data_dir`, as `jembatan up` places them."""
    return {name: f"sqlite+aiosqlite:///{data_dir / f'{name}.db'}" for name in SERVICES}


async def create_databases(suffix: str) -> dict[str, str]:
    admin = await asyncpg.connect(POSTGRES_ADMIN)
    urls = {}
    base = POSTGRES_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    try:
        for service in SERVICES:
            name = f"bench_{service}_{suffix}"
            await admin.execute(f'CREATE DATABASE "{name}"')
            urls[service] = f"{base}/{name}"
    finally:
        await admin.close()
    return urls


async def drop_databases(suffix: str) -> None:
    admin = await asyncpg.connect(POSTGRES_ADMIN)
    try:
        for service in SERVICES:
            await admin.execute(f'DROP DATABASE IF EXISTS "bench_{service}_{suffix}" WITH (FORCE)')
    finally:
        await admin.close()


def bench_token(data_dir: Path, subject: str = "bench") -> str:
    """A Kemnaker bearer token, with the right to read NIKs, that the services of the system
    started in `data_dir` accept."""
    return issue_token(local_issuer(data_dir, NATIONAL_AGENCY), subject, [NIK_READER])


def processes(system: LocalSystem) -> dict[str, int]:
    """The pid of each process of the system: the services and nats-server."""
    pids = {name: service.process.pid for name, service in system.services.items()}
    if system.nats is not None and system.nats.process is not None:
        pids["nats-server"] = system.nats.process.pid
    return pids


async def until_quiet(nats_url: str, database_urls: dict[str, str]) -> None:
    client = await nats.connect(nats_url)
    try:
        await quiet(client, database_urls)
    finally:
        await client.close()


async def quiet(
    client: NatsClient, database_urls: dict[str, str], timeout_s: float = 300.0
) -> None:
    """Wait until every service's relay has published all it staged and every durable consumer
    has handled all its stream holds: the work of what came before is done, so a measurement
    that follows has the machine to itself. (Consumers alone are not enough: a relay may not
    have published the last events of a request that has already been answered.)"""
    deadline = time.perf_counter() + timeout_s
    while time.perf_counter() < deadline:
        unsent = [await unsent_count(url) for url in database_urls.values()]
        if not any(unsent) and await consumers_drained(client):
            return
        await asyncio.sleep(0.2)
    raise RuntimeError(f"the relays or consumers were still busy after {timeout_s:.0f} s")
