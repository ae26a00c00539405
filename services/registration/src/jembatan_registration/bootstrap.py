"""Composition root: wires settings, database, bus, protection, the national identity index and
routes."""

import logging
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from jembatan_kit.runtime import ServiceRuntime, create_service_app
from jembatan_kit.sealed_nik import read_public_key

from .adapters.national_index import NatsNationalIndex
from .adapters.protection import IdentityProtector, load_protector
from .config import RegistrationSettings
from .entrypoints.api import router
from .entrypoints.index_sync import keep_index_informed
from .service_layer import queries

MIGRATIONS = Path(__file__).parent / "adapters" / "migrations"

log = logging.getLogger(__name__)


def national_index(settings: RegistrationSettings) -> NatsNationalIndex | None:
    """The national identity index, when its public key is given (IDENTITY_PUBLIC_KEY_FILE)."""
    if settings.identity_public_key_file is None:
        log.warning(
            "IDENTITY_PUBLIC_KEY_FILE is not set: no national identity check; registrations are"
            " checked against this service's own candidates only"
        )
        return None
    return NatsNationalIndex(
        settings.nats_url,
        settings.agency,
        read_public_key(settings.identity_public_key_file),
        settings.identity_timeout_s,
    )


def build_runtime(
    settings: RegistrationSettings,
    index: NatsNationalIndex | None = None,
    protector: IdentityProtector | None = None,
) -> ServiceRuntime:
    background = []
    if index is not None and protector is not None:

        def informing(runtime: ServiceRuntime) -> Any:
            assert index is not None and protector is not None
            return keep_index_informed(runtime, index, protector, settings.identity_sync_interval_s)

        background.append(informing)
    return ServiceRuntime(settings, migrations=MIGRATIONS, background=background)


def build_app(settings: RegistrationSettings | None = None) -> FastAPI:
    settings = settings or RegistrationSettings()
    protector = load_protector(settings)
    index = national_index(settings)
    app = create_service_app(
        lambda: build_runtime(settings, index, protector),
        title="Jembatan registration",
        description="Registers candidates; owns identities (NIKs stay here, encrypted; the "
        "national identity index sees each only sealed to its key).",
        routers=[router],
    )
    app.state.protector = protector
    app.state.national_index = index
    # The NIK read log is part of the audit trail (`GET /audit`).
    app.state.audit_sources = (queries.nik_reads_audited,)
    return app
