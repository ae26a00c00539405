"""Placement's consumers: each hands its batch of events to the handler, over the consumer's
transaction. A single message is a batch of one."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from jembatan_contracts import (
    CandidateIdentityCleared,
    CandidateReadyForPlacement,
    CandidateWithdrawn,
    CertificatePassed,
    DuplicateRegistrationFound,
)
from jembatan_kit.clock import Clock
from jembatan_kit.consumer import EventHandler

from ..adapters.repository import (
    SqlPlacementRepository,
    clear_identity_holds,
    hold_for_identity,
)
from ..service_layer import handlers


async def on_candidates_ready_for_placement(
    session: AsyncSession, events: list[CandidateReadyForPlacement]
) -> None:
    await handlers.on_candidates_ready_for_placement(events, SqlPlacementRepository(session))


async def on_candidate_ready_for_placement(
    session: AsyncSession, event: CandidateReadyForPlacement
) -> None:
    await on_candidates_ready_for_placement(session, [event])


async def on_certificates_passed(session: AsyncSession, events: list[CertificatePassed]) -> None:
    await handlers.on_certificates_passed(events, SqlPlacementRepository(session))


async def on_certificate_passed(session: AsyncSession, event: CertificatePassed) -> None:
    await on_certificates_passed(session, [event])


def candidates_withdrawn(clock: Clock) -> EventHandler[CandidateWithdrawn]:
    """Registration's withdrawals, judged by the service's clock."""

    async def handle_batch(session: AsyncSession, events: list[CandidateWithdrawn]) -> None:
        await handlers.on_candidates_withdrawn(events, SqlPlacementRepository(session), clock)

    async def handle(session: AsyncSession, event: CandidateWithdrawn) -> None:
        await handle_batch(session, [event])

    return EventHandler(
        CandidateWithdrawn, "placement-candidate-withdrawn", handle, handle_batch=handle_batch
    )


def duplicates_found(clock: Clock) -> EventHandler[DuplicateRegistrationFound]:
    """The national identity index found a candidate registered twice: held from every step."""

    async def handle_batch(session: AsyncSession, events: list[DuplicateRegistrationFound]) -> None:
        await hold_for_identity(session, events)

    async def handle(session: AsyncSession, event: DuplicateRegistrationFound) -> None:
        await handle_batch(session, [event])

    return EventHandler(
        DuplicateRegistrationFound, "placement-duplicate-found", handle, handle_batch=handle_batch
    )


def identities_cleared(clock: Clock) -> EventHandler[CandidateIdentityCleared]:
    """The national identity index cleared a candidate: the hold is lifted."""

    async def handle_batch(session: AsyncSession, events: list[CandidateIdentityCleared]) -> None:
        await clear_identity_holds(session, events)

    async def handle(session: AsyncSession, event: CandidateIdentityCleared) -> None:
        await handle_batch(session, [event])

    return EventHandler(
        CandidateIdentityCleared, "placement-identity-cleared", handle, handle_batch=handle_batch
    )
