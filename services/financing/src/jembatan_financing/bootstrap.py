"""The composition root: settings, handlers, scheduler and routes wired into the shared runtime."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from fastapi import FastAPI

from jembatan_kit.clock import AdjustableClock, Clock, SystemClock
from jembatan_kit.runtime import ServiceRuntime, create_service_app

from .config import FinancingSettings
from .entrypoints.api import router
from .entrypoints.consumers import event_handlers
from .entrypoints.scheduler import run_due_scheduler

MIGRATIONS = Path(__file__).parent / "adapters" / "migrations"


def build_runtime(settings: FinancingSettings, clock: Clock | None = None) -> ServiceRuntime:
    terms = settings.loan_terms()  # refuses to start on costs that break a protective rule
    clock = clock or (AdjustableClock() if settings.clock_adjustable else SystemClock())
    return ServiceRuntime(
        settings,
        migrations=MIGRATIONS,
        clock=clock,
        handlers=event_handlers(terms, clock, settings.default_funder),
        background=[
            partial(
                run_due_scheduler,
                interval_s=settings.scheduler_interval_s,
                batch_size=settings.scheduler_batch_size,
            )
        ],
    )


def build_app(settings: FinancingSettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or FinancingSettings()
    return create_service_app(
        lambda: build_runtime(settings, clock),
        title="Jembatan financing",
        description="Upfront costs fronted for participants, itemised, repaid by their own "
        "transfer from the 3rd month after departure.",
        routers=[router],
    )
