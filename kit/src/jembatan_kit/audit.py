"""The audit trail: who (user, agency, token id) did what (method, route) to which record (the
path's ids), with what outcome (HTTP status), in each service's own database, append-only.

How a request is recorded:
- `AuditMiddleware` notes every POST, PUT, PATCH and DELETE while it is served.
- A change made through `ServiceRuntime.unit_of_work` gets its row staged by `stage` just before
  the commit, in the same transaction: a rolled-back change leaves no row, a committed one always
  has one. Its status is the one the route answers on success (its declared status code): the
  row is written before the response exists, and the change it records did succeed. A request
  is recorded once: by the first unit of work that commits while serving it (a request whose
  later unit of work then fails keeps that row, as its first change did commit).
- A refused request (4xx from an authenticated caller) changed nothing, so the middleware writes
  its row after the response, in a transaction of its own, with the status given: a probing
  caller (another agency's records, a guessed NIK) is seen. Unauthenticated requests (401) are
  not recorded: there is nobody to name, and anyone could fill the table with them.
- A request that succeeded without a unit of work (the demo clock) is recorded the same way after
  its response; not atomic, but such a request changes nothing in the database.

Never a request body: the path's ids, the route template and the caller only (no personal data).

Append-only: nothing in the API updates or deletes a row, the retention task (`retention.py`)
does not touch the table, and the services' migrations add triggers that refuse UPDATE, DELETE
(and, on PostgreSQL, TRUNCATE) on it, on SQLite as on PostgreSQL. On SQLite the file is the
service's own and the service its only writer; whoever holds the file can still drop a trigger.

Kemnaker reads it: `GET /audit` on every service (`audit_router`). A service adds entries kept
in tables of its own (registration's NIK read log) with `AuditSource`s in `app.state.audit_sources`.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from opentelemetry import trace
from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    insert,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .auth import Caller, CurrentCaller, OutOfScope
from .timestamps import UtcDateTime

log = logging.getLogger(__name__)

CHANGING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
REQUEST_ID_HEADER = b"x-request-id"
ID_MAX_LENGTH = 128

audit_metadata = MetaData()

audit_table = Table(
    "audit_log",
    audit_metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("at", UtcDateTime(), nullable=False),
    Column("user", String(256), nullable=True),
    Column("agency", String(64), nullable=True),
    Column("token_id", String(ID_MAX_LENGTH), nullable=True),
    Column("method", String(8), nullable=False),
    Column("route", String(255), nullable=False),
    # The path parameters as a JSON object ({"candidate_id": "..."}), and their values between
    # spaces (" v1 v2 "), for `record=` to find a record whatever the parameter is called.
    Column("records", Text, nullable=False),
    Column("record_ids", Text, nullable=False),
    Column("status", Integer, nullable=False),
    Column("request_id", String(ID_MAX_LENGTH), nullable=True),
    Column("trace_id", String(32), nullable=True),
    Index("ix_audit_log_at", "at", "id"),
)

APPEND_ONLY_MESSAGE = "audit_log is append-only: rows are never updated or deleted"


@dataclass
class RequestAudit:
    """One state-changing request while it is served: what the audit row is made of."""

    scope: Scope
    task: asyncio.Task[Any] | None
    request_id: str | None
    trace_id: str | None
    recorded: bool = False

    @property
    def caller(self) -> Caller | None:
        caller = self.scope.get("state", {}).get("caller")  # set by `auth.current_caller`
        return caller if isinstance(caller, Caller) else None

    def row(self, at: datetime, status: int) -> dict[str, Any] | None:
        """The audit row, or None for a request no route answered (nothing to name)."""
        route = getattr(self.scope.get("route"), "path", None)
        if route is None:
            return None
        records = {name: str(value) for name, value in self.scope.get("path_params", {}).items()}
        caller = self.caller
        return {
            "at": at,
            "user": caller.user if caller else None,
            "agency": caller.agency if caller else None,
            "token_id": caller.token_id if caller else None,
            "method": self.scope["method"],
            "route": route,
            "records": json.dumps(records, sort_keys=True),
            "record_ids": "".join(f" {value}" for value in records.values()) + " ",
            "status": status,
            "request_id": self.request_id,
            "trace_id": self.trace_id,
        }


_current: contextvars.ContextVar[RequestAudit | None] = contextvars.ContextVar(
    "jembatan_request_audit", default=None
)


async def stage(session: AsyncSession, now: datetime) -> RequestAudit | None:
    """Add the audit row of the state-changing request being served to `session`'s transaction,
    about to commit. Once per request, and only from the task serving it (a task it started
    inherits its context, but not its audit). Pass what it returns to `committed` after the
    commit."""
    audit = _current.get()
    if audit is None or audit.recorded or audit.task is not asyncio.current_task():
        return None
    route = audit.scope.get("route")
    row = audit.row(now, getattr(route, "status_code", None) or 200)
    if row is None:
        return None
    await session.execute(insert(audit_table).values(**row))
    return audit


def committed(audit: RequestAudit | None) -> None:
    """The transaction `stage` added `audit`'s row to has committed: the request is recorded."""
    if audit is not None:
        audit.recorded = True


