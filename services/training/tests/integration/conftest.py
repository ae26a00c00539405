"""Fixtures for training's integration tests: the app on real NATS and a database, and a way to
enrol candidates the way it happens in production, by a CandidateRegistered event."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date

import httpx
import pytest
from nats.aio.client import Client as NatsClient

from jembatan_contracts import CandidateRegistered, Event, Track
from jembatan_kit.testing.helpers import eventually, running_app, trust_file_for_tests
from jembatan_training.bootstrap import build_app
from jembatan_training.config import TrainingSettings

Enrol = Callable[..., Awaitable[str]]
Publish = Callable[[Event], Awaitable[None]]


@pytest.fixture
async def training(database_url: str, nats_url: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = TrainingSettings(
        database_url=database_url,
        nats_url=nats_url,
        outbox_poll_interval_s=0.1,
        auth_trust_file=trust_file_for_tests(),
    )
    async with running_app(build_app(settings)) as client:
        yield client


@pytest.fixture
def publish(nats_client: NatsClient) -> Publish:
    async def publish(event: Event) -> None:
        await nats_client.jetstream().publish(event.subject, event.model_dump_json().encode())

    return publish


def registered(track: Track, sector: str, agency: str = "kaltim") -> CandidateRegistered:
    return CandidateRegistered(
        agency=agency,
        journey_id=uuid.uuid4(),
        candidate_id=uuid.uuid4(),
        track=track,
        preferred_sector=sector,
        education="SMK",
        province_code="64",
        registered_on=date(2026, 1, 12),
    )


@pytest.fixture
def enrol(training: httpx.AsyncClient, publish: Publish) -> Enrol:
    """Register a candidate on the bus and wait until training has enrolled them."""

    async def enrol(
        track: Track = Track.TITP, sector: str = "automotive", agency: str = "kaltim"
    ) -> str:
        event = registered(track, sector, agency)
        await publish(event)

        async def enrolled() -> bool:
            return (await training.get(f"/candidates/{event.candidate_id}")).status_code == 200

        await eventually(enrolled)
        return str(event.candidate_id)

    return enrol
