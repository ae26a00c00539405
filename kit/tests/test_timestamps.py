"""Stored instants come back aware and in UTC, on SQLite as on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import Column, Integer, MetaData, Table, insert, select

from jembatan_kit.db import create_engine
from jembatan_kit.timestamps import UtcDateTime

metadata = MetaData()
instants = Table(
    "instants",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", UtcDateTime(), nullable=False),
)

JAKARTA = timezone(timedelta(hours=7))


async def test_an_instant_is_read_back_as_the_same_instant_in_utc(database_url: str) -> None:
    engine = create_engine(database_url)
    written = {
        1: datetime(2026, 12, 5, 9, 30, tzinfo=JAKARTA),
        2: datetime(2026, 12, 5, 2, 30, tzinfo=UTC),
        3: datetime(2026, 12, 5, 2, 30),  # naive: taken as UTC
    }
    try:
        async with engine.begin() as connection:
            await connection.run_sync(metadata.create_all)
            await connection.execute(
                insert(instants), [{"id": key, "at": at} for key, at in written.items()]
            )
        async with engine.connect() as connection:
            read = dict((await connection.execute(select(instants.c.id, instants.c.at))).all())
    finally:
        async with engine.begin() as connection:
            await connection.run_sync(metadata.drop_all)
        await engine.dispose()
    same_instant = datetime(2026, 12, 5, 2, 30, tzinfo=UTC)
    assert read == {1: same_instant, 2: same_instant, 3: same_instant}
    assert all(at.utcoffset() == timedelta(0) for at in read.values())
