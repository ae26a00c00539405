"""Run as a process: stage one event, publish it, then die before marking it sent."""

import asyncio
import os
import sys
import uuid
from collections.abc import Sequence

from jembatan_kit.broker import ensure_streams, make_broker
from jembatan_kit.db import create_engine, create_session_factory
from jembatan_kit.outbox import OutboxRelay, add_to_outbox
from jembatan_kit.testing.effects import create_tables, registered


class CrashingRelay(OutboxRelay):
    async def _mark_sent(self, ids: Sequence[int]) -> None:
        os._exit(137)  # the process dies here, as if killed between publish and mark


async def main(database_url: str, nats_url: str, candidate_id: str) -> None:
    engine = create_engine(database_url)
    await create_tables(engine)
    sessions = create_session_factory(engine)
    event = registered().model_copy(update={"candidate_id": uuid.UUID(candidate_id)})
    async with sessions() as session, session.begin():
        await add_to_outbox(session, event)
    broker = make_broker(nats_url, "crash-test")
    await broker.connect()
    await ensure_streams(broker.connection.jetstream())
    await CrashingRelay(broker, sessions).relay_once()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
