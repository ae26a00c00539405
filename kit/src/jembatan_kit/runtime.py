"""The composition every service shares: database, broker, streams, consumers, outbox relay,
telemetry, health, and the HTTP app around them. A service's `bootstrap.py` supplies its own
settings, migrations, handlers and routes."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
from opentelemetry.instrumentation.utils import unwrap
from pydantic import BaseModel
from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jembatan_contracts import ALL_STREAMS, DEAD_LETTER, StreamSpec

from .auth import CurrentCaller, require_agency
from .broker import ensure_streams, make_broker
from .clock import AdjustableClock, Clock, SystemClock
from .consumer import BatchConsumer, ConsumerOptions, EventHandler, ensure_durables
from .db import create_engine, create_session_factory
from .errors import RuleViolation
from .messaging_tables import outbox_table
from .migrations import upgrade_to_head
from .outbox import OutboxRelay
from .settings import ServiceSettings
from .telemetry import setup_telemetry

log = logging.getLogger(__name__)


class ServiceRuntime:
    """Everything one running service instance holds. Used as an async context manager."""

    def __init__(
        self,
        settings: ServiceSettings,
        migrations: Path,
        handlers: Sequence[EventHandler[Any]] = (),
        clock: Clock | None = None,
        background: Sequence[Callable[[ServiceRuntime], Any]] = (),
    ) -> None:
        self.settings = settings
        self.migrations = migrations
        self.tracer_provider = setup_telemetry(settings.service_name, settings.agency)
        self.clock: Clock = clock or (
            AdjustableClock() if settings.clock_adjustable else SystemClock()
        )
        self.engine = create_engine(settings.database_url)
        # The instrumentation declares SQLAlchemy < 2.1 but works with 2.1's engine events.
        SQLAlchemyInstrumentor().instrument(
            engine=self.engine.sync_engine,
            tracer_provider=self.tracer_provider,
            skip_dep_check=True,
        )
        # The instrumentation also opens a "connect" span each time a session takes a pooled
        # connection: a span per transaction that tells nothing the statements' spans do not.
        unwrap(Engine, "connect")
        self.sessions: async_sessionmaker[AsyncSession] = create_session_factory(self.engine)
        self.broker = make_broker(settings.nats_url, settings.service_name)
        self.relay = OutboxRelay(
            self.broker,
            self.sessions,
            poll_interval_s=settings.outbox_poll_interval_s,
            batch_size=settings.outbox_batch_size,
        )
        options = ConsumerOptions(
            batch_size=settings.consumer_batch_size,
            batch_timeout_s=settings.consumer_batch_timeout_s,
            max_deliver=settings.consumer_max_deliver,
            ack_wait_s=settings.consumer_ack_wait_s,
        )
        self.consumers = [
            BatchConsumer(self.broker, handler, self.sessions, options, self.relay.wake)
            for handler in handlers
        ]
        for consumer in self.consumers:
            consumer.register()
        self._background_factories = background
        self._background_tasks: list[asyncio.Task[Any]] = []

    async def __aenter__(self) -> ServiceRuntime:
        await asyncio.to_thread(upgrade_to_head, self.migrations, self.settings.database_url)
        await self.broker.connect()
        await ensure_streams(self.broker.connection.jetstream(), self._streams_to_ensure())
        await ensure_durables(self.broker.connection.jetstream(), self.consumers)
        await self.broker.start()
        await self.relay.start()
        for factory in self._background_factories:
            self._background_tasks.append(asyncio.create_task(factory(self)))
        settle_garbage_collector()
        log.info("%s started for agency %s", self.settings.service_name, self.settings.agency)
        return self

    def _streams_to_ensure(self) -> tuple[StreamSpec, ...]:
        if self.settings.ensure_streams == "all":
            return ALL_STREAMS
        own = self.settings.service_name.upper()
        return tuple(spec for spec in ALL_STREAMS if spec.name in (own, DEAD_LETTER.name))

    async def __aexit__(self, *exc: object) -> None:
        for task in self._background_tasks:
            task.cancel()
        await asyncio.gather(*self._background_tasks, return_exceptions=True)
        self._background_tasks.clear()
        await self.relay.stop()
        await self.broker.stop()
        await self.engine.dispose()

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[AsyncSession]:
        """One transaction; on commit, wake the relay so staged events go out at once."""
        async with self.sessions() as session, session.begin():
            yield session
        self.relay.wake()


GC_YOUNG_THRESHOLD = 20_000
"""Allocations between two collections of the youngest generation (CPython's default: 700)."""


def settle_garbage_collector() -> None:
    """Tune the cyclic garbage collector for a long-running service, once it has started.

    What start-up built (modules, SQLAlchemy's and pydantic's structures, the app) lives as long
    as the process: `gc.freeze` takes it out of every later collection. And a service allocates
    many short-lived objects per message (events, rows, spans), almost none in cycles, so the
    youngest generation is collected every 20,000 allocations instead of every 700; reference
    counting frees them meanwhile, as it always does.
    """
    gc.freeze()
    _young, middle, old = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, old)


