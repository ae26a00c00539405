"""Financing's consumers: each hands its batch of events to the use case's handler, over a
repository on the consumer's transaction, and turns a refusal into what the consumer does with
the message.

The kit's consumer records every event of a batch it handed over as processed, so a batch with
a refused event must not commit: the first refusal is raised, the batch is rolled back, and the
consumer hands each message to the same handler alone (a list of one). Then only the refused one
waits (`NotYet`: redelivered later, as its earlier event may still come) or is dead-lettered
(any other refusal: waiting will not change it).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from jembatan_contracts import CandidatePlaced, CandidateWithdrawn, Departed, EarlyReturned, Event
from jembatan_kit.clock import Clock
from jembatan_kit.consumer import EventHandler, Refusals, RetryLater, Unprocessable

from ..adapters.repository import FinancingRepository, SqlFinancingRepository
from ..domain.loan import NotYet
from ..domain.model import LoanTerms
from ..service_layer import handlers
from ..service_layer.handlers import Refused

E = TypeVar("E", bound=Event)

UseCase = Callable[[Sequence[E], FinancingRepository], Awaitable[Sequence[Any]]]


def raise_refusals(events: Sequence[Event], outcomes: Sequence[Any]) -> None:
    """The refused events of a batch, each with its refusal (`Refusals`): one that is not yet
    possible waits (`NotYet`: `RetryLater`), any other is dead-lettered (`Unprocessable`)."""
    refused: dict[uuid.UUID, RetryLater | Unprocessable] = {}
    for event, outcome in zip(events, outcomes, strict=True):
        if isinstance(outcome, Refused):
            refusal = outcome.refusal
            refused[event.event_id] = (
                RetryLater(refusal.message)
                if isinstance(refusal, NotYet)
                else Unprocessable(str(refusal))
            )
    if refused:
        raise Refusals(refused)


def consumer(event_type: type[E], durable: str, use_case: UseCase[E]) -> EventHandler[E]:
    """The consumer `durable` of `event_type`: a batch, or a message alone, goes to
    `use_case`."""

    async def handle_batch(session: AsyncSession, events: list[E]) -> None:
        raise_refusals(events, await use_case(events, SqlFinancingRepository(session)))

    async def handle(session: AsyncSession, event: E) -> None:
        await handle_batch(session, [event])

    return EventHandler(event_type, durable, handle, handle_batch=handle_batch)


def event_handlers(terms: LoanTerms, clock: Clock, default_funder: str) -> list[EventHandler[Any]]:
    async def open_loans(
        events: Sequence[CandidatePlaced], repo: FinancingRepository
    ) -> Sequence[Any]:
        return await handlers.open_loans(
            events, repo, terms=terms, clock=clock, default_funder=default_funder
        )

    async def fix_schedules(events: Sequence[Departed], repo: FinancingRepository) -> Sequence[Any]:
        return await handlers.fix_schedules(events, repo, terms=terms, clock=clock)

    async def pause(events: Sequence[EarlyReturned], repo: FinancingRepository) -> Sequence[Any]:
        return await handlers.pause_for_early_returns(events, repo, clock=clock)

    async def close(
        events: Sequence[CandidateWithdrawn], repo: FinancingRepository
    ) -> Sequence[Any]:
        return await handlers.close_loans_of_withdrawn(events, repo, terms=terms, clock=clock)

    return [
        consumer(CandidatePlaced, "financing-candidate-placed", open_loans),
        consumer(CandidateWithdrawn, "financing-candidate-withdrawn", close),
        consumer(Departed, "financing-departed", fix_schedules),
        consumer(EarlyReturned, "financing-early-returned", pause),
    ]
