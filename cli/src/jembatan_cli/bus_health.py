"""The state of the bus for `jembatan health`: every JetStream stream with its messages, every
durable consumer with what it has still to do, and the dead letters per consumer."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import nats
from nats.aio.client import Client as NatsClient
from nats.errors import Error as NatsError
from nats.js.errors import NotFoundError

from jembatan_contracts import DEAD_LETTER
from jembatan_kit.broker import nats_servers
from jembatan_kit.nats_server import port_is_open

from .system import NATS_USERS_FILE, without_credentials


@dataclass(frozen=True)
class ConsumerState:
    stream: str
    name: str
    pending: int
    """Messages in the stream the consumer has not been given yet."""
    ack_pending: int
    """Given but not yet acknowledged."""
    redelivered: int
    """Given more than once and still unacknowledged (a handler failing or slow)."""


@dataclass(frozen=True)
class StreamState:
    name: str
    messages: int
    consumers: list[ConsumerState]


@dataclass
class BusState:
    streams: list[StreamState] = field(default_factory=list)
    dead_letters: dict[str, int] = field(default_factory=dict)
    """Dead letters by the consumer that gave up on them."""

    @property
    def dead_letter_count(self) -> int:
        return sum(self.dead_letters.values())

    @property
    def backlog(self) -> int:
        return sum(c.pending + c.ack_pending for s in self.streams for c in s.consumers)


_SILENT = logging.NullHandler()


class BusUnreachable(Exception):
    pass


class BusRefused(BusUnreachable):
    """NATS answered, and refused the credentials (or their absence)."""


async def read_bus_state(nats_url: str, timeout_s: float = 3.0) -> BusState:
    client = await connect(nats_url, timeout_s)
    try:
        manager = client.jsm()
        state = BusState()
        for info in sorted(await manager.streams_info(), key=lambda info: info.config.name or ""):
            name = info.config.name or "?"
            consumers = [
                ConsumerState(
                    stream=name,
                    name=consumer.name,
                    pending=consumer.num_pending or 0,
                    ack_pending=consumer.num_ack_pending or 0,
                    redelivered=consumer.num_redelivered or 0,
                )
                for consumer in await manager.consumers_info(name)
                if consumer.config.durable_name
            ]
            state.streams.append(
                StreamState(name, info.state.messages, sorted(consumers, key=lambda c: c.name))
            )
        try:
            dead = await manager.stream_info(DEAD_LETTER.name, subjects_filter=">")
        except NotFoundError:
            dead = None
        if dead is not None:
            state.dead_letters = {
                subject.removeprefix("deadletter."): count
                for subject, count in sorted((dead.state.subjects or {}).items())
            }
        return state
    finally:
        await client.close()


async def connect(
    nats_url: str,
    timeout_s: float,
    on_error: Callable[[Exception], Awaitable[None]] | None = None,
) -> NatsClient:
    """A connection that fails at once, with `BusUnreachable`, when NATS does not answer, and
    with `BusRefused` when it refuses the credentials (said once, without nats-py's traceback
    of the same refusal from its reading task). `on_error` hears what the server reports later,
    a permissions violation for one."""
    logging.getLogger("nats.aio.client").addHandler(_SILENT)
    servers = nats_servers(nats_url)
    if not any(
        port_is_open(address.port or 4222, address.hostname or "127.0.0.1")
        for address in map(urlsplit, servers)
    ):
        raise BusUnreachable(f"NATS does not answer at {without_credentials(nats_url)}")

    async def quiet(error: Exception) -> None:
        if on_error is not None:
            await on_error(error)

    try:
        return await asyncio.wait_for(
            nats.connect(
                servers,
                connect_timeout=timeout_s,
                allow_reconnect=False,
                max_reconnect_attempts=0,
                error_cb=quiet,
            ),
            timeout=timeout_s * 2,
        )
    except (TimeoutError, NatsError, OSError) as exc:
        if "authorization violation" in str(exc).lower():
            raise BusRefused(
                f"NATS at {without_credentials(nats_url)} refused the credentials: connect as"
                f" ops with --data-dir of `jembatan up` (the passwords are in {NATS_USERS_FILE}"
                " there), or give --nats-url nats://<user>:<password>@<host>:<port>"
            ) from exc
        raise BusUnreachable(
            f"NATS does not answer at {without_credentials(nats_url)} ({exc or type(exc).__name__})"
        ) from exc


def render_bus_state(state: BusState) -> list[str]:
    lines = []
    for stream in state.streams:
        lines.append(f"stream {stream.name:<13} {stream.messages:>8} messages")
        for consumer in stream.consumers:
            lines.append(
                f"  consumer {consumer.name:<36} pending {consumer.pending:>6}  "
                f"ack pending {consumer.ack_pending:>5}  redelivered {consumer.redelivered:>5}"
            )
    if state.dead_letters:
        lines.append(f"dead letters: {state.dead_letter_count}")
        for durable, count in state.dead_letters.items():
            lines.append(f"  {durable:<45} {count:>6}")
    else:
        lines.append("dead letters: none")
    return lines


def dead_letter_advice(state: BusState) -> str | None:
    """What `jembatan health` tells an operator while dead letters wait (they keep it red)."""
    if not state.dead_letter_count:
        return None
    return (
        f"{state.dead_letter_count} message(s) were dead-lettered: see them with "
        "`jembatan deadletter list` and `jembatan deadletter show SEQ`; once the cause is fixed, "
        "`jembatan deadletter replay`, or `jembatan deadletter discard --because ...`"
    )
