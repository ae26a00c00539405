"""Fixtures of the CLI's tests: the services' `/health`, answered by plain HTTP servers."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from jembatan_cli.system import DEFAULT_PORTS, SERVICES
from jembatan_kit.nats_server import free_port, port_is_open


def healthy(name: str) -> dict[str, Any]:
    return {
        "service": name,
        "agency": "kemnaker",
        "status": "ok",
        "reasons": [],
        "database": "ok",
        "nats": "connected",
        "consumers": {},
        "outbox_unsent": 0,
        "now": "2026-12-05T12:00:00+00:00",
    }


class Services:
    """One HTTP server per service on consecutive ports; `answers[name]` is its /health."""

    def __init__(self) -> None:
        self.answers = {name: healthy(name) for name in SERVICES}
        self.servers: list[ThreadingHTTPServer] = []
        self.base_port = self._start()

    def _start(self) -> int:
        for _ in range(20):
            base = free_port()
            if base + len(SERVICES) >= 65536:
                continue
            if any(port_is_open(base + offset) for offset in range(len(SERVICES))):
                continue
            try:
                for name in SERVICES:  # where `service_urls` looks for each
                    offset = DEFAULT_PORTS[name] - min(DEFAULT_PORTS.values())
                    self.servers.append(self._serve(name, base + offset))
            except OSError:
                self.stop()
                continue
            return base
        raise RuntimeError("no consecutive free ports for every service")

    def _serve(self, name: str, port: int) -> ThreadingHTTPServer:
        answers = self.answers

        class Health(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = json.dumps(answers[name]).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", port), Health)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server

    def stop(self) -> None:
        for server in self.servers:
            server.shutdown()
            server.server_close()
        self.servers.clear()


@pytest.fixture
def services() -> Iterator[Services]:
    running = Services()
    yield running
    running.stop()