async def get_runtime(request: Request) -> ServiceRuntime:
    # async, like every dependency that does no blocking I/O: FastAPI runs a plain `def`
    # dependency in its thread pool, a thread hop per request.
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime


Runtime = Annotated[ServiceRuntime, Depends(get_runtime)]


class ClockMove(BaseModel):
    now: datetime


def _operations_router() -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/health")
    async def health(runtime: Runtime) -> dict[str, Any]:
        async with runtime.sessions() as session:
            await session.execute(text("SELECT 1"))
            unsent = await session.scalar(
                select(func.count())
                .select_from(outbox_table)
                .where(outbox_table.c.sent_at.is_(None))
            )
        connected = runtime.broker.connection.is_connected if runtime.broker.connection else False
        return {
            "service": runtime.settings.service_name,
            "agency": runtime.settings.agency,
            "database": "ok",
            "nats": "connected" if connected else "disconnected",
            "outbox_unsent": unsent,
            "now": runtime.clock.now().isoformat(),
        }

    @router.put("/clock", summary="Move the service clock forward (demos and tests only)")
    async def move_clock(
        move: ClockMove, runtime: Runtime, caller: CurrentCaller
    ) -> dict[str, str]:
        # The clock drives every record of this instance (due dates, ages), so only the agency
        # running the instance, or Kemnaker, may move it.
        require_agency(
            caller,
            runtime.settings.agency,
            f"the clock of this {runtime.settings.service_name} instance",
        )
        if not isinstance(runtime.clock, AdjustableClock):
            raise HTTPException(
                403, "this service's clock is the system clock (set CLOCK_ADJUSTABLE=true)"
            )
        try:
            runtime.clock.move_to(move.now)
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from exc
        return {"now": runtime.clock.now().isoformat()}

    return router


def create_service_app(
    runtime_factory: Callable[[], ServiceRuntime],
    title: str,
    routers: Sequence[APIRouter],
    description: str = "",
) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = runtime_factory()
        app.state.runtime = runtime
        secret = runtime.settings.auth_jwt_secret
        app.state.auth_secret = secret.get_secret_value() if secret else None
        async with runtime:
            yield

    app = FastAPI(title=title, description=description, lifespan=lifespan)

    @app.exception_handler(RuleViolation)
    async def _rule_violation(_request: Request, exc: RuleViolation) -> JSONResponse:
        return JSONResponse(
            status_code=exc.status_code,
            content={"error": exc.rule, "message": exc.message, "details": exc.details},
            headers={"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None,
        )

    app.include_router(_operations_router())
    for router in routers:
        app.include_router(router)
    # One server span per request; the ASGI receive/send spans under it tell an operator
    # nothing and cost as much as the request's own spans.
    FastAPIInstrumentor.instrument_app(
        app, excluded_urls="health", exclude_spans=["receive", "send"]
    )
    return app
