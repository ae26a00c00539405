"""A fetch takes the messages that have already arrived at once (`take_what_is_queued`), and
takes them all, in order, with the subscription's accounting kept: against a real nats-server."""

from __future__ import annotations

import asyncio
from typing import Any

import nats.errors
import pytest
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.js.api import StreamConfig

from jembatan_kit.consumer import take_what_is_queued

STREAM = "FETCHED"
SUBJECT = "fetched.message"


async def test_a_fetch_takes_queued_messages_without_waiting_for_each(
    nats_client: NatsClient,
) -> None:
    js = nats_client.jetstream()
    await js.add_stream(StreamConfig(name=STREAM, subjects=[SUBJECT]))
    for n in range(300):
        await js.publish(SUBJECT, str(n).encode())
    subscription: Any = await js.pull_subscribe(SUBJECT, "fetcher", stream=STREAM)
    sub = subscription._sub
    waited = 0
    library_next_msg = sub.next_msg

    async def counted(timeout: float | None = 1.0) -> Msg:
        nonlocal waited
        waited += 1
        return await library_next_msg(timeout)

    sub.next_msg = counted
    take_what_is_queued(subscription)
    take_what_is_queued(subscription)  # idempotent: not wrapped twice

    first = await subscription.fetch(250, timeout=5)
    rest = await subscription.fetch(250, timeout=5)

    assert [int(msg.data) for msg in first + rest] == list(range(300))
    # The library's next_msg waits only where nothing had arrived yet: the first message of a
    # fetch, and the answer that ends one. Taking each through it would be 300 waits.
    assert waited <= 6
    assert subscription.pending_msgs == 0
    assert subscription.pending_bytes == 0
    for msg in first + rest:
        await msg.ack()


async def test_an_empty_queue_waits_and_times_out_as_the_library_does(
    nats_client: NatsClient,
) -> None:
    js = nats_client.jetstream()
    await js.add_stream(StreamConfig(name=STREAM, subjects=[SUBJECT]))
    subscription: Any = await js.pull_subscribe(SUBJECT, "idle", stream=STREAM)
    take_what_is_queued(subscription)

    with pytest.raises(nats.errors.TimeoutError):
        await subscription.fetch(10, timeout=0.3)

    async def publish_soon() -> None:
        await asyncio.sleep(0.2)
        await js.publish(SUBJECT, b"late")

    publishing = asyncio.create_task(publish_soon())
    arrived = await subscription.fetch(10, timeout=5)
    await publishing
    assert [msg.data for msg in arrived] == [b"late"]
