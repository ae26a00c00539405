"""Run as a process: consume a batch and hang in the middle of handling it, until killed.

Prints `handling <n>` once the batch is in the handler, so the test knows when to kill it."""

import asyncio
import sys

from sqlalchemy.ext.asyncio import AsyncSession

from jembatan_contracts import CandidateRegistered
from jembatan_kit.consumer import ConsumerOptions
from jembatan_kit.db import create_engine
from jembatan_kit.testing.effects import ConsumingService, create_tables


async def hang(session: AsyncSession, event: CandidateRegistered) -> None:
    print("handling", flush=True)
    await asyncio.sleep(3600)


async def main(database_url: str, nats_url: str, durable: str) -> None:
    engine = create_engine(database_url)
    await create_tables(engine)
    options = ConsumerOptions(batch_size=50, batch_timeout_s=0.2, max_deliver=3)
    async with ConsumingService(engine, nats_url, durable, options, hang):
        await asyncio.sleep(3600)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
