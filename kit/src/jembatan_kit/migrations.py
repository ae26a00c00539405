"""Alembic, shared by every service: each service keeps its own migration scripts and runs them
to head before it starts serving."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command, context, op
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import make_url

from .db import create_engine, is_sqlite


def alembic_config(script_location: Path, database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def _ensure_sqlite_directory(database_url: str) -> None:
    if is_sqlite(database_url):
        database = make_url(database_url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)


def upgrade_to_head(script_location: Path, database_url: str) -> None:
    """Blocking: run it in a thread from async code (`asyncio.to_thread`)."""
    _ensure_sqlite_directory(database_url)
    command.upgrade(alembic_config(script_location, database_url), "head")


def run_env(target_metadata: Any) -> None:
    """The body of every service's `env.py`: migrations run online on the service's own engine.

    On SQLite a batch operation rebuilds a table (a copy, then the old one dropped), and with
    foreign keys enforced, dropping a table that other rows refer to fails: a column added to
    `loans` would fail on any database with instalments. So, as Alembic advises, migrations run
    with SQLite's foreign keys off, and their references are checked before they commit."""
    url = context.config.get_main_option("sqlalchemy.url")
    assert url, "sqlalchemy.url is not set"

    def run(connection: Any) -> None:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=True,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
            if connection.dialect.name == "sqlite":
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                if broken:
                    raise RuntimeError(f"the migration left rows that refer to none: {broken}")

    async def run_async() -> None:
        engine = create_engine(url)
        if is_sqlite(url):

            @event.listens_for(engine.sync_engine, "connect")
            def _foreign_keys_off(dbapi_connection: Any, _record: Any) -> None:
                cursor = dbapi_connection.cursor()
                cursor.execute("PRAGMA foreign_keys=OFF")  # after the engine's own PRAGMAs
                cursor.close()

        async with engine.connect() as connection:
            await connection.run_sync(run)
        await engine.dispose()

    asyncio.run(run_async())


OUTBOX_PENDING_INDEX = "ix_outbox_pending"


def add_outbox_pending_index(*, if_not_exists: bool = False) -> None:
    """Add the relay's index of unsent outbox rows (`messaging_tables.outbox_table`), in the
    migration of each service that adds it. Migrations run it as it stands, so it never changes:
    a later change to the index is a new function and a new migration."""
    unsent = sa.text("sent_at IS NULL")
    op.create_index(
        OUTBOX_PENDING_INDEX,
        "outbox",
        ["id"],
        sqlite_where=unsent,
        postgresql_where=unsent,
        if_not_exists=if_not_exists,
    )


def drop_outbox_pending_index() -> None:
    op.drop_index(OUTBOX_PENDING_INDEX, table_name="outbox")
