"""Inbox: (consumer, event_id) recorded in the consumer's own transaction, so an event delivered
any number of times has exactly one effect."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import UTC, datetime

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from .messaging_tables import inbox_table


async def already_processed(session: AsyncSession, consumer: str, event_id: uuid.UUID) -> bool:
    found = await session.execute(
        select(inbox_table.c.event_id).where(
            inbox_table.c.consumer == consumer, inbox_table.c.event_id == event_id
        )
    )
    return found.first() is not None


async def record_processed(
    session: AsyncSession, consumer: str, event_id: uuid.UUID, event_type: str
) -> None:
    await session.execute(
        insert(inbox_table).values(
            consumer=consumer,
            event_id=event_id,
            event_type=event_type,
            processed_at=datetime.now(UTC),
        )
    )


async def processed_among(
    session: AsyncSession, consumer: str, event_ids: Collection[uuid.UUID]
) -> set[uuid.UUID]:
    """The ids among `event_ids` that `consumer` has already processed (one query)."""
    if not event_ids:
        return set()
    found = await session.execute(
        select(inbox_table.c.event_id).where(
            inbox_table.c.consumer == consumer, inbox_table.c.event_id.in_(list(event_ids))
        )
    )
    return set(found.scalars())


async def record_processed_many(
    session: AsyncSession, consumer: str, events: Sequence[tuple[uuid.UUID, str]]
) -> None:
    """Record several processed events of one consumer in one statement."""
    if not events:
        return
    now = datetime.now(UTC)
    await session.execute(
        insert(inbox_table),
        [
            {
                "consumer": consumer,
                "event_id": event_id,
                "event_type": event_type,
                "processed_at": now,
            }
            for event_id, event_type in events
        ],
    )
