"""Retention deletes sent outbox rows and inbox rows past their age, in chunks, and nothing else;
ages are set by the rows' timestamps and the sweep's clock, not by waiting."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from jembatan_kit.db import create_engine, create_session_factory
from jembatan_kit.messaging_tables import inbox_table, outbox_table
from jembatan_kit.retention import INBOX_MARGIN, Retention
from jembatan_kit.settings import ServiceSettings
from jembatan_kit.testing.effects import create_tables

NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)


def _outbox_row(created_days_ago: float, sent_days_ago: float | None) -> dict[str, object]:
    return {
        "event_id": uuid.uuid4(),
        "event_type": "CandidateRegistered",
        "subject": "jembatan.kaltim.registration.candidate.registered.v1",
        "stream": "REGISTRATION",
        "journey_id": uuid.uuid4(),
        "payload": "{}",
        "traceparent": None,
        "created_at": NOW - timedelta(days=created_days_ago),
        "sent_at": None if sent_days_ago is None else NOW - timedelta(days=sent_days_ago),
    }


def _inbox_row(days_ago: float) -> dict[str, object]:
    return {
        "consumer": "training-candidate-registered",
        "event_id": uuid.uuid4(),
        "event_type": "CandidateRegistered",
        "processed_at": NOW - timedelta(days=days_ago),
    }


async def test_sent_outbox_rows_and_inbox_rows_past_their_age_are_deleted_in_chunks(
    engine: AsyncEngine,
) -> None:
    settings = ServiceSettings(outbox_retention_days=14, stream_max_age_days=30)
    old_outbox = [_outbox_row(15.5, 15) for _ in range(25)]
    young_outbox = [_outbox_row(13.5, 13), _outbox_row(100, None), _outbox_row(20, None)]
    old_inbox = [_inbox_row(31.5) for _ in range(12)]
    # Older than the stream's max age, but inside the margin: the stream may still hold it.
    young_inbox = [_inbox_row(30.5), _inbox_row(1)]
    async with engine.begin() as connection:
        await connection.execute(insert(outbox_table), old_outbox + young_outbox)
        await connection.execute(insert(inbox_table), old_inbox + young_inbox)
    defaults = Retention.for_settings(create_session_factory(engine), settings)
    assert defaults.inbox_age == timedelta(days=30) + INBOX_MARGIN
    retention = Retention(
        create_session_factory(engine),
        outbox_age=defaults.outbox_age,
        inbox_age=defaults.inbox_age,
        chunk_rows=10,
        now=lambda: NOW,
    )

    swept = await retention.sweep_once()

    assert (swept.outbox, swept.inbox, swept.chunks) == (25, 12, 3 + 2)
    async with engine.connect() as connection:
        outbox_left = set((await connection.execute(select(outbox_table.c.event_id))).scalars())
        inbox_left = set((await connection.execute(select(inbox_table.c.event_id))).scalars())
    assert outbox_left == {row["event_id"] for row in young_outbox}, "unsent rows always stay"
    assert inbox_left == {row["event_id"] for row in young_inbox}
    again = await retention.sweep_once()
    assert (again.outbox, again.inbox, again.chunks) == (0, 0, 2)


async def test_a_sweep_finds_old_rows_through_indexes(sqlite_url: str) -> None:
    """Cheap when there is nothing to delete: the age conditions probe an index, never scan."""
    engine = create_engine(sqlite_url)
    await create_tables(engine)
    retention = Retention.for_settings(create_session_factory(engine), ServiceSettings())
    try:
        async with engine.connect() as connection:
            plans = [
                " ".join(
                    row[-1] for row in await connection.execute(text(f"EXPLAIN QUERY PLAN {query}"))
                )
                for query in (
                    str(chunk.compile(engine.sync_engine, compile_kwargs={"literal_binds": True}))
                    for chunk in (
                        retention.old_outbox_chunk(NOW),
                        retention.old_inbox_chunk(NOW),
                    )
                )
            ]
    finally:
        await engine.dispose()
    assert "INDEX ix_outbox_unsent (sent_at<?)" in plans[0]
    assert "INDEX ix_inbox_processed_at (processed_at<?)" in plans[1]
