"""The dashboard's migrations build the read model as adapters/orm.py declares it, and the latest
steps down and up again, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

from alembic import command

from jembatan_dashboard.adapters.orm import metadata
from jembatan_dashboard.bootstrap import MIGRATIONS
from jembatan_kit.migrations import alembic_config
from jembatan_kit.testing.schema import differences_from


async def test_the_migrations_build_the_read_model_the_orm_declares(database_url: str) -> None:
    config = alembic_config(MIGRATIONS, database_url)
    await asyncio.to_thread(command.upgrade, config, "head")
    await asyncio.to_thread(command.downgrade, config, "-1")
    await asyncio.to_thread(command.upgrade, config, "head")
    assert await differences_from(database_url, metadata) == []
