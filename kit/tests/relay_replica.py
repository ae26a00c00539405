"""Run as a process: one replica's outbox relay over a shared database, until killed."""

import asyncio
import sys

from jembatan_kit.broker import make_broker
from jembatan_kit.db import create_engine, create_session_factory
from jembatan_kit.outbox import OutboxRelay, RelayLease


async def main(database_url: str, nats_url: str, holder: str) -> None:
    sessions = create_session_factory(create_engine(database_url))
    broker = make_broker(nats_url, f"relay-{holder}")
    await broker.connect()
    relay = OutboxRelay(
        broker,
        sessions,
        poll_interval_s=0.05,
        batch_size=200,
        lease=RelayLease(sessions, holder=holder, ttl_s=1.0),
    )
    await relay.start()
    print("started", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
