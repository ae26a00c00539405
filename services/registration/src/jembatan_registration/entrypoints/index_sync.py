"""Keeps the national identity index informed, in the background: each round sends it what it
has still to hear of and applies its notices (`handlers.inform_index`), in a transaction of its
own; the events the notices cause (a duplicate found, a candidate cleared) leave through the
outbox. While the index cannot be asked, nothing is lost: what is due stays due, and the round
is tried again every `IDENTITY_SYNC_INTERVAL_S`."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from jembatan_kit.faults import describe, is_infrastructure_failure

from ..adapters.national_index import IndexUnavailable, NatsNationalIndex
from ..adapters.protection import IdentityProtector
from ..adapters.repository import SqlRegistrationRepository
from ..service_layer import handlers

if TYPE_CHECKING:
    from jembatan_kit.runtime import ServiceRuntime

log = logging.getLogger(__name__)


async def keep_index_informed(
    runtime: ServiceRuntime,
    index: NatsNationalIndex,
    protector: IdentityProtector,
    interval_s: float,
) -> None:
    await index.connect()
    unavailable: str | None = None
    try:
        while True:
            done = 0
            try:
                async with runtime.sessions() as session, session.begin():
                    repo = SqlRegistrationRepository(session, protector)
                    done = await handlers.inform_index(repo, index, runtime.clock)
                runtime.relay.wake()
                if unavailable is not None:
                    log.info("national identity index reachable again")
                    unavailable = None
            except IndexUnavailable as problem:
                if unavailable is None:
                    log.warning("national identity index unavailable: %s", problem)
                unavailable = str(problem)
            except Exception as problem:
                if is_infrastructure_failure(problem):
                    log.warning("index round skipped: %s", describe(problem))
                else:
                    log.exception("index round failed")
            if not done:
                await asyncio.sleep(interval_s)
    finally:
        await index.close()
