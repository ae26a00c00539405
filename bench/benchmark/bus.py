"""How the driver follows the bus: durable consumers of its own, which keep their place over a
restart of nats-server, and `Handled`, which tells when a service has handled a candidate's
event (its consumer's acknowledgement floor), so the driver acts on the candidate only then."""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import json
from collections.abc import Awaitable, Callable
from typing import Any

from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy


class Handled:
    """Candidates whose event a service's durable consumer has handled, for the driver to act
    on, as an operator acts once a service shows the candidate: training enrols a candidate on
    `CandidateRegistered`, and refuses results before; placement signs contracts only for a
    candidate whose `CandidateReadyForPlacement` it has handled.

    The events are read from the stream with their sequence numbers; an event is handled once
    the consumer's acknowledgement floor (every message up to it acknowledged, which the
    services do after their commit) has reached it."""

    def __init__(self, stream: str, durable: str, queue: asyncio.Queue[str], reader: str) -> None:
        self.stream = stream
        self.durable = durable
        self.queue = queue
        self.reader = reader
        """The driver's own durable consumer on the stream."""
        self.waiting: list[tuple[int, str]] = []  # (stream sequence, candidate id), a heap
        self.seen: set[str] = set()

    async def follow(self, js: JetStreamContext) -> None:
        """Read the consumer's events from now on."""
        info = await js.consumer_info(self.stream, self.durable)
        await follow(js, self.stream, self.reader, [info.config.filter_subject or ">"])

    async def on_event(self, msg: Msg) -> None:
        candidate = json.loads(msg.data)["candidate_id"]
        if candidate in self.seen:
            return  # delivered again: its acknowledgement was lost
        self.seen.add(candidate)
        heapq.heappush(self.waiting, (msg.metadata.sequence.stream, candidate))

    async def release(self, js: JetStreamContext, every_s: float = 0.1) -> None:
        reading = asyncio.create_task(consume(js, self.stream, self.reader, self.on_event))
        try:
            while True:
                try:
                    info = await js.consumer_info(self.stream, self.durable)
                except Exception:  # nats-server restarting: ask again
                    await asyncio.sleep(0.5)
                    continue
                floor = info.ack_floor.stream_seq if info.ack_floor else 0
                while self.waiting and self.waiting[0][0] <= floor:
                    self.queue.put_nowait(heapq.heappop(self.waiting)[1])
                await asyncio.sleep(every_s)
        finally:
            await stop([reading])


async def stop(tasks: list[asyncio.Task[Any]]) -> None:
    """Cancel `tasks` and wait until they have ended. A cancellation can be lost: on Python
    3.11, nats-py's `fetch` waits with `asyncio.wait_for`, which swallows a cancellation that
    arrives as a message does, and the reading loop then goes on. So cancel again until each
    has ended."""
    pending = {task for task in tasks if not task.done()}
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=1.0)
    await asyncio.gather(*tasks, return_exceptions=True)


async def follow(js: JetStreamContext, stream: str, durable: str, subjects: list[str]) -> None:
    """A durable consumer of the driver's own on `subjects` of `stream`, from now on: it keeps
    its place over a restart of nats-server, where an ordered consumer would start again."""
    await js.add_consumer(
        stream,
        ConsumerConfig(
            durable_name=durable,
            deliver_policy=DeliverPolicy.NEW,
            ack_policy=AckPolicy.EXPLICIT,
            filter_subjects=subjects,
            max_ack_pending=100_000,
            inactive_threshold=3600,
        ),
    )


async def consume(
    js: JetStreamContext, stream: str, durable: str, handle: Callable[[Msg], Awaitable[None]]
) -> None:
    """Hand every message of the durable to `handle`, in order, then acknowledge it; carry on
    through lost connections and restarts of nats-server."""
    subscription = await js.pull_subscribe_bind(durable, stream=stream)
    while True:
        try:
            batch = await subscription.fetch(1000, timeout=1)
        except TimeoutError:
            continue
        except Exception:  # nats-server down or restarting
            await asyncio.sleep(0.5)
            continue
        for msg in batch:
            await handle(msg)
            with contextlib.suppress(Exception):
                await msg.ack()
