"""The services' own records of their messaging, read straight from their databases (SQLite or
PostgreSQL): outbox rows (what a relay staged, and whether it has published it) and inbox rows
(what a consumer handled, and when)."""

from __future__ import annotations

import sqlite3
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg


async def inbox_count(database_url: str, consumer: str) -> int:
    rows = await _query(database_url, "SELECT count(*) FROM inbox WHERE consumer = {}", consumer)
    return int(rows[0][0])


async def inbox_of(database_url: str, consumer: str) -> list[tuple[uuid.UUID, datetime]]:
    rows = await _query(
        database_url, "SELECT event_id, processed_at FROM inbox WHERE consumer = {}", consumer
    )
    return [(as_uuid(event_id), as_utc(processed_at)) for event_id, processed_at in rows]


async def unsent_count(database_url: str) -> int:
    """Outbox rows the service's relay has not published yet."""
    rows = await _query(database_url, "SELECT count(*) FROM outbox WHERE sent_at IS NULL")
    return int(rows[0][0])


async def _query(database_url: str, query: str, *values: Any) -> list[Any]:
    """`query` with its `{}` placeholders bound to `values`, on a service's database."""
    if database_url.startswith("sqlite"):
        connection = sqlite3.connect(database_url.split("///", 1)[1])
        try:
            rows = connection.execute(query.format(*("?" * len(values))), values).fetchall()
        finally:
            connection.close()
    else:
        pg = await asyncpg.connect(database_url.replace("+asyncpg", ""))
        try:
            placeholders = (f"${n}" for n in range(1, len(values) + 1))
            rows = await pg.fetch(query.format(*placeholders), *values)
        finally:
            await pg.close()
    return list(rows)


async def messaging_rows(
    database_urls: dict[str, str],
) -> tuple[
    dict[uuid.UUID, datetime],
    dict[uuid.UUID, datetime],
    list[tuple[str, str, uuid.UUID, datetime]],
]:
    """Outbox created_at by event id, and when the relay published it (sent_at); inbox rows as
    (service, consumer, event id, processed_at)."""
    staged: dict[uuid.UUID, datetime] = {}
    sent: dict[uuid.UUID, datetime] = {}
    handled: list[tuple[str, str, uuid.UUID, datetime]] = []
    for service, url in database_urls.items():
        if url.startswith("sqlite"):
            connection = sqlite3.connect(url.split("///", 1)[1])
            outbox = connection.execute(
                "SELECT event_id, created_at, sent_at FROM outbox"
            ).fetchall()
            inbox = connection.execute(
                "SELECT consumer, event_id, processed_at FROM inbox"
            ).fetchall()
            connection.close()
        else:
            connection = await asyncpg.connect(url.replace("+asyncpg", ""))
            outbox = await connection.fetch("SELECT event_id, created_at, sent_at FROM outbox")
            inbox = await connection.fetch("SELECT consumer, event_id, processed_at FROM inbox")
            await connection.close()
        for event_id, created_at, sent_at in outbox:
            staged[as_uuid(event_id)] = as_utc(created_at)
            if sent_at is not None:
                sent[as_uuid(event_id)] = as_utc(sent_at)
        for consumer, event_id, processed_at in inbox:
            handled.append((service, consumer, as_uuid(event_id), as_utc(processed_at)))
    return staged, sent, handled


def as_uuid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def as_utc(value: Any) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
