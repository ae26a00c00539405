"""Training's consumers of registration's events: each hands its batch to the handler, and a
message handled alone (the kit's consumer isolates a batch that failed) is a list of one."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from jembatan_contracts import Event
from jembatan_kit.clock import Clock
from jembatan_kit.consumer import EventHandler, Refusals, RetryLater, Unprocessable

from ..adapters.repository import Repository, TrainingRepository

E = TypeVar("E", bound=Event)
Handler = Callable[[Sequence[E], Repository, Clock], Awaitable[Sequence[Any]]]


def consumer(
    event_type: type[E], durable: str, handler: Handler[E], clock: Clock
) -> EventHandler[E]:
    """The durable `durable` handing its events of `event_type` to `handler`."""

    async def handle_batch(session: AsyncSession, events: list[E]) -> None:
        """The refusals (`RetryLater`, `Unprocessable`) are raised together (`Refusals`): the
        consumer then handles the other events again without them, and settles each refused
        one with its refusal."""
        outcomes = await handler(events, TrainingRepository(session), clock)
        refused = {
            event.event_id: outcome
            for event, outcome in zip(events, outcomes, strict=True)
            if isinstance(outcome, RetryLater | Unprocessable)
        }
        if refused:
            raise Refusals(refused)

    async def handle(session: AsyncSession, event: E) -> None:
        await handle_batch(session, [event])

    return EventHandler(event_type, durable, handle, handle_batch=handle_batch)
