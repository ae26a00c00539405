from collections.abc import AsyncIterator

import pytest
from financing_test_support import FinancingHarness
from nats.aio.client import Client as NatsClient


@pytest.fixture
async def harness(
    database_url: str, nats_url: str, nats_client: NatsClient
) -> AsyncIterator[FinancingHarness]:
    harness = FinancingHarness(database_url, nats_url, nats_client)
    yield harness
    await harness.stop_all()
