"""Database engines for SQLite (embedded default) and PostgreSQL (production)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
import threading
from typing import Any

import orjson
from sqlalchemy import Table, event, pool, text
from sqlalchemy.dialects import postgresql, registry
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.util import await_only

from .faults import InfrastructureUnavailable

log = logging.getLogger(__name__)

_HOLDS_TURN = "jembatan.holds_turn"

BUSY_TIMEOUT_S = 30.0
"""How long a SQLite transaction waits for another connection's write lock before failing."""
BUSY_RETRY_S = 0.002
"""How often a transaction waiting for another connection's write lock tries again."""
WAL_SIZE_LIMIT_BYTES = 32 * 1024 * 1024
"""A SQLite write-ahead log longer than this is cut back once its pages are in the database."""


def json_text(value: Any) -> str:
    """A JSON column's text, written with orjson: several times faster than the standard
    library's encoder, which SQLAlchemy would use, and the same value read back. Keys that are
    not strings are written as strings, as the standard library writes them."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(
    url: str,
    *,
    wal_size_limit_bytes: int = WAL_SIZE_LIMIT_BYTES,
    busy_timeout_s: float = BUSY_TIMEOUT_S,
    **kwargs: Any,
) -> AsyncEngine:
    """An async engine. On SQLite: WAL, foreign keys, and BEGIN IMMEDIATE, so concurrent
    writers in one or several processes queue instead of failing on lock upgrade.

    SQLite calls run at once on the event loop's thread, through the standard library's sqlite3
    (`InlineSQLiteDialect`). A call on the embedded database takes microseconds, and handing it
    to a worker thread and back (as aiosqlite does, four times a statement) costs far more on a
    virtual machine, where waking a thread on the other core takes a hundred microseconds or
    more: a consumer's batch of ten statements paid milliseconds for the handovers alone (see
    docs/benchmark.md). Commits do not wait for the disk (`synchronous=NORMAL` in WAL mode) and
    the checkpoints that do run on a thread of their own (`_Checkpointer`), so nothing slow
    runs on the loop. The loop still runs other tasks between two statements.

    Within one process, SQLite transactions take turns on an asyncio lock, first come first
    served. Without it they would all contend for SQLite's lock, retrying: a short transaction
    (the outbox relay marking rows sent) could then wait behind a stream of long ones (bulk
    uploads) for as long as the stream lasts. A transaction that finds the write lock held by
    another process waits for it asynchronously, trying again every `BUSY_RETRY_S`.

    The write-ahead log stays near `wal_size_limit_bytes`: SQLite never shrinks the file by
    itself, so a burst, or a reader that kept checkpoints from finishing, would leave it at its
    longest for good. `journal_size_limit` cuts it back whenever a writer starts it over, and the
    checkpointer truncates it when it finds it longer.

    `busy_timeout_s` bounds how long a SQLite transaction waits for another process's write lock
    before it fails with "database is locked" (a resource failure: HTTP 503, a paused consumer).
    URLs name the driver `sqlite+aiosqlite` (or `sqlite`); both run on this dialect.
    """
    kwargs.setdefault("json_serializer", json_text)
    kwargs.setdefault("json_deserializer", orjson.loads)
    if is_sqlite(url):
        path = make_url(url).database or ":memory:"
        connect_args = kwargs.setdefault("connect_args", {})
        # No implicit transactions: SQLAlchemy, not the driver, emits BEGIN (so savepoints and
        # locking work). The pool may close a connection from another thread.
        connect_args.setdefault("isolation_level", None)
        connect_args.setdefault("check_same_thread", False)
        engine = create_async_engine(_inline(url), **kwargs)
        turns = asyncio.Lock()
        checkpointer = (
            _Checkpointer(path, wal_size_limit_bytes=wal_size_limit_bytes)
            if path != ":memory:"
            else None
        )

        @event.listens_for(engine.sync_engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute(f"PRAGMA journal_size_limit={int(wal_size_limit_bytes)}")
            if checkpointer is not None:
                # The write-ahead log is copied back into the database by `_Checkpointer`, off
                # the event loop, instead of by whichever commit finds it long.
                cursor.execute("PRAGMA wal_autocheckpoint=0")
                checkpointer.start()
            cursor.execute("PRAGMA foreign_keys=ON")
            # No busy handler: it would sleep on the event loop's thread. A transaction that
            # finds the write lock taken waits asynchronously instead (`_on_begin`).
            cursor.execute("PRAGMA busy_timeout=0")
            cursor.close()

        async def _take_turn() -> None:
            # `asyncio.timeout`, not `wait_for`: Python 3.11's `wait_for` swallows a
            # cancellation that arrives as the lock is handed over, and the cancelled task
            # (a service stopping its scheduler) would then run on for ever.
            async with asyncio.timeout(busy_timeout_s):
                await turns.acquire()

        @event.listens_for(engine.sync_engine, "begin")
        def _on_begin(connection: Any) -> None:
            # A connection keeps its turn until it goes back to the pool (after its COMMIT or
            # ROLLBACK has run), so one that runs several transactions does not queue behind
            # itself.
            if not connection.info.get(_HOLDS_TURN):
                # Bounded like the wait for SQLite's own lock: while another process holds the
                # database, every transaction queued here fails after the busy timeout too (a
                # resource failure: 503, a paused consumer), not one busy timeout after another.
                try:
                    await_only(_take_turn())
                except TimeoutError as exc:
                    raise InfrastructureUnavailable(
                        f"database is locked: no turn to write in {busy_timeout_s:g} s"
                    ) from exc
                connection.info[_HOLDS_TURN] = True
            try:
                # On the driver's connection: SQLAlchemy's statement machinery (and a statement
                # span) for a BEGIN would cost more than the transaction's own statements.
                await_only(_begin_immediate(connection.connection.dbapi_connection))
            except BaseException:
                _end_turn(connection.info)
                raise

        async def _begin_immediate(dbapi_connection: sqlite3.Connection) -> None:
            # The write lock is taken here, once a transaction: within it, WAL mode lets no
            # other connection make a statement wait.
            waited_s = 0.0
            while True:
                try:
                    dbapi_connection.execute("BEGIN IMMEDIATE")
                    return
                except sqlite3.OperationalError as exc:
                    if "locked" not in str(exc) or waited_s >= busy_timeout_s:
                        raise
                await asyncio.sleep(BUSY_RETRY_S)
                waited_s += BUSY_RETRY_S

        @event.listens_for(engine.sync_engine, "after_cursor_execute")
        def _let_others_run(*_args: Any) -> None:
            # Between two statements the loop runs what is ready (acks, requests), so a long
            # transaction does not hold everything else back until it commits.
            await_only(asyncio.sleep(0))

        def _end_turn(info: dict[str, Any]) -> None:
            if info.pop(_HOLDS_TURN, False):
                turns.release()

        @event.listens_for(engine.sync_engine, "engine_disposed")
        def _on_dispose(_engine: Any) -> None:
            if checkpointer is not None:
                checkpointer.stop()

        @event.listens_for(engine.sync_engine.pool, "checkin")
        def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
            _end_turn(record.info)

        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 10)
    kwargs.setdefault("pool_pre_ping", True)
    return create_async_engine(url, **kwargs)


CHECKPOINT_INTERVAL_S = 0.5


class _Checkpointer:
    """Checkpoints a SQLite database's write-ahead log from a thread of its own.

    SQLite's automatic checkpoint runs inside the commit that finds the log longer than 1000
    pages: that commit copies the pages back into the database and syncs it, on the event loop's
    thread, while every other task waits. Here a passive checkpoint (which never waits for, nor
    blocks, readers and writers) runs every `CHECKPOINT_INTERVAL_S` on its own connection; the
    sqlite3 module lets go of the GIL while it works, so the event loop goes on meanwhile, as
    SQLite's documentation suggests for applications that want commits to stay short.

    When the log has grown past `wal_size_limit_bytes` (a reader kept the passive checkpoints
    from reaching its end), a TRUNCATE checkpoint empties the file once every reader has moved
    on; with no busy timeout it gives up at once, and is tried again next round, if a reader or
    writer is still in the way.
    """

    def __init__(
        self,
        path: str,
        interval_s: float = CHECKPOINT_INTERVAL_S,
        wal_size_limit_bytes: int = WAL_SIZE_LIMIT_BYTES,
    ) -> None:
        self._path = path
        self._wal_path = path + "-wal"
        self._wal_size_limit_bytes = wal_size_limit_bytes
        self._interval_s = interval_s
        self._lock = threading.Lock()
        self._stopping: threading.Event | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            self._stopping = threading.Event()
            self._thread = threading.Thread(
                target=self._run, args=(self._stopping,), name="sqlite-checkpoint", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        with self._lock:
            thread, stopping = self._thread, self._stopping
            self._thread = self._stopping = None
        if thread is not None and stopping is not None:
            stopping.set()
            thread.join(timeout=10)

    def _wal_size(self) -> int:
        try:
            return os.path.getsize(self._wal_path)
        except OSError:
            return 0

    def _run(self, stopping: threading.Event) -> None:
        connection = sqlite3.connect(self._path, timeout=0, isolation_level=None)
        try:
            while not stopping.wait(self._interval_s):
                with contextlib.suppress(sqlite3.OperationalError):  # busy: the next round
                    connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
                    if self._wal_size() > self._wal_size_limit_bytes:
                        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            connection.close()


class _Cursor(sqlite3.Cursor):
    async def _async_soft_close(self) -> None:
        """SQLAlchemy's asyncio results ask an asynchronous driver's cursor to let go of what
        it still holds before handing the rows over; sqlite3's rows are in memory already."""


