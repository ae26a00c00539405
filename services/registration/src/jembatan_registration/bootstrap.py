"""Composition root: wires settings, database, bus, protection and routes."""

from pathlib import Path

from fastapi import FastAPI

from jembatan_kit.runtime import ServiceRuntime, create_service_app

from .adapters.protection import load_protector
from .config import RegistrationSettings
from .entrypoints.api import router
from .service_layer import queries

MIGRATIONS = Path(__file__).parent / "adapters" / "migrations"


def build_runtime(settings: RegistrationSettings) -> ServiceRuntime:
    return ServiceRuntime(settings, migrations=MIGRATIONS)


def build_app(settings: RegistrationSettings | None = None) -> FastAPI:
    settings = settings or RegistrationSettings()
    app = create_service_app(
        lambda: build_runtime(settings),
        title="Jembatan registration",
        description="Registers candidates; owns identities (NIKs stay here, encrypted).",
        routers=[router],
    )
    app.state.protector = load_protector(settings)
    # The NIK read log is part of the audit trail (`GET /audit`).
    app.state.audit_sources = (queries.nik_reads_audited,)
    return app
