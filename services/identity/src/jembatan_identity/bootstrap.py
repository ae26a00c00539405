"""Composition root: wires settings, database, keys, the request responder and routes."""

from pathlib import Path
from typing import Any

from fastapi import FastAPI

from jembatan_kit.runtime import ServiceRuntime, create_service_app
from jembatan_kit.sealed_nik import IndexKeys, index_keys

from .config import IdentitySettings
from .entrypoints.api import router
from .entrypoints.responder import serve

MIGRATIONS = Path(__file__).parent / "adapters" / "migrations"


def build_runtime(settings: IdentitySettings, keys: IndexKeys | None = None) -> ServiceRuntime:
    def responder(runtime: ServiceRuntime) -> Any:
        assert keys is not None
        return serve(runtime, keys)

    return ServiceRuntime(
        settings, migrations=MIGRATIONS, background=[responder] if keys is not None else []
    )


def build_app(settings: IdentitySettings | None = None) -> FastAPI:
    settings = settings or IdentitySettings()
    keys = index_keys(settings.identity_keys_file, settings.identity_public_key_file)
    return create_service_app(
        lambda: build_runtime(settings, keys),
        title="Jembatan national identity index",
        description="Kemnaker's index of active registrations: one person, one active "
        "registration across every agency. Holds only a keyed hash of each NIK.",
        routers=[router],
    )
