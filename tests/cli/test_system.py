"""The local system's start-up checks: distinct free ports, and each service found on its own."""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from jembatan_cli.system import LocalSystem, ServiceProcess
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
