"""Infrastructure failures, told apart from handling failures.

A database that is down, full or locked, or a NATS server that does not answer, says nothing about
the message or request being handled: the same work succeeds once the resource is back. Such a
failure never counts as a delivery attempt and never dead-letters a message; an HTTP request meets
503 with `Retry-After`. Anything else (a schema error, a refused rule, a bug) is a handling failure.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator

import nats.errors
import nats.js.errors
from sqlalchemy import exc as sa_exc

_SQLITE_TRANSIENT = (
    "database is locked",
    "database table is locked",
    "disk i/o error",
    "database or disk is full",
    "unable to open database file",
    "attempt to write a readonly database",
    "cannot commit - no transaction is active",
)
"""SQLite's words for a resource problem. Other `OperationalError`s (no such table, a syntax
error) are bugs and stay handling failures."""

_POSTGRES_TRANSIENT_CLASSES = ("08", "53", "57P", "58")
"""SQLSTATE classes of a resource problem: connection exception, insufficient resources (disk
full, out of memory, too many connections), operator intervention (shutdown, cannot connect now),
system error (I/O)."""

_POSTGRES_TRANSIENT_CODES = ("40001", "40P01", "55P03")
"""Serialization failure, deadlock, lock not available: the same work succeeds when run again."""

_POSTGRES_CLOSED_DATABASE = ("55000", "not currently accepting connections")
"""A database an operator closed to connections (`ALLOW_CONNECTIONS false`, as during a
restore or a failover): SQLSTATE 55000 is otherwise a bug, so the message decides."""

_NATS_TRANSIENT: tuple[type[BaseException], ...] = (
    nats.errors.ConnectionClosedError,
    nats.errors.ConnectionDrainingError,
    nats.errors.ConnectionReconnectingError,
    nats.errors.NoServersError,
    nats.errors.OutboundBufferLimitError,
    nats.errors.StaleConnectionError,
    nats.errors.TimeoutError,
    nats.errors.NoRespondersError,
    nats.js.errors.ServiceUnavailableError,
    nats.js.errors.NoStreamResponseError,
)


class InfrastructureUnavailable(Exception):
    """Raised where code decides, itself, that a resource it needs is not there."""


def is_infrastructure_failure(error: BaseException) -> bool:
    """Whether `error`, or any error it was raised from, is a resource failure."""
    return any(_is_transient(link) for link in _chain(error))


def describe(error: BaseException) -> str:
    """A short, personal-data-free reason for `/health` and logs: the resource failure's type
    and first line (driver messages name tables and states, never row values)."""
    for link in _chain(error):
        if _is_transient(link):
            original = getattr(link, "orig", None) or link
            first_line = str(original).strip().splitlines()[0] if str(original).strip() else ""
            return f"{type(original).__name__}: {first_line}"[:300]
    return type(error).__name__


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _is_transient(error: BaseException) -> bool:
    if isinstance(error, (InfrastructureUnavailable, *_NATS_TRANSIENT)):
        return True
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, sa_exc.TimeoutError | sa_exc.DisconnectionError):
        return True  # the pool could not hand out a connection in time
    if isinstance(error, sqlite3.OperationalError | sa_exc.OperationalError):
        message = str(getattr(error, "orig", None) or error).lower()
        if any(words in message for words in _SQLITE_TRANSIENT):
            return True
    sqlstate = getattr(error, "sqlstate", None) or getattr(
        getattr(error, "orig", None), "sqlstate", None
    )
    if isinstance(sqlstate, str) and (
        sqlstate.startswith(_POSTGRES_TRANSIENT_CLASSES) or sqlstate in _POSTGRES_TRANSIENT_CODES
    ):
        return True
    if sqlstate == _POSTGRES_CLOSED_DATABASE[0] and _POSTGRES_CLOSED_DATABASE[1] in str(error):
        return True
    # The network below a driver: refused, reset, unreachable, timed out.
    return isinstance(error, ConnectionError | TimeoutError) or (
        isinstance(error, OSError)
        and not isinstance(error, FileNotFoundError | PermissionError)
        and error.errno is not None
    )


class RepeatedFailureLog:
    """Logs a loop's failure once while it repeats, and once when it clears.

    A background loop (the outbox relay, a scheduler) retries every fraction of a second while a
    database or NATS is away; a traceback each time would bury everything else in the log. A
    resource failure is logged as one warning with its reason, anything else with its traceback;
    the same failure again is not logged, a different one is, and the first success after a
    failure says the loop works again.
    """

    def __init__(self, log: logging.Logger, what: str) -> None:
        self._log = log
        self._what = what
        self._last: str | None = None

    def failed(self, error: BaseException) -> None:
        reason = describe(error) if is_infrastructure_failure(error) else repr(error)[:300]
        if reason == self._last:
            return
        self._last = reason
        if is_infrastructure_failure(error):
            self._log.warning("%s failed, retrying until it works: %s", self._what, reason)
        else:
            self._log.error("%s failed, retrying: %s", self._what, reason, exc_info=error)

    def succeeded(self) -> None:
        if self._last is not None:
            self._log.info("%s works again", self._what)
            self._last = None
