"""The dashboard on a real nats-server and a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from dashboard_test_support import TODAY, FixedClock

from jembatan_dashboard.bootstrap import build_app
from jembatan_dashboard.config import DashboardSettings
from jembatan_kit.testing.helpers import running_app, trust_file_for_tests


@pytest.fixture
async def dashboard(database_url: str, nats_url: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = DashboardSettings(
        database_url=database_url,
        nats_url=nats_url,
        auth_trust_file=trust_file_for_tests(),
        consumer_batch_timeout_s=0.05,
    )
    app = build_app(settings, clock=FixedClock(TODAY))
    async with running_app(app, agency=None) as client:  # each test says who calls
        yield client
