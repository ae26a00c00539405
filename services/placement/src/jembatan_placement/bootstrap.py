"""Composition root: wires settings, database, bus, the consumers and routes. Placement hears
training's readiness and certificates, and registration's withdrawals and the national identity
index's findings (a candidate registered twice is held from every step); in the background, it
makes ready a readiness that waited for its certificate and was missed when it arrived."""

from functools import partial
from pathlib import Path

from fastapi import FastAPI

from jembatan_contracts import CandidateReadyForPlacement, CertificatePassed
from jembatan_kit.clock import AdjustableClock, Clock, SystemClock
from jembatan_kit.consumer import EventHandler
from jembatan_kit.runtime import ServiceRuntime, create_service_app

from .config import PlacementSettings
from .entrypoints import consumers
from .entrypoints.api import router
from .entrypoints.bulk_api import router as bulk_router
from .entrypoints.waiting import run_waiting_readiness

MIGRATIONS = Path(__file__).parent / "adapters" / "migrations"


def build_runtime(settings: PlacementSettings, clock: Clock | None = None) -> ServiceRuntime:
    clock = clock or (AdjustableClock() if settings.clock_adjustable else SystemClock())
    return ServiceRuntime(
        settings,
        migrations=MIGRATIONS,
        clock=clock,
        handlers=[
            EventHandler(
                CandidateReadyForPlacement,
                "placement-candidate-ready",
                consumers.on_candidate_ready_for_placement,
                handle_batch=consumers.on_candidates_ready_for_placement,
            ),
            EventHandler(
                CertificatePassed,
                "placement-certificate-passed",
                consumers.on_certificate_passed,
                handle_batch=consumers.on_certificates_passed,
            ),
            consumers.candidates_withdrawn(clock),
            consumers.duplicates_found(clock),
            consumers.identities_cleared(clock),
        ],
        background=[
            partial(run_waiting_readiness, interval_s=settings.waiting_readiness_interval_s)
        ],
    )


def build_app(settings: PlacementSettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or PlacementSettings()
    return create_service_app(
        lambda: build_runtime(settings, clock),
        title="Jembatan placement",
        description="Job orders from Japanese employers, ranked matches of ready candidates, "
        "and each candidate's path: shortlist, interview, offer, contract, Certificate of "
        "Eligibility, visa, departure, early return.",
        routers=[router, bulk_router],
    )