class AuditMiddleware:
    """Notes each state-changing request for `stage`, and records after the response those that
    no unit of work recorded (see the module's docstring). Pure ASGI, so the handler runs in
    this middleware's task and context."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in CHANGING_METHODS:
            await self.app(scope, receive, send)
            return
        audit = RequestAudit(scope, asyncio.current_task(), _request_id(scope), _trace_id())
        status: int | None = None

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        token = _current.set(audit)
        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            _current.reset(token)
        if status is None or audit.recorded or status >= 500:
            return  # 5xx: nothing changed, and no rule refused it
        if status >= 400 and audit.caller is None:
            return
        try:
            await _record_alone(scope, audit, status)
        except Exception:
            log.exception("%s %s: audit row not written", scope["method"], scope.get("path"))


async def _record_alone(scope: Scope, audit: RequestAudit, status: int) -> None:
    runtime = scope["app"].state.runtime
    row = audit.row(runtime.clock.now(), status)
    if row is None:
        return
    async with runtime.sessions() as session, session.begin():
        await session.execute(insert(audit_table).values(**row))
    audit.recorded = True


def _request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == REQUEST_ID_HEADER:
            return str(value.decode("latin-1")[:ID_MAX_LENGTH])
    return None


def _trace_id() -> str | None:
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None


@dataclass(frozen=True)
class AuditQuery:
    """The filters of `GET /audit`; a source returns its `wanted` newest matching entries."""

    since: datetime | None = None
    until: datetime | None = None
    user: str | None = None
    agency: str | None = None
    record: str | None = None
    limit: int = 100
    offset: int = 0

    @property
    def wanted(self) -> int:
        """How many entries a source returns at most: up to the page's end, and one more to
        tell whether another page follows."""
        return self.offset + self.limit + 1


AuditSource = Callable[[AsyncSession, AuditQuery], Awaitable[list[dict[str, Any]]]]
"""Entries a service keeps in a table of its own, newest first, as dicts with the keys of
`entry` (`at` at least)."""


def entry(**values: Any) -> dict[str, Any]:
    """An entry of `GET /audit`: every key present, None where a source has nothing to say."""
    keys = ("kind", "at", "user", "agency", "token_id", "method", "route", "records")
    more = ("status", "request_id", "trace_id", "detail")
    return {key: values.get(key) for key in (*keys, *more)}


def like_escaped(text: str) -> str:
    """`text` for a LIKE pattern with `\\` as its escape character."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def requests_recorded(session: AsyncSession, query: AuditQuery) -> list[dict[str, Any]]:
    """The audit table's own entries."""
    table = audit_table.c
    statement = select(audit_table).order_by(table.at.desc(), table.id.desc()).limit(query.wanted)
    if query.since is not None:
        statement = statement.where(table.at >= query.since)
    if query.until is not None:
        statement = statement.where(table.at < query.until)
    if query.user is not None:
        statement = statement.where(table.user == query.user)
    if query.agency is not None:
        statement = statement.where(table.agency == query.agency)
    if query.record is not None:
        pattern = f"% {like_escaped(query.record)} %"
        statement = statement.where(table.record_ids.like(pattern, escape="\\"))
    rows = (await session.execute(statement)).all()
    return [
        entry(
            kind="request",
            **{name: value for name, value in row._mapping.items() if name != "record_ids"}
            | {"records": json.loads(row.records)},
        )
        for row in rows
    ]


@dataclass
class AuditPage:
    entries: list[dict[str, Any]] = field(default_factory=list)
    limit: int = 100
    offset: int = 0
    next_offset: int | None = None


async def audit_page(
    session: AsyncSession, query: AuditQuery, sources: Sequence[AuditSource]
) -> AuditPage:
    """The entries of every source, newest first, one page of them."""
    found: list[dict[str, Any]] = []
    for source in (requests_recorded, *sources):
        found.extend(await source(session, query))
    found.sort(key=lambda item: item["at"], reverse=True)
    end = query.offset + query.limit
    page = found[query.offset : end]
    return AuditPage(page, query.limit, query.offset, end if len(found) > end else None)


AUDIT_RULE = "audit_national_only"


def _utc(moment: datetime | None) -> datetime | None:
    """A bound in UTC, as the rows are stored (a bound without an offset is taken as UTC)."""
    if moment is None or moment.tzinfo is None:
        return moment.replace(tzinfo=UTC) if moment else None
    return moment.astimezone(UTC)


def audit_router() -> APIRouter:
    router = APIRouter(tags=["audit"])

    @router.get(
        "/audit",
        summary="Who changed what here (Kemnaker only), newest first",
        description="Every state-changing request this service answered (successes and"
        " refusals of authenticated callers) with the caller, the route and the ids in its path,"
        " plus what the service logs besides (registration: who was shown a NIK, a birth date"
        " or sex, and why). Filters: `since` (inclusive), `until` (exclusive), `user`, `agency`,"
        " `record` (an id in the path). Pages by `offset`; pass the first page's newest `at`"
        " as `until` to keep later pages still while new entries arrive.",
    )
    async def audit(
        request: Request,
        caller: CurrentCaller,
        since: datetime | None = None,
        until: datetime | None = None,
        user: Annotated[str | None, Query(max_length=256)] = None,
        agency: Annotated[str | None, Query(max_length=64)] = None,
        record: Annotated[str | None, Query(min_length=1, max_length=256)] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
        offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
    ) -> AuditPage:
        if not caller.is_national:
            raise OutOfScope(
                AUDIT_RULE,
                f"the audit trail is read by Kemnaker only; {caller.user} acts for"
                f" {caller.agency}. Ask Kemnaker for the entries you need",
                caller_agency=caller.agency,
            )
        query = AuditQuery(_utc(since), _utc(until), user, agency, record, limit, offset)
        sources: Sequence[AuditSource] = getattr(request.app.state, "audit_sources", ())
        async with request.app.state.runtime.sessions() as session:
            return await audit_page(session, query, sources)

    return router
