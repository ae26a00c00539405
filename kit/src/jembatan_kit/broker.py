"""The NATS broker and the JetStream streams every service relies on."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import nats.errors
from faststream.nats import NatsBroker
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig, StreamInfo
from nats.js.client import JetStreamContext as _JetStream
from nats.js.errors import APIError, NotFoundError

from jembatan_contracts import ALL_STREAMS, DEAD_LETTER, StreamSpec

from .settings import ServiceSettings

log = logging.getLogger(__name__)

PullSubscription = _JetStream.PullSubscription

DUPLICATE_WINDOW_S = 2 * 60
"""How long JetStream remembers a Nats-Msg-Id. A relay that restarts inside it republishes nothing
new; after it, the consumers' inboxes still drop the repeat. nats-server keeps every id of the
window in memory: at a national year's 5,000 events a second, two minutes are 600,000 ids, where
fifteen were 4.5 million (about 500 MB)."""


def normalise_fetch_timeouts() -> None:
    """Make every JetStream fetch time-out a `nats.errors.TimeoutError`.

    nats-py 2.16 raises a bare `asyncio.TimeoutError` from `fetch()` when the remaining deadline
    is already spent; FastStream 0.7's pull loop catches only `nats.errors.TimeoutError`, so the
    bare one kills its consume task, and a batch the server had already handed out waits for the
    ack wait (30 s) before redelivery. Idempotent; applied by `make_broker`.
    """
    original = PullSubscription.fetch
    if getattr(original, "_timeouts_normalised", False):
        return

    @functools.wraps(original)
    async def fetch(self: PullSubscription, *args: Any, **kwargs: Any) -> Any:
        try:
            return await original(self, *args, **kwargs)
        except nats.errors.TimeoutError:
            raise
        except TimeoutError as exc:
            raise nats.errors.TimeoutError from exc

    fetch._timeouts_normalised = True  # type: ignore[attr-defined]
    PullSubscription.fetch = fetch  # type: ignore[method-assign]


def nats_servers(nats_url: str) -> list[str]:
    """The server URLs in `NATS_URL`: one, or several separated by commas (each node of a
    cluster, each with its credentials). nats-py takes a list, not a comma-separated string; a
    client given every node reconnects to another when the one it uses is lost, where the
    servers a cluster announces itself carry no credentials."""
    servers = [url.strip() for url in nats_url.split(",") if url.strip()]
    if not servers:
        raise ValueError("NATS_URL names no server")
    return servers


def make_broker(nats_url: str, service_name: str) -> NatsBroker:
    """The service's connection to NATS. Without FastStream's telemetry middleware: the consumers
    trace each message in its journey's trace themselves (`consumer.BatchConsumer`), where the
    middleware would open a trace of its own for every fetched batch, unconnected to any
    journey."""
    normalise_fetch_timeouts()
    return NatsBroker(
        nats_servers(nats_url),
        name=service_name,
        logger=logging.getLogger(f"jembatan.{service_name}.bus"),
        graceful_timeout=10,
        max_reconnect_attempts=-1,
    )


DEFAULT_MAX_AGE_DAYS: float = ServiceSettings.model_fields["stream_max_age_days"].default
SECONDS_PER_DAY = 24 * 60 * 60


class StreamSetupError(RuntimeError):
    """A stream could not be created or updated as the settings ask (e.g. more replicas than
    the JetStream cluster has servers)."""


def stream_config(spec: StreamSpec, replicas: int, max_age_days: float) -> StreamConfig:
    """What a stream should be. Event streams keep an event `max_age_days` (the inboxes keep
    their rows at least that long); DEADLETTER keeps its messages until an operator replays or
    discards them, so it has no age limit."""
    keeps_forever = spec.name == DEAD_LETTER.name
    return StreamConfig(
        name=spec.name,
        subjects=list(spec.subjects),
        description=spec.description,
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        discard=DiscardPolicy.OLD,
        duplicate_window=DUPLICATE_WINDOW_S,
        num_replicas=replicas,
        max_age=0 if keeps_forever else max_age_days * SECONDS_PER_DAY,
    )


async def ensure_streams(
    js: JetStreamContext,
    specs: tuple[StreamSpec, ...] = ALL_STREAMS,
    *,
    replicas: int = 1,
    max_age_days: float = DEFAULT_MAX_AGE_DAYS,
) -> None:
    """Create each stream, or bring an existing one up to date: its subjects, its age limit,
    and its replica count (`STREAM_REPLICAS`; NATS 2.10+ changes it in place, copying the
    stream to the new peers). Safe to run from every service and every replica of one.

    A stream is never scaled down here: a hub service started without `STREAM_REPLICAS=3`
    would otherwise quietly take the hub's copies away. Fewer copies is an operator's decision
    (`nats stream edit <STREAM> --replicas 1` as `ops`); this logs a warning instead."""
    for spec in specs:
        wanted = stream_config(spec, replicas, max_age_days)
        try:
            info = await js.stream_info(spec.name)
        except NotFoundError:
            await _apply(js.add_stream, wanted)
            continue
        current = info.config.num_replicas or 1
        if current > replicas:
            log.warning(
                "stream %s keeps %d replicas; STREAM_REPLICAS=%d does not scale it down",
                spec.name,
                current,
                replicas,
            )
            wanted.num_replicas = current
        if _differs(info.config, wanted):
            if current != wanted.num_replicas:
                log.info("stream %s: replicas %d -> %d", spec.name, current, wanted.num_replicas)
            await _apply(js.update_stream, wanted)


def _differs(current: StreamConfig, wanted: StreamConfig) -> bool:
    return (
        sorted(current.subjects or []) != sorted(wanted.subjects or [])
        or current.description != wanted.description
        or (current.num_replicas or 1) != wanted.num_replicas
        or round(current.max_age or 0) != round(wanted.max_age or 0)
        or round(current.duplicate_window or 0) != round(wanted.duplicate_window or 0)
        or current.discard != wanted.discard
    )


async def _apply(
    change: Callable[[StreamConfig], Awaitable[StreamInfo]], config: StreamConfig
) -> None:
    try:
        await change(config)
    except APIError as exc:
        raise StreamSetupError(
            f"stream {config.name} with {config.num_replicas} replica(s): {exc.description}"
            f" (error {exc.err_code}). STREAM_REPLICAS must not exceed the JetStream servers"
            " of the cluster: 1 on a single server, 3 on the hub cluster."
        ) from exc
