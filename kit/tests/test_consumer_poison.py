"""Poison at the head of a stream, against a real nats-server: a message too large to forward
as it is, or not JSON at all, is dead-lettered at once, and never stops the consumer from handling
the messages behind it, at its first start or after a restart."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from kit_test_support import count_effects, create_tables, record_effect, registered
from nats.aio.client import Client as NatsClient
from sqlalchemy.ext.asyncio import AsyncEngine

from jembatan_contracts import (
    DEAD_LETTER,
    DEAD_LETTER_BODIES,
    CandidateRegistered,
    DeadLetterHeader,
)
from jembatan_kit.broker import ensure_streams, make_broker
from jembatan_kit.consumer import BatchConsumer, ConsumerOptions, EventHandler
from jembatan_kit.db import create_engine, create_session_factory

DURABLE = "poison-candidate-registered"
SUBJECT = CandidateRegistered.subject_for("kaltim")


class Service:
    """One consumer on its own broker connection, started and stopped like a service."""

    def __init__(self, engine: AsyncEngine, nats_url: str) -> None:
        self.broker = make_broker(nats_url, "poison-test")
        self.consumer = BatchConsumer(
            self.broker,
            EventHandler(CandidateRegistered, DURABLE, record_effect),
            create_session_factory(engine),
            ConsumerOptions(batch_size=10, batch_timeout_s=0.05, max_deliver=3),
        )
        self.consumer.register()

    async def __aenter__(self) -> Service:
        await self.broker.connect()
        js = self.broker.connection.jetstream()
        await ensure_streams(js)
        await self.consumer.ensure_durable(js)
        await self.broker.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.broker.stop()


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

    async with Service(engine, nats_url) as service:
        await _drained(js, timeout_s=15)
        assert service.consumer.degraded_reason is None
    assert await count_effects(engine, good.candidate_id) == 1

    dead = {int(msg.headers[DeadLetterHeader.ORIGINAL_SEQUENCE]): msg for msg in await _dead(js)}
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
    async with Service(engine, nats_url):
        await _drained(js, timeout_s=15)
    assert await count_effects(engine, later.candidate_id) == 1
    assert len(await _dead(js)) == 3


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


async def _drained(js, timeout_s: float) -> None:
    """Every message of the stream acknowledged by the durable."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        info = await js.consumer_info("REGISTRATION", DURABLE)
        if info.num_pending == 0 and info.num_ack_pending == 0:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(
                f"consumer wedged: {info.num_pending} pending, {info.num_ack_pending} unacked"
            )
        await asyncio.sleep(0.1)


async def _dead(js) -> list:
    """Every dead letter of the durable, read without consuming them."""
    info = await js.stream_info(DEAD_LETTER.name)
    return [
        await js.get_msg(DEAD_LETTER.name, seq)
        for seq in range(info.state.first_seq, info.state.last_seq + 1)
        if info.state.messages
    ]
