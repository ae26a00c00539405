"""The kit's recording hook on the runtime's test service: a change through the unit of work is
recorded in its transaction, once; work outside a request, or in a task a request started, is
not the request's. (The services' own cases: tests/integration/test_audit_trail.py.)"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from types import SimpleNamespace

from sqlalchemy import func, select

from jembatan_kit import audit
from jembatan_kit.testing.helpers import running_app
from jembatan_kit.testing.runtime_service import build_app, service_settings

NO_NATS = "nats://127.0.0.1:9"


async def test_a_change_through_the_unit_of_work_is_recorded_in_its_transaction(
    sqlite_url: str,
) -> None:
    app = build_app(service_settings(database_url=sqlite_url, nats_url=NO_NATS))
    async with running_app(app) as client:
        created = await client.post("/registrations", json={})
        assert created.status_code == 201, created.text
        runtime = app.state.runtime
        async with runtime.sessions() as session:
            rows = (await session.execute(select(audit.audit_table))).all()
        # The test service's route asks for no caller, so none is named.
        assert [(row.method, row.route, row.status, row.user) for row in rows] == [
            ("POST", "/registrations", 201, None)
        ]

        # Outside a request (a consumer, a scheduler) a unit of work records nothing.
        async with runtime.unit_of_work() as session:
            assert await audit.stage(session, datetime.now(UTC)) is None
        async with runtime.sessions() as session:
            assert await session.scalar(select(func.count()).select_from(audit.audit_table)) == 1


async def test_a_task_started_by_a_request_does_not_record_it(sqlite_url: str) -> None:
    app = build_app(service_settings(database_url=sqlite_url, nats_url=NO_NATS))
    scope = {"method": "POST", "route": SimpleNamespace(path="/things/{id}", status_code=201)}
    async with running_app(app):
        request = audit.RequestAudit(scope | {"path_params": {"id": 7}}, None, None, None)
        token = audit._current.set(request)
        try:
            async with app.state.runtime.sessions() as session, session.begin():
                request.task = asyncio.current_task()
                # A task inherits the request's context, but is not the task serving it.
                in_child = await asyncio.create_task(audit.stage(session, datetime.now(UTC)))
                in_request = await audit.stage(session, datetime.now(UTC))
                await session.rollback()
        finally:
            audit._current.reset(token)
    assert in_child is None
    assert in_request is request