class _Connection(sqlite3.Connection):
    def cursor(self, factory: Any = _Cursor) -> Any:
        return super().cursor(factory)


class InlineSQLiteDialect(SQLiteDialect_pysqlite):
    """SQLite through the standard library's sqlite3, for SQLAlchemy's asyncio engine: each
    call runs at once on the event loop's thread (see `create_engine` for why). SQLAlchemy
    drives a dialect that declares itself asynchronous from a greenlet; with a driver that never
    awaits, its statements simply run. A third-party dialect registered by name is SQLAlchemy's
    way to plug in a driver; the one thing this one adds to sqlite3 is the cursor's
    `_async_soft_close`, and `kit/tests/test_db.py` fails if SQLAlchemy ever asks for more."""

    driver = "inline"
    is_async = True
    supports_statement_cache = True

    def create_connect_args(self, url: URL) -> Any:
        args, options = super().create_connect_args(url)
        return args, {**options, "factory": _Connection}

    @classmethod
    def get_pool_class(cls, url: URL) -> type[pool.Pool]:
        if url.database in (None, "", ":memory:"):
            return pool.StaticPool  # one in-memory database, shared by every session
        return pool.AsyncAdaptedQueuePool


registry.register("sqlite.inline", __name__, "InlineSQLiteDialect")


def _inline(url: str) -> URL:
    return make_url(url).set(drivername="sqlite+inline")


def dialect_insert(session: AsyncSession, table: Table) -> Any:
    """An INSERT of the session's database dialect, for its `ON CONFLICT` clauses
    (`on_conflict_do_nothing`, `on_conflict_do_update`; SQLite and PostgreSQL spell them alike)."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite_dialect.insert(table)


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


async def warn_if_autovacuum_is_off(engine: AsyncEngine) -> bool:
    """Say once, at start, when PostgreSQL runs without autovacuum: nothing then gathers the
    planner's statistics or reclaims the rows the outbox and inbox leave behind, so the tables
    are planned as if empty (scans where an index would do) and the service slows as they fill
    (docs/operations.md, "PostgreSQL"). Whether it warned."""
    if engine.dialect.name != "postgresql":
        return False
    async with engine.connect() as connection:
        setting = await connection.scalar(text("SHOW autovacuum"))
    if setting == "on":
        return False
    log.warning(
        "PostgreSQL's autovacuum is %s on this server: the service's tables get no planner"
        " statistics and keep their dead rows, and it slows as they grow; turn it on",
        setting,
    )
    return True
