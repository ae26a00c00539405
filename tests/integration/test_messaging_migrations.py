"""Every service's migrations build the kit's messaging tables as the kit declares them (the
outbox, the inbox with its age index, the relay lease) and its audit table, and step down and up
again."""

from __future__ import annotations

import asyncio
import importlib
from pathlib import Path

import pytest
from alembic import command

from jembatan_kit.audit import audit_metadata
from jembatan_kit.messaging_tables import messaging_metadata
from jembatan_kit.migrations import alembic_config
from jembatan_kit.testing.schema import differences_from

SERVICES = ("identity", "registration", "training", "placement", "financing", "dashboard")


def _migrations(service: str) -> Path:
    migrations: Path = importlib.import_module(f"jembatan_{service}.bootstrap").MIGRATIONS
    return migrations


@pytest.mark.parametrize("service", SERVICES)
async def test_migrations_build_the_messaging_tables_the_kit_declares(
    service: str, database_url: str
) -> None:
    config = alembic_config(_migrations(service), database_url)
    await asyncio.to_thread(command.upgrade, config, "head")
    await asyncio.to_thread(command.downgrade, config, "-1")
    await asyncio.to_thread(command.upgrade, config, "head")
    differences = [
        difference
        for declared in (messaging_metadata, audit_metadata)
        for difference in await differences_from(database_url, declared)
    ]
    assert differences == []
