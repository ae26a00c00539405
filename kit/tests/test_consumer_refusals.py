"""A batch handler that judges each event on its own names the ones it refuses (`Refusals`):
against a real nats-server, the others are handled together, never one by one, the waiting one
comes back and is handled, the forged one is dead-lettered."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from nats.aio.client import Client as NatsClient
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from jembatan_contracts import CandidateRegistered, DeadLetterHeader
from jembatan_kit.broker import ensure_streams
from jembatan_kit.consumer import (
    Refusals,
    RetryLater,
    Unprocessable,
    retry_delay_s,
    wait_delay_s,
)
from jembatan_kit.db import create_engine
from jembatan_kit.testing.effects import (
    ConsumingService,
    count_effects,
    create_tables,
    dead_letters,
    drained,
    effects,
    registered,
)

DURABLE = "refusals-candidate-registered"


@pytest.fixture
async def engine(sqlite_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(sqlite_url)
    await create_tables(engine)
    yield engine
    await engine.dispose()


class Judge:
    """A batch handler judging each event: `poison` is refused for good, `retry` waits once."""

    def __init__(self, name_nobody: bool = False) -> None:
        self.batches: list[int] = []
        self.alone = 0
        self.waited: set[uuid.UUID] = set()
        self.name_nobody = name_nobody

    async def handle_batch(self, session: AsyncSession, events: list[CandidateRegistered]) -> None:
        self.batches.append(len(events))
        refused: dict[uuid.UUID, RetryLater | Unprocessable] = {}
        for event in events:
            if event.preferred_sector == "poison":
                refused[event.event_id] = Unprocessable("forged: never handled")
            elif event.preferred_sector == "retry" and event.event_id not in self.waited:
                self.waited.add(event.event_id)
                refused[event.event_id] = RetryLater("its certificate is a moment behind")
        await session.execute(
            insert(effects),
            [{"candidate_id": e.candidate_id, "sector": e.preferred_sector} for e in events],
        )  # written before the refusals are raised: the consumer must roll it back
        if self.name_nobody:
            raise Refusals({uuid.uuid4(): RetryLater("not one of the batch")})
        if refused:
            raise Refusals(refused)

    async def handle(self, session: AsyncSession, event: CandidateRegistered) -> None:
        self.alone += 1
        await self.handle_batch(session, [event])


async def publish(nats_client: NatsClient, events: list[CandidateRegistered]) -> None:
    js = nats_client.jetstream()
    await ensure_streams(js)
    for event in events:
        await js.publish(event.subject, event.model_dump_json().encode())


async def test_refused_events_are_settled_each_with_its_refusal_and_the_rest_together(
    engine: AsyncEngine, nats_url: str, nats_client: NatsClient
) -> None:
    good = [registered() for _ in range(6)]
    waiting, forged = registered("retry"), registered("poison")
    await publish(nats_client, [*good[:3], waiting, forged, *good[3:]])
    judge = Judge()

    async with ConsumingService(
        engine, nats_url, DURABLE, handle=judge.handle, handle_batch=judge.handle_batch
    ):
        await drained(nats_client.jetstream(), DURABLE)

    for event in [*good, waiting]:
        assert await count_effects(engine, event.candidate_id) == 1, event.preferred_sector
    assert await count_effects(engine, forged.candidate_id) == 0
    assert judge.alone == 0, "no event was handled alone"
    assert judge.waited == {waiting.event_id}
    [dead] = await dead_letters(nats_client.jetstream())
    assert dead.headers[DeadLetterHeader.REASON] == "forged: never handled"
    assert dead.headers[DeadLetterHeader.CONSUMER] == DURABLE


async def test_refusals_naming_no_event_of_the_batch_have_it_handled_message_by_message(
    engine: AsyncEngine, nats_url: str, nats_client: NatsClient
) -> None:
    events = [registered() for _ in range(4)]
    await publish(nats_client, events)
    judge = Judge(name_nobody=True)

    async with ConsumingService(
        engine, nats_url, DURABLE, handle=judge.handle, handle_batch=judge.handle_batch
    ):
        await drained(nats_client.jetstream(), DURABLE, timeout_s=30)

    # Alone, each message's refusal names another event: each is retried, then dead-lettered.
    assert judge.alone >= len(events)
    assert await count_effects(engine) == 0
    assert len(await dead_letters(nats_client.jetstream())) == len(events)


def test_a_waiting_message_comes_back_soon_then_as_any_retry() -> None:
    assert [wait_delay_s(attempt) for attempt in (1, 2, 3)] == [0.1, 0.3, 1.0]
    assert [wait_delay_s(attempt) for attempt in range(4, 9)] == [
        retry_delay_s(attempt) for attempt in range(4, 9)
    ]
    # Nearly as long in all before it is dead-lettered as any other retried message.
    waited, retried = (
        sum(delay(attempt) for attempt in range(1, 8)) for delay in (wait_delay_s, retry_delay_s)
    )
    assert 0.9 * retried <= waited < retried
