"""A tiny service on the shared runtime, for the runtime's own tests: a command that stores a
registration and stages its `CandidateRegistered`, and a consumer of that event that records an
effect (`jembatan_kit.testing.effects.record_effect`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI
from pydantic import BaseModel
from sqlalchemy import Column, Integer, MetaData, Table, Uuid, func, insert, select

from jembatan_contracts import CandidateRegistered
from jembatan_kit.consumer import EventHandler
from jembatan_kit.outbox import add_to_outbox
from jembatan_kit.runtime import Runtime, ServiceRuntime, create_service_app
from jembatan_kit.settings import ServiceSettings
from jembatan_kit.testing.effects import effects, record_effect, registered
from jembatan_kit.testing.helpers import trust_file_for_tests

MIGRATIONS = Path(__file__).parent / "runtime_service_migrations"
DURABLE = "runtime-test-candidate-registered"

service_metadata = MetaData()
registrations = Table(
    "registrations",
    service_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("candidate_id", Uuid, nullable=False),
)


class Registration(BaseModel):
    sector: str = "caregiver"


router = APIRouter()


@router.post("/registrations", status_code=201)
async def register(registration: Registration, runtime: Runtime) -> dict[str, str]:
    event = registered(registration.sector)
    async with runtime.unit_of_work() as session:
        await session.execute(insert(registrations).values(candidate_id=event.candidate_id))
        await add_to_outbox(session, event)
    return {"candidate_id": str(event.candidate_id)}


@router.get("/counts")
async def counts(runtime: Runtime) -> dict[str, int]:
    async with runtime.sessions() as session:
        stored = await session.scalar(select(func.count()).select_from(registrations))
        handled = await session.scalar(select(func.count()).select_from(effects))
    return {"registrations": stored or 0, "effects": handled or 0}


@router.get("/stream")
async def stream(runtime: Runtime) -> dict[str, int]:
    """Reads the bus during the request: a 503 while NATS is not connected."""
    info = await runtime.jetstream().stream_info("REGISTRATION")
    return {"messages": info.state.messages}


def service_settings(**overrides: Any) -> ServiceSettings:
    defaults: dict[str, Any] = {
        "service_name": "runtime-test",
        "auth_trust_file": trust_file_for_tests(),
        "consumer_batch_timeout_s": 0.05,
        "outbox_poll_interval_s": 0.05,
    }
    return ServiceSettings(**(defaults | overrides))


def build_app(settings: ServiceSettings) -> FastAPI:
    return create_service_app(
        lambda: ServiceRuntime(
            settings,
            migrations=MIGRATIONS,
            handlers=[EventHandler(CandidateRegistered, DURABLE, record_effect)],
        ),
        title="Runtime test service",
        routers=[router],
    )
