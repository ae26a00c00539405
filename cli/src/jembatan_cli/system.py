"""The whole system as local processes: one nats-server, the four services and the dashboard."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import httpx

from jembatan_kit.nats_server import NatsServerProcess, free_ports, port_is_open

SERVICES = ("registration", "training", "placement", "financing", "dashboard")
DEFAULT_PORTS = {
    "registration": 8001,
    "training": 8002,
    "placement": 8003,
    "financing": 8004,
    "dashboard": 8005,
}
DEFAULT_NATS_PORT = 14222


def auth_secret(data_dir: Path) -> str:
    """The embedded default's token signing key: AUTH_JWT_SECRET, or generated once (0600)."""
    if from_env := os.environ.get("AUTH_JWT_SECRET"):
        return from_env
    path = data_dir / "auth-secret"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def find_deploy_dir() -> Path | None:
    """The repository's deploy/ folder, found from here or the working directory upwards."""
    for start in (Path.cwd(), Path(__file__).resolve()):
        for folder in (start, *start.parents):
            candidate = folder / "deploy" / "nats" / "embedded.conf"
            if candidate.exists():
                return folder / "deploy"
    return None


@dataclass
class ServiceProcess:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_file: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class LocalSystem:
    data_dir: Path
    nats_port: int = DEFAULT_NATS_PORT
    ports: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_PORTS))
    extra_env: dict[str, str] = field(default_factory=dict)
    services: dict[str, ServiceProcess] = field(default_factory=dict)
    nats: NatsServerProcess | None = None

    @classmethod
    def on_free_ports(cls, data_dir: Path, **kwargs: Any) -> Self:
        """A system on loopback ports free now, all distinct (for tests and the benchmark)."""
        nats_port, *ports = free_ports(len(SERVICES) + 1)
        return cls(
            data_dir=data_dir,
            nats_port=nats_port,
            ports=dict(zip(SERVICES, ports, strict=True)),
            **kwargs,
        )

    @property
    def nats_url(self) -> str:
        return f"nats://127.0.0.1:{self.nats_port}"

    def start(self, timeout_s: float = 120.0) -> LocalSystem:
        busy = [f"{name} ({port})" for name, port in self.ports.items() if port_is_open(port)]
        if busy:
            raise RuntimeError(f"ports already in use: {', '.join(busy)}; stop what uses them")
        logs = self.data_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        deploy = find_deploy_dir()
        self.nats = NatsServerProcess(
            store_dir=self.data_dir / "nats",
            port=self.nats_port,
            config_file=deploy / "nats" / "embedded.conf" if deploy else None,
            log_file=logs / "nats-server.log",
        ).start()
        try:
            for name in SERVICES:
                self.services[name] = self._spawn(name, logs)
            self.wait_healthy(timeout_s)
        except BaseException:
            self.stop()
            raise
        return self

    def _spawn(self, name: str, logs: Path) -> ServiceProcess:
        env = {
            **os.environ,
            "SERVICE_NAME": name,
            "DATABASE_URL": f"sqlite+aiosqlite:///{self.data_dir / f'{name}.db'}",
            "NATS_URL": self.nats_url,
            "HTTP_HOST": "127.0.0.1",
            "HTTP_PORT": str(self.ports[name]),
            "CLOCK_ADJUSTABLE": "true",
            "SECRETS_FILE": str(self.data_dir / f"{name}-secrets.json"),
            "JEMBATAN_TRACES_DIR": str(self.data_dir / "traces"),
            "AUTH_JWT_SECRET": auth_secret(self.data_dir),
            # Where the dashboard links each service's API docs.
            "SERVICE_URLS": json.dumps(
                {other: f"http://127.0.0.1:{port}" for other, port in self.ports.items()}
            ),
            **self.extra_env,
        }
        log_file = logs / f"{name}.log"
        executable = Path(sys.executable).parent / f"jembatan-{name}"
        with log_file.open("ab") as log:
            process = subprocess.Popen(
                [str(executable)], env=env, stdout=log, stderr=subprocess.STDOUT
            )
        return ServiceProcess(name, self.ports[name], process, log_file)

    def wait_healthy(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        pending = dict(self.services)
        while pending:
            for name, service in list(pending.items()):
                if service.process.poll() is not None:
                    tail = service.log_file.read_text(errors="replace")[-2000:]
                    raise RuntimeError(f"{name} exited at start; its log ends:\n{tail}")
                if self._answers(service):
                    del pending[name]
            if time.monotonic() > deadline:
                raise RuntimeError(f"not healthy after {timeout_s}s: {', '.join(pending)}")
            time.sleep(0.1)

    @staticmethod
    def _answers(service: ServiceProcess) -> bool:
        """Whether `service` itself is up on its port: its /health names it, so another process
        that took the port first is not mistaken for it."""
        try:
            response = httpx.get(f"{service.url}/health", timeout=1)
        except httpx.HTTPError:
            return False
        if response.status_code != 200:
            return False
        try:
            answered = response.json().get("service")
        except (ValueError, AttributeError):
            answered = None
        if answered != service.name:
            raise RuntimeError(
                f"port {service.port} answers as {answered!r}, not {service.name}: "
                "another process holds it; choose other ports"
            )
        return True

    def stop(self) -> None:
        for service in self.services.values():
            if service.process.poll() is None:
                service.process.terminate()
        for service in self.services.values():
            try:
                service.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                service.process.kill()
                service.process.wait()
        self.services.clear()
        if self.nats is not None:
            self.nats.stop()
            self.nats = None

    def __enter__(self) -> LocalSystem:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
