"""`jembatan health` against five HTTP servers answering as the services do, and a real
nats-server: it shows each service's status with its reasons, and fails when one is degraded."""

from __future__ import annotations

from typing import Any

from typer.testing import CliRunner

from jembatan_cli.main import app


def test_health_passes_when_every_service_is_ok(services: Any, nats_url: str) -> None:
    result = CliRunner().invoke(
        app, ["health", "--base-port", str(services.base_port), "--nats-url", nats_url]
    )
    assert result.exit_code == 0, result.output
    assert "training      ok        nats=connected outbox_unsent=0" in result.output


def test_health_shows_a_degraded_service_with_its_reasons_and_fails(
    services: Any, nats_url: str
) -> None:
    services.answers["financing"] |= {
        "status": "degraded",
        "reasons": ["database: unavailable (OperationalError: database is locked)"],
        "database": "unavailable",
        "outbox_unsent": None,
    }
    result = CliRunner().invoke(
        app, ["health", "--base-port", str(services.base_port), "--nats-url", nats_url]
    )
    assert result.exit_code == 1, result.output
    assert "financing     degraded  nats=connected outbox_unsent=None" in result.output
    assert "- database: unavailable (OperationalError: database is locked)" in result.output
    assert "registration  ok" in result.output
