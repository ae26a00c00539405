"""The due-instalment scheduler: a background loop in every running financing instance."""

from __future__ import annotations

import asyncio
import logging

from jembatan_kit.faults import RepeatedFailureLog
from jembatan_kit.runtime import ServiceRuntime

from ..service_layer.handlers import announce_due_instalments

log = logging.getLogger(__name__)


async def run_due_scheduler(runtime: ServiceRuntime, interval_s: float, batch_size: int) -> None:
    failures = RepeatedFailureLog(log, "announcing due instalments")
    while True:
        try:
            if await announce_due_instalments(runtime.sessions, runtime.clock, batch_size):
                runtime.relay.wake()
            failures.succeeded()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            failures.failed(exc)
        await asyncio.sleep(interval_s)
