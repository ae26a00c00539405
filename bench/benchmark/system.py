"""The system under test, started as a user starts it (one nats-server, the services as their
own processes), each service on its own database; the token the driver calls it with; and
waiting until it is quiet, so a measurement has the machine to itself."""

from __future__ import annotations

import asyncio
import contextlib
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

POSTGRES_SETTINGS = ("autovacuum", "fsync", "synchronous_commit", "shared_buffers")
"""The server settings the report names: they decide what a PostgreSQL run measures."""


def sqlite_databases(data_dir: Path) -> dict[str, str]:
    """Each service's SQLite database in `data_dir`, as `jembatan up` places them."""
    return {name: f"sqlite+aiosqlite:///{data_dir / f'{name}.db'}" for name in SERVICES}


async def postgres_server(admin_url: str) -> dict[str, str]:
    """The server's version and the settings that decide what a run on it measures."""
    admin = await asyncpg.connect(admin_url)
    try:
        rows = await admin.fetch(
            "SELECT name, setting, unit FROM pg_settings WHERE name = ANY($1::text[])",
            list(POSTGRES_SETTINGS),
        )
        version = await admin.fetchval("SHOW server_version")
    finally:
        await admin.close()
    found = {row["name"]: _with_unit(row["setting"], row["unit"]) for row in rows}
    return {"version": version.split()[0], **{name: found[name] for name in POSTGRES_SETTINGS}}


def _with_unit(setting: str, unit: str | None) -> str:
    if unit == "8kB":
        return f"{int(setting) * 8 // 1024} MB"
    return setting


async def create_databases(admin_url: str, suffix: str) -> dict[str, str]:
    admin = await asyncpg.connect(admin_url)
    urls = {}
    base = admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    try:
        for service in SERVICES:
            name = f"bench_{service}_{suffix}"
            await admin.execute(f'CREATE DATABASE "{name}"')
            urls[service] = f"{base}/{name}"
    finally:
        await admin.close()
    return urls


async def drop_databases(admin_url: str, suffix: str) -> None:
    admin = await asyncpg.connect(admin_url)
    try:
        for service in SERVICES:
            await admin.execute(f'DROP DATABASE IF EXISTS "bench_{service}_{suffix}" WITH (FORCE)')
    finally:
        await admin.close()


def bench_token(data_dir: Path, subject: str = "bench") -> str:
    """A Kemnaker bearer token, with the right to read NIKs, that the services of the system
    started in `data_dir` accept."""
    return issue_token(local_issuer(data_dir, NATIONAL_AGENCY), subject, [NIK_READER])


def keep_on_cpus(postmaster_pid: int, cpus: set[int]) -> None:
    """Run a PostgreSQL server on `cpus` only: its postmaster and the processes it has started
    (the backends it starts later inherit it)."""
    for pid in (postmaster_pid, *children_of(postmaster_pid)):
        with contextlib.suppress(ProcessLookupError):
            os.sched_setaffinity(pid, cpus)


def children_of(pid: int) -> list[int]:
    """The live processes `pid` started."""
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError):
                if int(proc_stat(int(entry.name))[1]) == pid:
                    children.append(int(entry.name))
    return children


def proc_stat(pid: int) -> list[str]:
    """The fields of /proc/<pid>/stat after the command name: [0] is the state, [1] the
    parent's id, [11] and [12] user and system time, [13] and [14] those of ended children."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def processes(system: LocalSystem) -> dict[str, int]:
    """The pid of each process of the system: the services, the relay process a service
    started (`<service> relay`, `OUTBOX_RELAY_PROCESS`), and nats-server."""
    pids = {}
    for name, service in system.services.items():
        pids[name] = service.process.pid
        for child in children_of(service.process.pid):
            pids[f"{name} relay"] = child
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
