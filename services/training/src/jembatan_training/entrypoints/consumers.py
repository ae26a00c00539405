"""Training's consumers of registration's events: each hands its batch to the handler, and a
message handled alone (the kit's consumer isolates a batch that failed) is a list of one."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from jembatan_contracts import Event
from jembatan_kit.clock import Clock
from jembatan_kit.consumer import EventHandler

from ..adapters.repository import Repository, TrainingRepository

E = TypeVar("E", bound=Event)
Handler = Callable[[Sequence[E], Repository, Clock], Awaitable[Sequence[Any]]]


def consumer(
    event_type: type[E], durable: str, handler: Handler[E], clock: Clock
) -> EventHandler[E]:
    """The durable `durable` handing its events of `event_type` to `handler`."""

    async def handle_batch(session: AsyncSession, events: list[E]) -> None:
        """Any refusal (`RetryLater`, `Unprocessable`) is raised: the consumer then handles
        the batch again message by message, and settles each with its own outcome."""
        for outcome in await handler(events, TrainingRepository(session), clock):
            if isinstance(outcome, Exception):
                raise outcome

    async def handle(session: AsyncSession, event: E) -> None:
        await handle_batch(session, [event])

    return EventHandler(event_type, durable, handle, handle_batch=handle_batch)
