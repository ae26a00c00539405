"""How a service on the shared runtime behaves when its infrastructure fails: NATS absent at
start or gone for a while, its database locked or refusing connections; and its adjustable
clock across a restart. Real nats-server, real SQLite and a private PostgreSQL cluster."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from jembatan_kit.nats_server import NatsServerProcess, free_port
from jembatan_kit.testing.databases import PrivatePostgres
from jembatan_kit.testing.helpers import eventually, running_app
from jembatan_kit.testing.runtime_service import DURABLE, build_app, service_settings


async def health(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/health")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def counts(client: httpx.AsyncClient) -> dict[str, int]:
    response = await client.get("/counts")
    assert response.status_code == 200, response.text
    body: dict[str, int] = response.json()
    return body


async def register(client: httpx.AsyncClient, times: int = 1) -> None:
    for _ in range(times):
        response = await client.post("/registrations", json={})
        assert response.status_code == 201, response.text


async def test_a_service_serves_http_without_nats_and_its_events_go_out_when_nats_is_back(
    sqlite_url: str, tmp_path: Path
) -> None:
    port = free_port()
    nats = NatsServerProcess(store_dir=tmp_path / "nats", port=port)
    app = build_app(service_settings(database_url=sqlite_url, nats_url=nats.url))
    try:
        async with running_app(app) as client:
            # No nats-server yet: HTTP answers, commands are taken, their events wait.
            status = await health(client)
            assert status["status"] == "degraded"
            assert status["nats"] == "disconnected"
            assert status["reasons"] == [
                "nats: not connected yet; retrying",
                "revocations: not read yet, so every authenticated request is refused (503):"
                " not connected to NATS yet; snapshot: none kept (REVOCATIONS_SNAPSHOT_FILE"
                " unset)",
            ]
            await register(client, 3)
            assert (await health(client))["outbox_unsent"] == 3
            assert_unavailable(await client.get("/stream"), "not connected to NATS")

            nats.start()

            async def all_handled(expected: int) -> bool:
                status = await health(client)
                done = await counts(client)
                return (
                    status["status"] == "ok"
                    and status["outbox_unsent"] == 0
                    and done["effects"] == expected
                )

            await eventually(lambda: all_handled(3), timeout_s=20)
            assert (await client.get("/stream")).json() == {"messages": 3}

            # NATS goes away while the service runs, and comes back on the same store.
            nats.stop()

            async def nats_lost() -> bool:
                status = await health(client)
                return status["nats"] == "disconnected" and status["status"] == "degraded"

            await eventually(nats_lost, timeout_s=10)
            reasons = (await health(client))["reasons"]
            assert reasons[0] == "nats: connection lost; reconnecting"
            # and, once its next read has failed, that the revocation list is not current
            assert all(r.startswith("revocations: as read at") for r in reasons[1:])
            await register(client, 2)
            assert (await counts(client))["registrations"] == 5

            nats.start()
            await eventually(lambda: all_handled(5), timeout_s=30)
            assert (await health(client))["consumers"] == {DURABLE: None}
    finally:
        nats.stop()


async def test_health_names_a_paused_consumer(sqlite_url: str, nats_url: str) -> None:
    app = build_app(service_settings(database_url=sqlite_url, nats_url=nats_url))
    async with running_app(app) as client:
        await eventually(lambda: _status_is(client, "ok"))
        (consumer,) = app.state.runtime.consumers
        consumer.degraded_reason = "paused: database unavailable (OperationalError: disk full)"
        status = await health(client)
        assert status["status"] == "degraded"
        assert status["reasons"] == [
            f"consumer {DURABLE}: paused: database unavailable (OperationalError: disk full)"
        ]
        assert status["consumers"] == {
            DURABLE: "paused: database unavailable (OperationalError: disk full)"
        }


async def _status_is(client: httpx.AsyncClient, expected: str) -> bool:
    return bool((await health(client))["status"] == expected)


def assert_unavailable(response: httpx.Response, reason: str) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"] == "5"
    body = response.json()
    assert body["error"] == "service_unavailable"
    assert "nothing was changed" in body["message"]
    assert reason in body["details"]["reason"]


async def test_a_locked_sqlite_database_answers_503_and_writes_nothing(
    sqlite_url: str, nats_url: str, tmp_path: Path
) -> None:
    settings = service_settings(
        database_url=sqlite_url, nats_url=nats_url, database_busy_timeout_s=0.3
    )
    async with running_app(build_app(settings)) as client:
        await register(client)
        # Another process holds the write lock for longer than the busy timeout.
        holder = sqlite3.connect(tmp_path / "service.db", isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            assert_unavailable(await client.post("/registrations", json={}), "database is locked")
            status = await health(client)
            assert status["status"] == "degraded"
            assert status["database"] == "unavailable"
            assert status["outbox_unsent"] is None
            assert any("database is locked" in reason for reason in status["reasons"])
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        await register(client)
        assert (await counts(client))["registrations"] == 2
        assert (await health(client))["database"] == "ok"
    outbox = sqlite3.connect(tmp_path / "service.db")
    try:
        assert outbox.execute("SELECT count(*) FROM outbox").fetchone() == (2,)
    finally:
        outbox.close()


async def test_a_postgresql_database_refusing_connections_answers_503(
    private_postgres: PrivatePostgres, nats_url: str
) -> None:
    settings = service_settings(database_url=private_postgres.url, nats_url=nats_url)
    async with running_app(build_app(settings)) as client:
        await register(client)
        private_postgres.stop()
        try:
            assert_unavailable(
                await client.post("/registrations", json={}), "ConnectionRefusedError"
            )
            status = await health(client)
            assert status["status"] == "degraded"
            assert status["database"] == "unavailable"
            assert any(reason.startswith("database: unavailable") for reason in status["reasons"])
        finally:
            private_postgres.start()
        await register(client)
        assert (await counts(client))["registrations"] == 2
        await eventually(lambda: _status_is(client, "ok"))


async def test_the_adjustable_clock_survives_a_restart(
    sqlite_url: str, nats_url: str, tmp_path: Path
) -> None:
    settings = service_settings(
        database_url=sqlite_url,
        nats_url=nats_url,
        clock_adjustable=True,
        clock_state_file=tmp_path / "clock.json",
    )
    moved_to = datetime.now(UTC) + timedelta(days=95)
    async with running_app(build_app(settings)) as client:
        response = await client.put("/clock", json={"now": moved_to.isoformat()})
        assert response.status_code == 200, response.text

    async with running_app(build_app(settings)) as client:
        now = datetime.fromisoformat((await health(client))["now"])
        assert moved_to <= now < moved_to + timedelta(minutes=1)
        back = await client.put("/clock", json={"now": datetime.now(UTC).isoformat()})
        assert back.status_code == 422
        assert "only moves forward" in back.text

    # Without a state file, a restart starts again from real time.
    forgetful = settings.model_copy(update={"clock_state_file": None})
    async with running_app(build_app(forgetful)) as client:
        now = datetime.fromisoformat((await health(client))["now"])
        assert now < datetime.now(UTC) + timedelta(minutes=1)
