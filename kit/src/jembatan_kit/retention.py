"""Retention: sent outbox rows and old inbox rows are deleted, in small chunks, every few minutes.

- A sent outbox row is kept `outbox_retention_days` (OUTBOX_RETENTION_DAYS): the window in which
  `jembatan outbox resend` can publish it again. Unsent rows are never deleted.
- An inbox row is what makes a redelivered event a no-op, so it is kept as long as its stream
  could deliver the event again: the streams keep a message `stream_max_age_days`
  (STREAM_MAX_AGE_DAYS) after it was stored, which is before it was processed, plus
  `INBOX_MARGIN` for clocks that disagree. A replay or resend of an event older than that would
  have a second effect; resends reach back only `outbox_retention_days`, which is shorter.

Each chunk is one short transaction of at most `chunk_rows` rows, found through an index on the
age column (`ix_outbox_unsent` on sent_at, `ix_inbox_processed_at`), so a sweep with nothing to
delete is two index probes, and a large backlog never holds a lock for long. Every replica
sweeps; two sweeps at once only delete the same rows once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Delete, Select, delete, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from .messaging_tables import inbox_table, outbox_table
from .settings import ServiceSettings

log = logging.getLogger(__name__)

INBOX_MARGIN = timedelta(days=1)
"""Inbox rows outlive the streams' max age by this much (clock skew between hosts)."""
SWEEP_INTERVAL_S = 300.0
CHUNK_ROWS = 1000


@dataclass(frozen=True)
class Swept:
    outbox: int
    inbox: int
    chunks: int


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Retention:
    """Deletes what no longer needs keeping; `start` sweeps every `interval_s` in the background."""

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        *,
        outbox_age: timedelta,
        inbox_age: timedelta,
        interval_s: float = SWEEP_INTERVAL_S,
        chunk_rows: int = CHUNK_ROWS,
        now: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._sessions = session_factory
        self.outbox_age = outbox_age
        self.inbox_age = inbox_age
        self._interval_s = interval_s
        self._chunk_rows = chunk_rows
        self._now = now
        self._task: asyncio.Task[None] | None = None

    @classmethod
    def for_settings(
        cls, session_factory: async_sessionmaker[AsyncSession], settings: ServiceSettings
    ) -> Retention:
        return cls(
            session_factory,
            outbox_age=timedelta(days=settings.outbox_retention_days),
            inbox_age=timedelta(days=settings.stream_max_age_days) + INBOX_MARGIN,
        )

    async def sweep_once(self) -> Swept:
        """Delete every sent outbox row and inbox row past its age, chunk by chunk."""
        now = self._now()
        outbox, inbox = outbox_table.c, inbox_table.c
        outbox_rows, outbox_chunks = await self._delete_in_chunks(
            delete(outbox_table).where(outbox.id.in_(self.old_outbox_chunk(now)))
        )
        inbox_rows, inbox_chunks = await self._delete_in_chunks(
            delete(inbox_table).where(
                tuple_(inbox.consumer, inbox.event_id).in_(self.old_inbox_chunk(now))
            )
        )
        if outbox_rows or inbox_rows:
            log.info("retention deleted %d outbox and %d inbox rows", outbox_rows, inbox_rows)
        return Swept(outbox_rows, inbox_rows, outbox_chunks + inbox_chunks)

    def old_outbox_chunk(self, now: datetime) -> Select[tuple[int]]:
        """Up to a chunk of sent outbox rows past their age."""
        outbox = outbox_table.c
        return (
            select(outbox.id).where(outbox.sent_at < now - self.outbox_age).limit(self._chunk_rows)
        )

    def old_inbox_chunk(self, now: datetime) -> Select[tuple[str, uuid.UUID]]:
        """Up to a chunk of inbox rows past their age."""
        inbox = inbox_table.c
        return (
            select(inbox.consumer, inbox.event_id)
            .where(inbox.processed_at < now - self.inbox_age)
            .limit(self._chunk_rows)
        )

    async def _delete_in_chunks(self, statement: Delete) -> tuple[int, int]:
        deleted = chunks = 0
        while True:
            async with self._sessions() as session, session.begin():
                result = await session.execute(statement)
            count: int = result.rowcount  # type: ignore[attr-defined]
            deleted += count
            chunks += 1
            if count < self._chunk_rows:
                return deleted, chunks
            await asyncio.sleep(0)  # let requests and consumers in between two chunks

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="retention")

    async def stop(self) -> None:
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval_s)
            try:
                await self.sweep_once()
            except Exception as exc:  # a database away now is tried again next round
                log.warning("retention sweep failed, next in %.0f s: %s", self._interval_s, exc)
