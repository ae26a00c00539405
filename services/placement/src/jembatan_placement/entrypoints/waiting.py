"""The readiness that waited for a certificate placement holds by now: a background loop in
every running placement instance (`handlers.ready_the_waiting`)."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jembatan_kit.faults import RepeatedFailureLog
from jembatan_kit.runtime import ServiceRuntime

from ..adapters.repository import SqlPlacementRepository
from ..service_layer.handlers import ready_the_waiting

log = logging.getLogger(__name__)


async def run_waiting_readiness(runtime: ServiceRuntime, interval_s: float) -> None:
    failures = RepeatedFailureLog(log, "making waiting readiness ready")
    while True:
        await asyncio.sleep(interval_s)
        try:
            await ready_all_waiting(runtime.sessions)
            failures.succeeded()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            failures.failed(exc)


async def ready_all_waiting(
    sessions: async_sessionmaker[AsyncSession], batch_size: int = 500
) -> int:
    """Make ready every waiting readiness whose certificate is held, `batch_size` at a time,
    each batch in its own transaction. Returns how many."""
    made = 0
    while True:
        async with sessions() as session, session.begin():
            found = await ready_the_waiting(SqlPlacementRepository(session), batch_size)
        made += found
        if found < batch_size:
            return made
