"""The dashboard's migrations build the read model as adapters/orm.py declares it, and the latest
steps down and up again, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection

from jembatan_dashboard.adapters.orm import metadata
from jembatan_dashboard.bootstrap import MIGRATIONS
from jembatan_kit.db import create_engine
from jembatan_kit.migrations import alembic_config


def _differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return [
        difference
        for difference in compare_metadata(context, metadata)
        # The kit's messaging and audit tables are compared by the kit's tests.
        if not (
            isinstance(difference, tuple)
            and (
                difference[0] == "remove_table"
                or (
                    difference[0] == "remove_index"
                    and difference[1].table.name not in metadata.tables
                )
            )
        )
    ]


async def test_the_migrations_build_the_read_model_the_orm_declares(database_url: str) -> None:
    config = alembic_config(MIGRATIONS, database_url)
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
