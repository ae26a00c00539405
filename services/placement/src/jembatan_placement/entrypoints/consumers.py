"""Placement's consumers: each hands its batch of events to the handler, over the consumer's
transaction. A single message is a batch of one."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from jembatan_contracts import CandidateReadyForPlacement, CertificatePassed

from ..adapters.repository import SqlPlacementRepository
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
