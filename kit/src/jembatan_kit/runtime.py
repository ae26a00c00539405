"""The composition every service shares: database, broker, streams, consumers, outbox relay,
telemetry, health, and the HTTP app around them. A service's `bootstrap.py` supplies its own
settings, migrations, handlers and routes."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import nats.errors
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
from opentelemetry.instrumentation.utils import unwrap
from sqlalchemy import exc as sa_exc
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jembatan_contracts import ALL_STREAMS, DEAD_LETTER, StreamSpec

from . import audit
from .auth import CurrentCaller, TokenPolicy, require_agency
from .bodies import CommandBody, refuse_invalid_request
from .broker import ensure_streams, make_broker
from .clock import AdjustableClock, Clock, SystemClock
from .consumer import BatchConsumer, ConsumerOptions, EventHandler, ensure_durables
from .db import create_engine, create_session_factory, warn_if_autovacuum_is_off
from .errors import RuleViolation
from .faults import InfrastructureUnavailable, describe, is_infrastructure_failure
from .messaging_tables import outbox_table
from .migrations import upgrade_to_head
from .outbox import OutboxRelay, RelayLease, replica_name
from .relay_process import RelayProcess
from .retention import Retention
from .revocation import RevocationList, SnapshotFile, ensure_bucket
from .settings import ServiceSettings
from .telemetry import setup_telemetry
from .trust import TrustList

log = logging.getLogger(__name__)


def load_trust_list(settings: ServiceSettings) -> TrustList | None:
    """The trust list of AUTH_TRUST_FILE; a file that breaks a rule stops the service at start
    (`trust.TrustListInvalid`, naming what is wrong)."""
    if os.environ.get("AUTH_JWT_SECRET"):
        log.warning(
            "AUTH_JWT_SECRET is set but no longer read: tokens are checked against the trust"
            " list of AUTH_TRUST_FILE, each agency signing with its own key"
        )
    if settings.auth_trust_file is None:
        log.warning("no AUTH_TRUST_FILE: every caller of the HTTP API is refused (503)")
        return None
    trust = TrustList.load(settings.auth_trust_file)
    known = TokenPolicy.of(settings).agencies
    for name, issuer in sorted(trust.issuers.items()):
        if issuer.agency in known:
            log.info("trusting issuer %s for agency %s", name, issuer.agency)
        else:
            log.warning(
                "issuer %s speaks for agency %s, which is not in KNOWN_AGENCIES: its tokens are"
                " refused",
                name,
                issuer.agency,
            )
    return trust


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
        if isinstance(self.clock, AdjustableClock) and settings.clock_state_file is not None:
            self.clock.keep_in(settings.clock_state_file)
        self.engine = create_engine(
            settings.database_url, busy_timeout_s=settings.database_busy_timeout_s
        )
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
        self.relay: OutboxRelay | RelayProcess = (
            RelayProcess(settings)
            if settings.outbox_relay_process
            else OutboxRelay(
                self.broker,
                self.sessions,
                poll_interval_s=settings.outbox_poll_interval_s,
                batch_size=settings.outbox_batch_size,
                lease=RelayLease(
                    self.sessions, holder=replica_name(settings.service_name, settings.http_port)
                ),
            )
        )
        """Publishes what the service stages: in this process, or woken in one of its own."""
        self.retention = Retention.for_settings(self.sessions, settings)
        self.trust = load_trust_list(settings)
        """The issuers whose tokens the HTTP API accepts (None: no AUTH_TRUST_FILE given)."""
        self.known_agencies = TokenPolicy.of(settings).agencies
        """The agencies whose events are handled, as those whose tokens are accepted."""
        options = ConsumerOptions(
            batch_size=settings.consumer_batch_size,
            batch_timeout_s=settings.consumer_batch_timeout_s,
            max_deliver=settings.consumer_max_deliver,
            ack_wait_s=settings.consumer_ack_wait_s,
            known_agencies=self.known_agencies,
        )
        self.consumers = [
            BatchConsumer(self.broker, handler, self.sessions, options, self.relay.wake)
            for handler in handlers
        ]
        for consumer in self.consumers:
            consumer.register()
        self.revocations = RevocationList(
            problem="not connected to NATS yet",
            snapshot=SnapshotFile(
                settings.revocations_snapshot_file, settings.revocations_snapshot_max_age
            )
            if settings.revocations_snapshot_file is not None
            else None,
        )
        """The revoked tokens and users, read from the bucket once messaging has connected
        (`revocation`), until then from the snapshot of a previous run if one is trusted:
        every authenticated request is checked against it."""
        self.revocations.restore()
        self._background_factories = background
        self._background_tasks: list[asyncio.Task[Any]] = []
        self._messaging_task: asyncio.Task[None] | None = None
        self._revocations_task: asyncio.Task[None] | None = None
        self._nats: NatsClient | None = None
        self.messaging_started = False
        """Whether streams are ensured and the consumers and the outbox relay run."""
        self.messaging_error: str | None = None
        """Why the last attempt to start messaging failed, while it has not started."""

    async def __aenter__(self) -> ServiceRuntime:
        await asyncio.to_thread(upgrade_to_head, self.migrations, self.settings.database_url)
        await warn_if_autovacuum_is_off(self.engine)
        # Messaging starts in the background, so HTTP serves whether NATS answers or not:
        # commands only stage outbox rows, which the relay publishes once messaging has started.
        # When NATS does answer, the start waits for messaging as it always did (a moment), so
        # the first request and event find the streams and consumers in place, and the
        # revocation list read from the bucket, not only from a snapshot of an earlier run
        # (until it is known, authenticated requests are refused with 503).
        self._messaging_task = asyncio.create_task(self._start_messaging(), name="messaging-start")
        if await _accepts_connections(self.settings.nats_url):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._messaging_and_revocations(), MESSAGING_START_WAIT_S)
        await self.retention.start()
        for factory in self._background_factories:
            self._background_tasks.append(asyncio.create_task(factory(self)))
        settle_garbage_collector()
        log.info("%s started for agency %s", self.settings.service_name, self.settings.agency)
        return self

    async def _messaging_and_revocations(self) -> None:
        assert self._messaging_task is not None
        await asyncio.shield(self._messaging_task)
        await self.revocations.wait_read()

    async def _start_messaging(self) -> None:
        """Connect to NATS, ensure the streams, start the consumers and the outbox relay;
        retried until NATS answers.

        The first connection waits for NATS as long as it takes (nats-py retries every two
        seconds with `max_reconnect_attempts=-1`); later outages are nats-py's reconnections,
        which the consumers' pull loops (FastStream restarts a failed one) and the relay (it
        retries each poll) ride out. Only the steps after connecting are retried here.
        """
        log.info("connecting to NATS; requests are served meanwhile")
        delay_s = MESSAGING_RETRY_FIRST_S
        while True:
            try:
                self._nats = await self.broker.connect()
                if (
                    self.settings.ensure_streams == "all"
                    and not self.settings.revocations_js_domain
                ):
                    await ensure_bucket(self._nats.jetstream(), self.settings.stream_replicas)
                self._follow_revocations(self._nats)
                await ensure_streams(
                    self._nats.jetstream(),
                    self._streams_to_ensure(),
                    replicas=self.settings.stream_replicas,
                    max_age_days=self.settings.stream_max_age_days,
                )
                await ensure_durables(self._nats.jetstream(), self.consumers)
                await self.broker.start()
                for consumer in self.consumers:
                    consumer.started()
                break
            except Exception as exc:
                self.messaging_error = describe(exc)
                if is_infrastructure_failure(exc):
                    log.warning(
                        "messaging not started (%s); retrying in %.1f s",
                        self.messaging_error,
                        delay_s,
                    )
                else:
                    log.exception("messaging not started; retrying in %.1f s", delay_s)
            await asyncio.sleep(delay_s)
            delay_s = min(delay_s * 2, MESSAGING_RETRY_MAX_S)
        await self.relay.start()
        self.messaging_error = None
        self.messaging_started = True
        log.info("%s connected to NATS; consumers and relay started", self.settings.service_name)

    def _follow_revocations(self, client: NatsClient) -> None:
        """Start reading the revocation list, once: the task outlives NATS outages."""
        if self._revocations_task is None:
            self._revocations_task = asyncio.create_task(
                self.revocations.follow(
                    client,
                    self.settings.revocations_js_domain,
                    self.settings.revocations_poll_s,
                    self.settings.revocations_reload_s,
                ),
                name="revocations",
            )

    def jetstream(self) -> JetStreamContext:
        """JetStream, for a request that reads or writes streams itself. While NATS is not
        connected it raises `InfrastructureUnavailable`, which the app answers with a 503."""
        if self._nats is None or not self._nats.is_connected:
            raise InfrastructureUnavailable("not connected to NATS")
        return self._nats.jetstream()

    @property
    def nats_connected(self) -> bool:
        """Whether messaging has started and the NATS connection is up right now."""
        return self.messaging_started and self._nats is not None and self._nats.is_connected

    def nats_problem(self) -> str | None:
        """Why messaging does not work right now, in words for `/health`; None when it does."""
        if self.nats_connected:
            return None
        if self._nats is None:
            return "not connected yet; retrying"
        if not self.messaging_started:
            return f"connected, consumers not started yet: {self.messaging_error or 'starting'}"
        if self._nats.is_reconnecting:
            return "connection lost; reconnecting"
        return "disconnected"

    def _streams_to_ensure(self) -> tuple[StreamSpec, ...]:
        if self.settings.ensure_streams == "all":
            return ALL_STREAMS
        own = self.settings.service_name.upper()
        return tuple(spec for spec in ALL_STREAMS if spec.name in (own, DEAD_LETTER.name))

    async def __aexit__(self, *exc: object) -> None:
        tasks = [
            *self._background_tasks,
            *filter(None, [self._messaging_task, self._revocations_task]),
        ]
        await _cancelled(tasks)
        self._background_tasks.clear()
        self._messaging_task = None
        self._revocations_task = None
        await self.retention.stop()
        await self.relay.stop()
        try:
            # Draining fails at once while NATS is away; never wait for it for long.
            async with asyncio.timeout(BROKER_STOP_TIMEOUT_S):
                await self.broker.stop()
        except Exception as error:
            log.warning("NATS connection not drained (%s); closing it", describe(error))
            if self._nats is not None:
                with contextlib.suppress(Exception):
                    await self._nats.close()
        await self.engine.dispose()

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[AsyncSession]:
        """One transaction; on commit, wake the relay so staged events go out at once. The
        state-changing request being served is recorded in the same transaction (`audit`)."""
        async with self.sessions() as session, session.begin():
            yield session
            recorded = await audit.stage(session, self.clock.now())
        audit.committed(recorded)
        self.relay.wake()


MESSAGING_RETRY_FIRST_S = 0.5
MESSAGING_RETRY_MAX_S = 5.0
"""Waits between two attempts to ensure the streams and start the consumers once connected."""

MESSAGING_START_WAIT_S = 10.0
"""How long a start waits for messaging when NATS accepts connections, before serving anyway."""

CANCEL_AGAIN_S = 0.5
"""How often a stopping service cancels again a task that let a cancellation pass."""
BROKER_STOP_TIMEOUT_S = 15.0

HEALTH_DATABASE_TIMEOUT_S = 2.0
"""How long `/health` waits for the database before it reports it unavailable: a probe that
waited a whole busy timeout (30 s) would itself look down."""


async def _accepts_connections(nats_url: str, timeout_s: float = 1.0) -> bool:
    """Whether any server of `nats_url` (comma-separated, as nats-py takes it) accepts a TCP
    connection right now: the cue to wait for messaging before serving."""
    for server in nats_url.split(","):
        address = urlsplit(server.strip() if "://" in server else f"nats://{server.strip()}")
        try:
            async with asyncio.timeout(timeout_s):
                _reader, writer = await asyncio.open_connection(
                    address.hostname or "127.0.0.1", address.port or 4222
                )
        except (OSError, ValueError):
            continue
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return True
    return False


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


class ClockMove(CommandBody):
    now: datetime


def _operations_router() -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get(
        "/health",
        summary="Whether this instance works fully (ok) or in part (degraded), and why",
        description="Always 200 while the process serves HTTP: a degraded service still takes"
        " commands (a NATS outage only delays their events) and restarting it cures no outage,"
        " so neither a liveness nor a readiness probe should act on it. `status` and `reasons`"
        " say what is wrong.",
    )
    async def health(runtime: Runtime) -> dict[str, Any]:
        return await health_report(runtime)

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


async def health_report(runtime: ServiceRuntime) -> dict[str, Any]:
    """The `/health` answer. It never fails: each part that does not answer becomes a reason."""
    reasons: list[str] = []
    unsent: int | None = None
    try:
        async with asyncio.timeout(HEALTH_DATABASE_TIMEOUT_S), runtime.sessions() as session:
            unsent = await session.scalar(
                select(func.count())
                .select_from(outbox_table)
                .where(outbox_table.c.sent_at.is_(None))
            )
    except TimeoutError:
        reasons.append(f"database: unavailable (no answer within {HEALTH_DATABASE_TIMEOUT_S} s)")
    except Exception as exc:
        reasons.append(f"database: unavailable ({describe(exc)})")
    nats_problem = runtime.nats_problem()
    if nats_problem is not None:
        reasons.append(f"nats: {nats_problem}")
    if (revocations_problem := runtime.revocations.health_reason()) is not None:
        reasons.append(revocations_problem)
    if (relay_problem := runtime.relay.problem()) is not None:
        reasons.append(relay_problem)
    consumers: dict[str, str | None] = {}
    for consumer in runtime.consumers:
        # Set by a consumer while it is paused on a resource failure.
        paused: str | None = getattr(consumer, "degraded_reason", None)
        consumers[consumer.handler.durable] = paused
        if paused:
            reasons.append(f"consumer {consumer.handler.durable}: {paused}")
    return {
        "service": runtime.settings.service_name,
        "agency": runtime.settings.agency,
        "status": "degraded" if reasons else "ok",
        "reasons": reasons,
        "database": "unavailable" if unsent is None else "ok",
        "nats": "connected" if nats_problem is None else "disconnected",
        "consumers": consumers,
        "revocations": runtime.revocations.status(),
        "outbox_unsent": unsent,
        "now": runtime.clock.now().isoformat(),
    }


RESOURCE_ERRORS: tuple[type[Exception], ...] = (
    sa_exc.SQLAlchemyError,
    sqlite3.Error,
    OSError,
    nats.errors.Error,
    InfrastructureUnavailable,
)
"""The exception classes a resource failure arrives as; `faults.is_infrastructure_failure` then
tells which of them are one (a missing table is a SQLAlchemy error too, and a bug)."""


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
        async with runtime:
            yield

    app = FastAPI(title=title, description=description, lifespan=lifespan)

    @app.exception_handler(RuleViolation)
    async def _rule_violation(request: Request, exc: RuleViolation) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else {}
        runtime = getattr(request.app.state, "runtime", None)
        if exc.status_code == 503 and runtime is not None:  # the revocation list not read yet
            headers["Retry-After"] = str(runtime.settings.http_retry_after_s)
        return JSONResponse(
            status_code=exc.status_code,
            content={"error": exc.rule, "message": exc.message, "details": exc.details},
            headers=headers or None,
        )

    async def _resource_unavailable(request: Request, exc: Exception) -> JSONResponse:
        if not is_infrastructure_failure(exc):
            raise exc  # a handling failure: a 500, logged with its traceback
        runtime: ServiceRuntime = request.app.state.runtime
        retry_after = runtime.settings.http_retry_after_s
        reason = describe(exc)
        log.warning("%s %s: 503, %s", request.method, request.url.path, reason)
        return JSONResponse(
            status_code=503,
            content={
                "error": "service_unavailable",
                "message": f"{runtime.settings.service_name} cannot reach a resource it needs"
                f" (its database or the message bus); nothing was changed. Try again in"
                f" {retry_after} s.",
                "details": {"reason": reason},
            },
            headers={"Retry-After": str(retry_after)},
        )

    for error_class in RESOURCE_ERRORS:
        app.add_exception_handler(error_class, _resource_unavailable)
    app.add_exception_handler(RequestValidationError, refuse_invalid_request)

    app.add_middleware(audit.AuditMiddleware)
    app.include_router(_operations_router())
    app.include_router(audit.audit_router())
    for router in routers:
        app.include_router(router)
    # One server span per request; the ASGI receive/send spans under it tell an operator
    # nothing and cost as much as the request's own spans.
    FastAPIInstrumentor.instrument_app(
        app, excluded_urls="health", exclude_spans=["receive", "send"]
    )
    return app


async def _cancelled(tasks: list[asyncio.Task[Any]]) -> None:
    """Cancel `tasks` and wait until they end. nats-py's connection attempts (NATS away while a
    service stops) can swallow a cancellation on Python 3.11, so one still running is cancelled
    again every `CANCEL_AGAIN_S`."""
    for task in tasks:
        task.cancel()
    pending = {task for task in tasks if not task.done()}
    while pending:
        _, pending = await asyncio.wait(pending, timeout=CANCEL_AGAIN_S)
        for task in pending:
            task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
