"""Inbox: (consumer, event_id) recorded in the consumer's own transaction, so an event delivered
any number of times has exactly one effect."""

from __future__ import annotations

import uuid
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
