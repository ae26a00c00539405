"""The dashboard's consumers: one durable per event it follows, each handing its batch to
`project`; a message handled alone (the kit's consumer isolates a batch that failed) is a list
of one."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from jembatan_contracts import Event
from jembatan_kit.consumer import EventHandler

from ..service_layer.projections import PROJECTIONS, project

E = TypeVar("E", bound=Event)


def consumer(event_type: type[E], durable: str) -> EventHandler[E]:
    """The durable `durable` projecting its events of `event_type` into the read model."""

    async def handle_batch(session: AsyncSession, events: list[E]) -> None:
        await project(session, events)

    async def handle(session: AsyncSession, event: E) -> None:
        await project(session, [event])

    return EventHandler(event_type, durable, handle, handle_batch=handle_batch)


def consumers() -> list[EventHandler[Event]]:
    return [consumer(event_type, durable) for event_type, (durable, _) in PROJECTIONS.items()]
