"""The local system's start-up checks: distinct free ports, and each service found on its own;
a service it restarts while NATS is down serves with the revocation list it kept."""

from __future__ import annotations

import json
import stat
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from jembatan_cli.system import LocalSystem, ServiceProcess, local_issuer
from jembatan_kit.auth import NATIONAL_AGENCY, bearer
from jembatan_kit.issuers import issue_token
from jembatan_kit.nats_server import free_ports


def test_free_ports_are_distinct() -> None:
    ports = free_ports(64)
    assert len(set(ports)) == 64


@pytest.fixture
def training_health() -> Iterator[int]:
    """An HTTP server whose /health says it is training."""

    class Health(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps({"service": "training", "nats": "connected"}).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def _waiting(name: str, port: int, tmp_path: Path) -> ServiceProcess:
    sleeper = subprocess.Popen(["sleep", "30"])
    return ServiceProcess(name, port, sleeper, tmp_path / f"{name}.log")


def test_a_port_answering_as_another_service_is_refused(
    training_health: int, tmp_path: Path
) -> None:
    system = LocalSystem.on_free_ports(tmp_path)
    service = _waiting("registration", training_health, tmp_path)
    system.services = {"registration": service}
    try:
        with pytest.raises(RuntimeError, match="answers as 'training', not registration"):
            system.wait_healthy(timeout_s=5)
    finally:
        service.process.kill()
        service.process.wait()


def test_the_service_itself_is_found_healthy(training_health: int, tmp_path: Path) -> None:
    system = LocalSystem.on_free_ports(tmp_path)
    service = _waiting("training", training_health, tmp_path)
    system.services = {"training": service}
    try:
        system.wait_healthy(timeout_s=5)
    finally:
        service.process.kill()
        service.process.wait()


def _health(service: ServiceProcess) -> dict[str, object] | None:
    try:
        status: dict[str, object] = httpx.get(f"{service.url}/health", timeout=1).json()
    except httpx.HTTPError:
        return None
    return status


@pytest.mark.timeout(180)
def test_a_service_restarted_while_nats_is_down_serves_with_the_revocations_it_kept(
    tmp_path: Path,
) -> None:
    snapshot = tmp_path / "training-revocations.json"
    with LocalSystem.on_free_ports(tmp_path, names=("training",)) as system:
        deadline = time.monotonic() + 30
        while not snapshot.exists():
            assert time.monotonic() < deadline, f"{snapshot} not written within 30 s"
            time.sleep(0.1)
        assert stat.S_IMODE(snapshot.stat().st_mode) == 0o600
        assert system.nats is not None
        system.nats.stop()
        crashed = system.services["training"]
        crashed.process.kill()
        crashed.process.wait()
        training = system.services["training"] = system.spawn("training")

        deadline = time.monotonic() + 60
        while (status := _health(training)) is None:
            assert time.monotonic() < deadline, "training does not answer after its restart"
            time.sleep(0.2)
        assert status["nats"] == "disconnected"
        revocations = status["revocations"]
        assert isinstance(revocations, dict) and revocations["source"] == "snapshot", revocations
        signed = issue_token(local_issuer(tmp_path, NATIONAL_AGENCY), "operator", [])
        response = httpx.get(f"{training.url}/cohorts", headers=bearer(signed), timeout=10)
        assert response.status_code == 200, response.text
