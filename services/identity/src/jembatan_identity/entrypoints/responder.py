"""The index answers registration's requests (`jembatan_contracts.identity`) over NATS: core
request-reply, which crosses a province's leaf link through the hub account's service exports
(deploy/nats/topology.py) and fails at once with "no responders" while the link is down, so a
registration there is accepted as provisional without waiting.

One replica answers one request at a time (nats-py hands a subscription's messages to its
callback in turn): two claims of one person are decided one after the other."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import nats
from nats.aio.msg import Msg
from pydantic import BaseModel, ValidationError

from jembatan_contracts.identity import (
    IDENTITY_ROOT,
    ClaimsReply,
    ClaimsRequest,
    NoticesReply,
    NoticesRequest,
    ReleasesReply,
    ReleasesRequest,
    identity_requests,
)
from jembatan_kit.broker import nats_servers
from jembatan_kit.sealed_nik import IndexKeys

from ..adapters.repository import SqlIndexRepository
from ..service_layer import handlers

if TYPE_CHECKING:
    from jembatan_kit.runtime import ServiceRuntime

log = logging.getLogger(__name__)

QUEUE = "identity-index"
CONNECT_RETRY_S = 1.0


async def answer(runtime: ServiceRuntime, keys: IndexKeys, msg: Msg) -> BaseModel:
    """The reply to one request. A request that is not well formed, or about another agency's
    candidates, is answered with its error; nothing is changed."""
    parts = msg.subject.split(".")
    if len(parts) != 4 or parts[0] != IDENTITY_ROOT:
        return ClaimsReply(error=f"no such request: {msg.subject}")
    asker, what = parts[1], parts[2]
    national = runtime.settings.agency
    now = runtime.clock.now()
    try:
        async with runtime.sessions() as session, session.begin():
            repo = SqlIndexRepository(session)
            if what == "claims":
                request = ClaimsRequest.model_validate_json(msg.data)
                return await handlers.claim(asker, request, repo, keys, now, national)
            if what == "releases":
                releases = ReleasesRequest.model_validate_json(msg.data)
                return await handlers.release(asker, releases, repo, now, national)
            if what == "notices":
                read = NoticesRequest.model_validate_json(msg.data)
                return await handlers.read_notices(asker, read, repo, national)
    except ValidationError as invalid:
        return ClaimsReply(error=f"{what}: not a valid request ({invalid.error_count()} errors)")
    except handlers.NotYours as refused:
        return ReleasesReply(error=str(refused))
    return NoticesReply(error=f"no such request: {what}")


async def serve(runtime: ServiceRuntime, keys: IndexKeys) -> None:
    """Answer every agency's requests until cancelled; connects (and reconnects) for as long
    as it takes."""
    client = None
    while client is None:
        try:
            client = await nats.connect(
                nats_servers(runtime.settings.nats_url),
                name="identity-index",
                max_reconnect_attempts=-1,
                reconnect_time_wait=0.5,
                connect_timeout=2,
            )
        except Exception as problem:
            log.warning("index not connected to NATS yet (%s); retrying", problem)
            await asyncio.sleep(CONNECT_RETRY_S)

    async def on_request(msg: Msg) -> None:
        try:
            reply = await answer(runtime, keys, msg)
        except Exception:
            log.exception("index request on %s failed", msg.subject)
            reply = ClaimsReply(error="the index could not answer; try again")
        if msg.reply:
            await msg.respond(reply.model_dump_json().encode())

    await client.subscribe(identity_requests("*"), queue=QUEUE, cb=on_request)
    log.info("identity index answering on %s", identity_requests("*"))
    try:
        await asyncio.Event().wait()
    finally:
        await client.close()
