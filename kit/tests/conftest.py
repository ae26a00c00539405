"""What several kit tests share: an engine on each database with the kit's tables."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from jembatan_kit.db import create_engine
from jembatan_kit.testing.effects import create_tables


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on SQLite and on PostgreSQL in turn, the kit's tables created."""
    engine = create_engine(database_url)
    await create_tables(engine)
    yield engine
    await engine.dispose()
