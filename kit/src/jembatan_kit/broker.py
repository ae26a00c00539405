"""The NATS broker and the JetStream streams every service relies on."""

from __future__ import annotations

import functools
import logging
from typing import Any

import nats.errors
from faststream.nats import NatsBroker
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.client import JetStreamContext as _JetStream
from nats.js.errors import NotFoundError

from jembatan_contracts import ALL_STREAMS, StreamSpec

PullSubscription = _JetStream.PullSubscription

DUPLICATE_WINDOW_S = 15 * 60
"""How long JetStream remembers a Nats-Msg-Id. A relay that restarts inside it republishes nothing
new; after it, the consumers' inboxes still drop the repeat."""


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


def make_broker(nats_url: str, service_name: str) -> NatsBroker:
    """The service's connection to NATS. Without FastStream's telemetry middleware: the consumers
    trace each message in its journey's trace themselves (`consumer.BatchConsumer`), where the
    middleware would open a trace of its own for every fetched batch, unconnected to any
    journey."""
    normalise_fetch_timeouts()
    return NatsBroker(
        nats_url,
        name=service_name,
        logger=logging.getLogger(f"jembatan.{service_name}.bus"),
        graceful_timeout=10,
        max_reconnect_attempts=-1,
    )


async def ensure_streams(js: JetStreamContext, specs: tuple[StreamSpec, ...] = ALL_STREAMS) -> None:
    """Create each stream, or bring its subjects up to date. Safe to run from every service."""
    for spec in specs:
        config = StreamConfig(
            name=spec.name,
            subjects=list(spec.subjects),
            description=spec.description,
            retention=RetentionPolicy.LIMITS,
            storage=StorageType.FILE,
            discard=DiscardPolicy.OLD,
            duplicate_window=DUPLICATE_WINDOW_S,
        )
        try:
            await js.stream_info(spec.name)
        except NotFoundError:
            await js.add_stream(config)
        else:
            await js.update_stream(config)
