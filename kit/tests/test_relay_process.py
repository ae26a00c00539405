"""The outbox relay in a process of its own, against a real nats-server and both databases: it
publishes what the service stages as soon as it is woken, is started again when it dies, and
ends when the service that started it dies."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from nats.aio.client import Client as NatsClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from jembatan_contracts import ALL_STREAMS, CandidateRegistered
from jembatan_kit.broker import ensure_streams
from jembatan_kit.db import create_session_factory
from jembatan_kit.messaging_tables import outbox_relay_lease_table, outbox_table
from jembatan_kit.outbox import add_to_outbox
from jembatan_kit.relay_process import RelayProcess
from jembatan_kit.settings import ServiceSettings
from jembatan_kit.testing.effects import registered
from jembatan_kit.testing.helpers import eventually

POLL_S = 60.0
"""The relay's own poll: longer than any test, so only a wake-up makes it publish at once."""


@pytest.fixture
def settings(database_url: str, nats_url: str) -> ServiceSettings:
    return ServiceSettings(
        service_name=f"kit-tests-{uuid.uuid4().hex[:8]}",
        database_url=database_url,
        nats_url=nats_url,
        outbox_poll_interval_s=POLL_S,
        outbox_relay_process=True,
    )


@pytest.fixture
async def relay(
    settings: ServiceSettings, engine: AsyncEngine, nats_client: NatsClient
) -> AsyncIterator[RelayProcess]:
    await ensure_streams(nats_client.jetstream(), ALL_STREAMS)
    relay = RelayProcess(settings)
    await relay.start()
    yield relay
    await relay.stop()


async def stage(engine: AsyncEngine, count: int) -> list[CandidateRegistered]:
    events = [registered() for _ in range(count)]
    async with create_session_factory(engine)() as session, session.begin():
        await add_to_outbox(session, *events)
    return events


async def unsent(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        return (
            await connection.scalar(
                select(func.count())
                .select_from(outbox_table)
                .where(outbox_table.c.sent_at.is_(None))
            )
            or 0
        )


async def published(nats_client: NatsClient, events: list[CandidateRegistered]) -> bool:
    js = nats_client.jetstream()
    for event in events:
        try:
            await js.get_last_msg(CandidateRegistered.stream_name(), event.subject)
        except Exception:
            return False
    return True


def relay_pid(relay: RelayProcess) -> int | None:
    """The relay process running now, if one is."""
    process = relay._process
    return process.pid if process is not None and process.returncode is None else None


async def running(relay: RelayProcess) -> bool:
    return relay_pid(relay) is not None


async def test_what_is_staged_is_published_as_soon_as_the_relay_is_woken(
    relay: RelayProcess, engine: AsyncEngine, nats_client: NatsClient
) -> None:
    async def relaying() -> bool:
        async with engine.connect() as connection:
            return bool(
                await connection.scalar(select(func.count(outbox_relay_lease_table.c.holder)))
            )

    await eventually(relaying)  # its first look at the outbox, which it found empty
    await asyncio.sleep(0.2)
    events = await stage(engine, 40)
    relay.wake()

    await eventually(lambda: published(nats_client, events), timeout_s=POLL_S / 4)

    async def all_marked_sent() -> bool:
        return await unsent(engine) == 0

    await eventually(all_marked_sent)
    assert relay.problem() is None


async def test_a_relay_process_that_dies_is_started_again(
    relay: RelayProcess, engine: AsyncEngine, nats_client: NatsClient
) -> None:
    await eventually(lambda: running(relay))
    first = relay_pid(relay)
    assert first is not None
    os.kill(first, signal.SIGKILL)

    async def said_in_health() -> bool:
        return relay.problem() is not None

    await eventually(said_in_health)
    assert relay.problem() == "outbox relay process exited with -9; starting it again"
    events = await stage(engine, 5)  # staged while it is down: nobody to wake
    relay.wake()

    await eventually(lambda: published(nats_client, events), timeout_s=POLL_S / 4)
    assert relay_pid(relay) not in (None, first)
    assert relay.problem() is None


SERVICE = """
import asyncio, sys
from jembatan_kit.relay_process import RelayProcess
from jembatan_kit.settings import ServiceSettings

async def main():
    relay = RelayProcess(ServiceSettings.model_validate_json(sys.argv[1]))
    await relay.start()
    while relay._process is None:
        await asyncio.sleep(0.05)
    print(relay._process.pid, flush=True)
    await asyncio.sleep(3600)

asyncio.run(main())
"""


async def test_the_relay_process_ends_when_its_service_dies(
    settings: ServiceSettings, engine: AsyncEngine, tmp_path: Path
) -> None:
    service = subprocess.Popen(
        [sys.executable, "-c", SERVICE, settings.model_dump_json()],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert service.stdout is not None
        relay = int(await asyncio.to_thread(service.stdout.readline))
        assert Path(f"/proc/{relay}").exists()
        service.kill()  # no chance to stop its relay
        service.wait()

        async def relay_ended() -> bool:
            stat = Path(f"/proc/{relay}/stat")
            return not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] == "Z"

        await eventually(relay_ended, timeout_s=10)
    finally:
        service.kill()
        service.wait()
