"""Every service's migrations build the kit's messaging tables as the kit declares them (the
outbox, the inbox with its age index, the relay lease) and its audit table, and step down and up
again."""

from __future__ import annotations

import asyncio
import importlib
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, MetaData

from jembatan_kit.audit import audit_metadata
from jembatan_kit.db import create_engine
from jembatan_kit.messaging_tables import messaging_metadata
from jembatan_kit.migrations import alembic_config

SERVICES = ("registration", "training", "placement", "financing", "dashboard")


def _migrations(service: str) -> Path:
    migrations: Path = importlib.import_module(f"jembatan_{service}.bootstrap").MIGRATIONS
    return migrations


def _differences(connection: Connection) -> list[object]:
    return [
        difference
        for declared in (messaging_metadata, audit_metadata)
        for difference in _differences_from(connection, declared)
    ]


def _differences_from(connection: Connection, declared: MetaData) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return [
        difference
        for difference in compare_metadata(context, declared)
        # The rest of the database is the service's own, compared by its own tests.
        if not (isinstance(difference, tuple) and difference[0] == "remove_table")
        and not (
            isinstance(difference, tuple)
            and difference[0] == "remove_index"
            and difference[1].table.name not in declared.tables
        )
    ]


@pytest.mark.parametrize("service", SERVICES)
async def test_migrations_build_the_messaging_tables_the_kit_declares(
    service: str, database_url: str
) -> None:
    config = alembic_config(_migrations(service), database_url)
    await asyncio.to_thread(command.upgrade, config, "head")
    await asyncio.to_thread(command.downgrade, config, "-1")
    await asyncio.to_thread(command.upgrade, config, "head")
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            differences = await connection.run_sync(_differences)
    finally:
        await engine.dispose()
    assert differences == []
