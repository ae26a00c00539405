"""The dashboard on a real nats-server and a real database (SQLite and PostgreSQL), its clock
fixed on the day the scenarios' figures hold (`today`, ../conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time

import httpx
import pytest

from jembatan_dashboard.bootstrap import build_app
from jembatan_dashboard.config import DashboardSettings
from jembatan_kit.testing.helpers import running_app, trust_file_for_tests


class FixedClock:
    """The dashboard's clock, fixed at noon of `today`, so arrears are counted on a known day."""

    def __init__(self, today: date) -> None:
        self._now = datetime.combine(today, time(12), UTC)

    def now(self) -> datetime:
        return self._now

    def today(self) -> date:
        return self._now.date()


@pytest.fixture
async def dashboard(
    database_url: str, nats_url: str, today: date
) -> AsyncIterator[httpx.AsyncClient]:
    settings = DashboardSettings(
        database_url=database_url,
        nats_url=nats_url,
        auth_trust_file=trust_file_for_tests(),
        consumer_batch_timeout_s=0.05,
    )
    app = build_app(settings, clock=FixedClock(today))
    async with running_app(app, agency=None) as client:  # each test says who calls
        yield client
