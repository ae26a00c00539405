"""The composition root: settings, projections and pages wired into the shared runtime."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from jembatan_kit.clock import AdjustableClock, Clock, SystemClock
from jembatan_kit.runtime import ServiceRuntime, create_service_app

from .config import DashboardSettings
from .entrypoints.api import router as api_router
from .entrypoints.consumers import consumers
from .entrypoints.page import STATIC
from .entrypoints.page import router as page_router

MIGRATIONS = Path(__file__).parent / "adapters" / "migrations"


def build_runtime(settings: DashboardSettings, clock: Clock | None = None) -> ServiceRuntime:
    clock = clock or (AdjustableClock() if settings.clock_adjustable else SystemClock())
    return ServiceRuntime(
        settings,
        migrations=MIGRATIONS,
        clock=clock,
        handlers=consumers(),
    )


def build_app(settings: DashboardSettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or DashboardSettings()
    app = create_service_app(
        lambda: build_runtime(settings, clock),
        title="Jembatan dashboard",
        description="Where every agency's candidates are, against the agency's targets: a read "
        "model built from the events of every agency.",
        routers=[api_router, page_router],
    )
    app.state.targets = settings.targets()  # refuses to start on a target that makes no sense
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
