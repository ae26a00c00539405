"""Financing on real JetStream and real databases (SQLite and PostgreSQL): the `harness` fixture
starts instances of the service, publishes what other services would, and reads what financing
published."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest
from nats.aio.client import Client as NatsClient
from nats.js.api import RawStreamMsg

from jembatan_contracts import Event
from jembatan_financing.bootstrap import build_app, build_runtime
from jembatan_financing.config import FinancingSettings
from jembatan_kit.auth import NATIONAL_AGENCY
from jembatan_kit.clock import Clock
from jembatan_kit.runtime import ServiceRuntime
from jembatan_kit.testing.helpers import eventually, token_for, trust_file_for_tests


class FinancingHarness:
    def __init__(self, database_url: str, nats_url: str, nats_client: NatsClient) -> None:
        self.database_url = database_url
        self.nats_url = nats_url
        self.js = nats_client.jetstream()
        self._running: dict[int, AsyncExitStack] = {}
        self.overrides: dict[str, Any] = {}
        """Settings of the instances started from now on, over the defaults below."""

    def settings(self) -> FinancingSettings:
        return FinancingSettings(
            database_url=self.database_url,
            nats_url=self.nats_url,
            agency="kemnaker",
            auth_trust_file=trust_file_for_tests(),
            scheduler_interval_s=0.05,
            outbox_poll_interval_s=0.05,
            consumer_batch_timeout_s=0.05,
            **self.overrides,
        )

    async def start(self, clock: Clock | None = None) -> ServiceRuntime:
        """Start one financing instance; several may run against the same database."""
        stack = AsyncExitStack()
        runtime = await stack.enter_async_context(build_runtime(self.settings(), clock))
        self._running[id(runtime)] = stack
        return runtime

    async def stop(self, runtime: ServiceRuntime) -> None:
        await self._running.pop(id(runtime)).aclose()

    async def stop_all(self) -> None:
        for stack in reversed(list(self._running.values())):
            await stack.aclose()
        self._running.clear()

    @staticmethod
    def client(runtime: ServiceRuntime, agency: str = NATIONAL_AGENCY) -> httpx.AsyncClient:
        """An HTTP client for a started instance, calling as an operator of `agency`."""
        app = build_app(runtime.settings)  # type: ignore[arg-type]
        app.state.runtime = runtime  # the started runtime stands in for the app's own lifespan
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://financing",
            headers=token_for(agency),
        )

    async def publish(self, event: Event, headers: dict[str, str] | None = None) -> None:
        await self.js.publish(
            event.subject,
            event.model_dump_json().encode(),
            headers={"Nats-Msg-Id": str(event.event_id), **(headers or {})},
        )

    async def financing_messages(self, event_type: type[Event]) -> list[RawStreamMsg]:
        """Every message of `event_type` stored in the FINANCING stream, oldest first."""
        info = await self.js.stream_info("FINANCING")
        messages = []
        for sequence in range(info.state.first_seq, info.state.last_seq + 1):
            if info.state.messages == 0:
                break
            message = await self.js.get_msg("FINANCING", sequence)
            if message.subject and message.subject.endswith(event_type.subject_suffix):
                messages.append(message)
        return messages

    @staticmethod
    async def eventually(check: Callable[[], Awaitable[bool]], timeout_s: float = 20.0) -> None:
        await eventually(check, timeout_s)


@pytest.fixture
async def harness(
    database_url: str, nats_url: str, nats_client: NatsClient
) -> AsyncIterator[FinancingHarness]:
    harness = FinancingHarness(database_url, nats_url, nats_client)
    yield harness
    await harness.stop_all()
