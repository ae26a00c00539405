"""The registration service on a real database and nats-server, for the integration tests."""

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from jembatan_kit.testing.helpers import running_app, trust_file_for_tests
from jembatan_registration.bootstrap import build_app
from jembatan_registration.config import RegistrationSettings


@pytest.fixture
async def client(
    database_url: str, nats_url: str, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    settings = RegistrationSettings(
        database_url=database_url,
        nats_url=nats_url,
        secrets_file=tmp_path / "secrets.json",
        auth_trust_file=trust_file_for_tests(),
    )
    async with running_app(build_app(settings)) as client:
        yield client
