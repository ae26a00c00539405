"""What placement hears from training: the certificates a candidate passed and the candidate's
readiness for placement. Pure: no I/O.

A readiness is believed only for a candidate placement has heard of: training announces it once
the candidate's certificates are in, each announced before by a CertificatePassed of the same
agency and journey, so placement must hold one (`doubt`). The certificate comes through another
durable and may arrive after the readiness, which then waits for it. The latest readiness of a
candidate wins, so a repeat or a late-arriving older announcement changes nothing
(`latest_of_each`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from jembatan_contracts import CandidateReadyForPlacement, CertificatePassed, TestKind, Track

from .model import normalise_sector


@dataclass(frozen=True)
class Certificate:
    """A certificate a candidate holds, as its CertificatePassed announced it."""

    certificate_id: uuid.UUID
    candidate_id: uuid.UUID
    test: TestKind
    sector: str | None
    level: str | None
    passed_on: date
    agency: str | None
    """Of the CertificatePassed; None on certificates held before it was kept."""
    journey_id: uuid.UUID | None

    @classmethod
    def passed(cls, event: CertificatePassed) -> Certificate:
        return cls(
            certificate_id=event.certificate_id,
            candidate_id=event.candidate_id,
            test=event.test,
            sector=normalise_sector(event.sector) if event.sector else None,
            level=event.level,
            passed_on=event.passed_on,
            agency=event.agency,
            journey_id=event.journey_id,
        )


@dataclass(frozen=True)
class Readiness:
    """A candidate training announced ready for placement."""

    candidate_id: uuid.UUID
    journey_id: uuid.UUID
    agency: str
    track: Track
    sector: str
    language_level: str
    ready_at: datetime
    daily_score_average: float | None

    @classmethod
    def announced(cls, event: CandidateReadyForPlacement) -> Readiness:
        return cls(
            candidate_id=event.candidate_id,
            journey_id=event.journey_id,
            agency=event.agency,
            track=event.track,
            sector=normalise_sector(event.sector),
            language_level=event.language_level,
            ready_at=event.occurred_at.astimezone(UTC),
            daily_score_average=event.daily_score_average,
        )


@dataclass(frozen=True)
class Doubt:
    """Why a readiness is not believed (yet)."""

    message: str
    may_clear: bool
    """True: a certificate may still arrive (it travels another way), so the readiness waits for
    it; False: it is forged."""


def doubt(
    event: CandidateReadyForPlacement | Readiness, certificates: Sequence[Certificate]
) -> Doubt | None:
    """None when one of the candidate's `certificates` is of the readiness's agency and journey
    (or of none: held before they were kept)."""
    if not certificates:
        return Doubt(
            f"candidate {event.candidate_id}: placement holds none of their certificates yet"
            " (CertificatePassed first)",
            may_clear=True,
        )
    if any(
        certificate.agency in (None, event.agency)
        and certificate.journey_id in (None, event.journey_id)
        for certificate in certificates
    ):
        return None
    agencies = ", ".join(sorted({str(certificate.agency) for certificate in certificates}))
    return Doubt(
        f"journey_mismatch: CandidateReadyForPlacement of candidate {event.candidate_id}"
        f" names agency {event.agency} and journey {event.journey_id}, but every certificate"
        f" placement holds for the candidate is of another (agency {agencies}); a forged or"
        " broken event, not handled",
        may_clear=False,
    )


def latest_of_each(readinesses: Iterable[Readiness]) -> list[Readiness]:
    """The latest readiness of each candidate; of two as late, the first."""
    latest: dict[uuid.UUID, Readiness] = {}
    for readiness in readinesses:
        current = latest.get(readiness.candidate_id)
        if current is None or current.ready_at < readiness.ready_at:
            latest[readiness.candidate_id] = readiness
    return list(latest.values())
