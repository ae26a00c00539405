"""A consumer hands its batch over as soon as it holds what the server had: a lone event is
handled long before the batch's collection timeout, against a real nats-server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from nats.aio.client import Client as NatsClient
from sqlalchemy.ext.asyncio import AsyncEngine

from jembatan_kit.broker import ensure_streams
from jembatan_kit.consumer import ConsumerOptions
from jembatan_kit.db import create_engine
from jembatan_kit.testing.effects import (
    ConsumingService,
    count_effects,
    create_tables,
    registered,
)

DURABLE = "trickle-candidate-registered"
COLLECTING_S = 120.0
"""Far longer than the test may take: a batch handed over only when it timed out fails it."""


@pytest.fixture
async def engine(sqlite_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(sqlite_url)
    await create_tables(engine)
    yield engine
    await engine.dispose()


async def test_each_event_of_a_trickle_is_handled_without_waiting_for_a_full_batch(
    engine: AsyncEngine, nats_client: NatsClient, nats_url: str
) -> None:
    js = nats_client.jetstream()
    await ensure_streams(js)
    options = ConsumerOptions(batch_size=100, batch_timeout_s=COLLECTING_S)
    async with ConsumingService(engine, nats_url, DURABLE, options=options):
        for _ in range(3):  # one at a time, each waited for
            event = registered()
            await js.publish(event.subject, event.model_dump_json().encode())
            async with asyncio.timeout(30):
                while not await count_effects(engine, event.candidate_id):
                    await asyncio.sleep(0.05)
        burst = [registered() for _ in range(20)]
        for event in burst:
            await js.publish(event.subject, event.model_dump_json().encode())
        async with asyncio.timeout(30):
            while await count_effects(engine) < 23:
                await asyncio.sleep(0.05)
    assert await count_effects(engine) == 23
