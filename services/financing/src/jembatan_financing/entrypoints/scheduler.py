"""The due-instalment scheduler: a background loop in every running financing instance."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jembatan_kit.clock import Clock
from jembatan_kit.faults import RepeatedFailureLog
from jembatan_kit.runtime import ServiceRuntime

from ..adapters.repository import SqlFinancingRepository
from ..service_layer.handlers import announce_due_instalments

log = logging.getLogger(__name__)


async def run_due_scheduler(runtime: ServiceRuntime, interval_s: float, batch_size: int) -> None:
    failures = RepeatedFailureLog(log, "announcing due instalments")
    while True:
        try:
            if await sweep_due_instalments(runtime.sessions, runtime.clock, batch_size):
                runtime.relay.wake()
            failures.succeeded()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            failures.failed(exc)
        await asyncio.sleep(interval_s)


async def sweep_due_instalments(
    sessions: async_sessionmaker[AsyncSession], clock: Clock, batch_size: int = 200
) -> int:
    """Announce every instalment due by today that was not announced yet, `batch_size` at a
    time, each batch in its own transaction. Returns how many this sweep announced."""
    announced = 0
    while True:
        async with sessions() as session, session.begin():
            sweep = await announce_due_instalments(
                SqlFinancingRepository(session), clock, batch_size
            )
        announced += sweep.announced
        if sweep.found < batch_size:
            return announced
