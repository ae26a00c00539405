"""Composition root: wires settings, database, bus, the registration consumers and routes."""

from pathlib import Path

from fastapi import FastAPI

from jembatan_contracts import (
    CandidateIdentityCleared,
    CandidateRegistered,
    CandidateWithdrawn,
    DuplicateRegistrationFound,
)
from jembatan_kit.clock import AdjustableClock, Clock, SystemClock
from jembatan_kit.runtime import ServiceRuntime, create_service_app

from .config import TrainingSettings
from .entrypoints.api import router
from .entrypoints.cohorts_api import router as cohorts_router
from .entrypoints.consumers import consumer
from .entrypoints.suggestions_api import router as suggestions_router
from .service_layer import handlers

MIGRATIONS = Path(__file__).parent / "adapters" / "migrations"


def build_runtime(settings: TrainingSettings, clock: Clock | None = None) -> ServiceRuntime:
    clock = clock or (AdjustableClock() if settings.clock_adjustable else SystemClock())
    return ServiceRuntime(
        settings,
        migrations=MIGRATIONS,
        clock=clock,
        handlers=[
            consumer(
                CandidateRegistered,
                "training-candidate-registered",
                handlers.enrol_candidates,
                clock,
            ),
            consumer(
                CandidateWithdrawn,
                "training-candidate-withdrawn",
                handlers.withdraw_candidates,
                clock,
            ),
            consumer(
                DuplicateRegistrationFound,
                "training-duplicate-found",
                handlers.hold_duplicates,
                clock,
            ),
            consumer(
                CandidateIdentityCleared,
                "training-identity-cleared",
                handlers.clear_identities,
                clock,
            ),
        ],
    )


def build_app(settings: TrainingSettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or TrainingSettings()
    return create_service_app(
        lambda: build_runtime(settings, clock),
        title="Jembatan training",
        description="Enrols registered candidates, seats them in cohorts, steers them to a "
        "sector, follows their daily scores, records their test results, and says when they are "
        "ready for placement.",
        routers=[router, cohorts_router, suggestions_router],
    )
