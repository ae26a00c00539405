"""For the tests of who may call: the runtime's test service (`runtime_service`) with a route
that changes its database for the caller and the trust list of a test, and tokens forged by
hand."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from fastapi import APIRouter
from sqlalchemy import insert

from jembatan_kit.auth import CurrentCaller
from jembatan_kit.issuers import write_trust_file
from jembatan_kit.nats_server import NatsServerProcess
from jembatan_kit.runtime import Runtime, ServiceRuntime, create_service_app
from jembatan_kit.testing.helpers import running_app
from jembatan_kit.testing.runtime_service import MIGRATIONS, registrations, service_settings
from jembatan_kit.testing.runtime_service import router as counting_router

acting = APIRouter()


@acting.post("/acts", status_code=201)
async def act(caller: CurrentCaller, runtime: Runtime) -> dict[str, Any]:
    """A change made for the caller: one more row in the service's database."""
    async with runtime.unit_of_work() as session:
        await session.execute(insert(registrations).values(candidate_id=uuid.uuid4()))
    return {"user": caller.user, "agency": caller.agency, "roles": sorted(caller.roles)}


@asynccontextmanager
async def service_trusting(
    trust: Mapping[str, Any] | None, folder: Path, **settings: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """A service app as services build it, running its lifespan (migrations on SQLite; a
    nats-server, where it reads the revocation list), its trust list `trust` read from a file
    (None: no trust list, or the AUTH_TRUST_FILE `settings` give), and an HTTP client that sends
    no token of its own."""
    trust_file = None
    if trust is not None:
        trust_file = folder / "trust.json"
        write_trust_file(trust_file, trust)
    with NatsServerProcess(store_dir=folder / "nats") as nats_server:
        configured = service_settings(
            **{"auth_trust_file": trust_file} | settings,
            database_url=f"sqlite+aiosqlite:///{folder / 'service.db'}",
            nats_url=nats_server.url,
        )
        app = create_service_app(
            lambda: ServiceRuntime(configured, migrations=MIGRATIONS),
            title="auth",
            routers=[acting, counting_router],
        )
        async with running_app(app, agency=None) as client:
            yield client


async def changes(service: httpx.AsyncClient) -> int:
    """How many changes callers have made to the service's database."""
    response = await service.get("/counts")
    assert response.status_code == 200, response.text
    return int(response.json()["registrations"])


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hmac_signed(claims: Mapping[str, Any], kid: str, secret: bytes) -> str:
    """An HS256 token made with `secret`, by hand: PyJWT refuses to use a public key as an HMAC
    secret, a forger need not."""
    header = {"alg": "HS256", "typ": "JWT", "kid": kid}
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"
