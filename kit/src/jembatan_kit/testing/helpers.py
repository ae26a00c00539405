"""Helpers for tests that drive a service through its HTTP API and watch the bus."""

from __future__ import annotations

import asyncio
import atexit
import functools
import json
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from nats.aio.client import Client as NatsClient
from nats.js.api import ConsumerConfig, DeliverPolicy

from jembatan_contracts import (
    ALL_STREAMS,
    CandidateReadyForPlacement,
    CertificatePassed,
    Event,
    TestKind,
)
from jembatan_kit.auth import NATIONAL_AGENCY, bearer
from jembatan_kit.issuers import LocalIssuer, issue_token, trust_list_of, write_trust_file
from jembatan_kit.settings import SHIPPED_AGENCIES


@functools.cache
def issuer_for_tests(agency: str) -> LocalIssuer:
    """The issuer that signs the tokens of `agency` in tests: its key made once per process."""
    return LocalIssuer.generate(agency)


def trust_list_for_tests(agencies: Sequence[str] = SHIPPED_AGENCIES) -> dict[str, Any]:
    """A trust list document naming the testing issuers of `agencies`."""
    return trust_list_of(issuer_for_tests(agency) for agency in agencies)


@functools.cache
def trust_file_for_tests() -> Path:
    """A trust list file naming the testing issuers of the shipped agencies, written once per
    process: give it as `auth_trust_file` (AUTH_TRUST_FILE) in the settings of a service under
    test, and `token_for` signs tokens it accepts."""
    folder = Path(tempfile.mkdtemp(prefix="jembatan-trust-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    path = folder / "trust.json"
    write_trust_file(path, trust_list_for_tests())
    return path


def token_for(agency: str, user: str = "operator", roles: Sequence[str] = ()) -> dict[str, str]:
    """An Authorization header for `user` of `agency`, signed by the agency's testing issuer."""
    return bearer(issue_token(issuer_for_tests(agency), user, roles))


@asynccontextmanager
async def running_app(
    app: FastAPI, agency: str | None = NATIONAL_AGENCY
) -> AsyncIterator[httpx.AsyncClient]:
    """Run the app's lifespan (migrations, bus, relay) and give an HTTP client for it, calling
    as an operator of `agency` (Kemnaker, who sees every agency, by default; None: no token)."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        headers = token_for(agency) if agency else {}
        async with httpx.AsyncClient(
            transport=transport, base_url="http://service", headers=headers
        ) as client:
            yield client


async def eventually(
    check: Callable[[], Awaitable[bool]], timeout_s: float = 15.0, interval_s: float = 0.05
) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout_s}s")
        await asyncio.sleep(interval_s)


async def consumers_drained(nats: NatsClient, prefix: str = "") -> bool:
    """Whether every durable consumer of the Jembatan streams named `prefix`... (every one, by
    default) has handled (and acknowledged, which a service does after its commit) everything
    its stream holds. Ephemeral consumers, a reader's own, are not counted."""
    js = nats.jetstream()
    for spec in ALL_STREAMS:
        for info in await js.consumers_info(spec.name):
            durable = info.config.durable_name or ""
            if durable.startswith(prefix) and (info.num_pending or info.num_ack_pending):
                return False
    return True


async def events_on(
    nats: NatsClient, stream: str, subject: str = ">", timeout_s: float = 1.0
) -> list[dict[str, Any]]:
    """Every message stored in `stream` (optionally filtered), decoded from JSON, in order."""
    js = nats.jetstream()
    subscription = await js.pull_subscribe(
        subject,
        stream=stream,
        config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL, inactive_threshold=30),
    )
    found: list[dict[str, Any]] = []
    try:
        while True:
            try:
                batch = await subscription.fetch(100, timeout=timeout_s)
            except Exception:
                break
            for message in batch:
                found.append(json.loads(message.data))
                await message.ack()
    finally:
        await subscription.unsubscribe()
    return found


async def wait_for_events(
    nats: NatsClient,
    stream: str,
    predicate: Callable[[dict[str, Any]], bool],
    count: int = 1,
    timeout_s: float = 15.0,
) -> list[dict[str, Any]]:
    """Wait until at least `count` events in `stream` satisfy `predicate`; return them."""
    matching: list[dict[str, Any]] = []

    async def enough() -> bool:
        nonlocal matching
        matching = [
            event for event in await events_on(nats, stream, timeout_s=0.2) if predicate(event)
        ]
        return len(matching) >= count

    await eventually(enough, timeout_s=timeout_s, interval_s=0.1)
    return matching


def language_certificate(ready: CandidateReadyForPlacement) -> CertificatePassed:
    """The Japanese certificate training announced before `ready` (every track needs one):
    placement believes a readiness only for a candidate whose certificate it holds."""
    return CertificatePassed(
        agency=ready.agency,
        journey_id=ready.journey_id,
        candidate_id=ready.candidate_id,
        certificate_id=uuid.uuid4(),
        test=TestKind.JLPT,
        level=ready.language_level,
        issuer="Japan Foundation",
        passed_on=ready.occurred_at.date(),
    )


async def publish_ready(nats: NatsClient, *readiness: CandidateReadyForPlacement) -> None:
    """Publish each readiness as training does: its language certificate first."""
    js = nats.jetstream()
    for ready in readiness:
        certificate: Event = language_certificate(ready)
        for event in (certificate, ready):
            await js.publish(
                event.subject,
                event.model_dump_json().encode(),
                headers={"Nats-Msg-Id": str(event.event_id)},
            )
