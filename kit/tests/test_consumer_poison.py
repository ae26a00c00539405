"""Poison at the head of a stream, against a real nats-server: a message too large to forward
as it is, or not JSON at all, is dead-lettered at once, and never stops the consumer from handling
the messages behind it, at its first start or after a restart."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from nats.aio.client import Client as NatsClient
from sqlalchemy.ext.asyncio import AsyncEngine

from jembatan_contracts import (
    DEAD_LETTER,
    DEAD_LETTER_BODIES,
    CandidateRegistered,
    DeadLetterHeader,
)
from jembatan_kit.broker import ensure_streams
from jembatan_kit.consumer import dead_letter_bodies
from jembatan_kit.db import create_engine
from jembatan_kit.testing.effects import (
    ConsumingService,
    count_effects,
    create_tables,
    dead_letters,
    drained,
    registered,
)

DURABLE = "poison-candidate-registered"
WEEK_S = 7 * 24 * 3600.0
SUBJECT = CandidateRegistered.subject_for("kaltim")


@pytest.fixture
async def engine(sqlite_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(sqlite_url)
    await create_tables(engine)
    yield engine
    await engine.dispose()


async def test_oversized_and_malformed_messages_at_the_head_never_wedge_the_consumer(
    engine: AsyncEngine, nats_url: str, nats_client: NatsClient
) -> None:
    js = nats_client.jetstream()
    await ensure_streams(js)
    # The server's default max_payload is 1 MiB: this body passes it alone, but not with the
    # headers a dead letter adds to it.
    limit = nats_client.max_payload
    oversized = b'{"agency": "kaltim", "preferred_sector": "' + b"x" * (limit - 200) + b'"}'
    first = await js.publish(SUBJECT, oversized, headers={"Nats-Msg-Id": "huge", "traceparent": TP})
    await js.publish(SUBJECT, b"not json at all", headers={"Nats-Msg-Id": "garbage"})
    good = registered()
    await js.publish(good.subject, good.model_dump_json().encode())

    async with ConsumingService(engine, nats_url, DURABLE) as service:
        await drained(js, DURABLE)
        assert service.consumer.degraded_reason is None
    assert await count_effects(engine, good.candidate_id) == 1

    dead = {
        int(msg.headers[DeadLetterHeader.ORIGINAL_SEQUENCE]): msg for msg in await dead_letters(js)
    }
    assert len(dead) == 2
    huge = dead[first.seq]
    assert not huge.data, "the body is kept by reference only"
    assert huge.headers[DeadLetterHeader.REASON] == (
        f"oversized: {len(oversized)} bytes, limit 65536"
    )
    assert huge.headers[DeadLetterHeader.ORIGINAL_MSG_ID] == "huge"
    assert huge.headers[DeadLetterHeader.TRACEPARENT] == TP
    store = await js.object_store(DEAD_LETTER_BODIES)
    kept = await store.get(huge.headers[DeadLetterHeader.BODY_OBJECT])
    assert kept.data == oversized
    garbage = dead[first.seq + 1]
    assert garbage.data == b"not json at all"
    assert garbage.headers[DeadLetterHeader.REASON].startswith("schema invalid: ")
    for message in dead.values():
        for header in _ALWAYS:
            assert header in message.headers, header
        assert message.headers[DeadLetterHeader.CONSUMER] == DURABLE

    # After a restart, the poison is not dead-lettered again and new work flows.
    await js.publish(SUBJECT, oversized, headers={"Nats-Msg-Id": "huge-again"})
    later = registered()
    await js.publish(later.subject, later.model_dump_json().encode())
    async with ConsumingService(engine, nats_url, DURABLE):
        await drained(js, DURABLE)
    assert await count_effects(engine, later.candidate_id) == 1
    assert len(await dead_letters(js)) == 3


TP = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
_ALWAYS = (
    DeadLetterHeader.REASON,
    DeadLetterHeader.CONSUMER,
    DeadLetterHeader.DEAD_LETTERED_AT,
    DeadLetterHeader.ORIGINAL_SUBJECT,
    DeadLetterHeader.ORIGINAL_STREAM,
    DeadLetterHeader.ORIGINAL_SEQUENCE,
    DeadLetterHeader.ORIGINAL_MSG_ID,
)


async def test_large_bodies_are_kept_as_long_as_the_dead_letters_naming_them(
    nats_client: NatsClient,
) -> None:
    js = nats_client.jetstream()
    await ensure_streams(js)
    dead_letter_stream = (await js.stream_info(DEAD_LETTER.name)).config
    dead_letter_stream.max_age = WEEK_S  # as a deployment may keep its dead letters
    await js.update_stream(dead_letter_stream)
    await dead_letter_bodies(js)
    bodies = (await js.stream_info(f"OBJ_{DEAD_LETTER_BODIES}")).config
    assert (bodies.max_age, bodies.num_replicas) == (WEEK_S, dead_letter_stream.num_replicas)
