"""The four services as separate processes, split across agencies the way the deployment runs
them: each province's registration and training on the province's leaf server, Kemnaker's
placement and financing on the hub. Each connects as its own NATS user (the committed configs'
permissions apply), keeps its own PostgreSQL database and writes its spans to a file."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from jembatan_kit.nats_server import free_port
from jembatan_kit.sealed_nik import index_keys
from jembatan_kit.testing.helpers import token_for, trust_file_for_tests

from .conftest import Federation, dev_password, topology


def token_of(agency: str) -> dict[str, str]:
    """A token of an officer of `agency`, signed with the agency's own key."""
    return token_for(agency, f"officer-{agency}")


@dataclass
class AgencyService:
    agency: str
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_file: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self, as_agency: str | None = None) -> httpx.AsyncClient:
        """A client calling as an officer of `as_agency` (the service's own agency by default)."""
        return httpx.AsyncClient(
            base_url=self.url, timeout=10, headers=token_of(as_agency or self.agency)
        )


@dataclass
class AgencyServices:
    federation: Federation
    root: Path
    database_urls: dict[tuple[str, str], str]
    running: dict[tuple[str, str], AgencyService] = field(default_factory=dict)

    def traces_dir(self, agency: str) -> Path:
        return self.root / "traces" / agency

    def start(self, agency: str, name: str, timeout_s: float = 60.0) -> AgencyService:
        password = dev_password(topology.password_var(agency, name))
        port = free_port()
        env = {
            **os.environ,
            "AGENCY": agency,
            "DATABASE_URL": self.database_urls[(agency, name)],
            "NATS_URL": f"nats://{name}:{password}@127.0.0.1:{self.federation.port_of(agency)}",
            "ENSURE_STREAMS": "own",
            "HTTP_HOST": "127.0.0.1",
            "HTTP_PORT": str(port),
            "AUTH_TRUST_FILE": str(trust_file_for_tests()),
            "CLOCK_ADJUSTABLE": "true",
            "SECRETS_FILE": str(self.root / f"{agency}-{name}-secrets.json"),
            "JEMBATAN_TRACES_DIR": str(self.traces_dir(agency)),
            "OTEL_BSP_SCHEDULE_DELAY": "200",
            "OUTBOX_POLL_INTERVAL_S": "0.1",
        }
        if (revocations := topology.revocations_domain(agency)) is not None:
            env["REVOCATIONS_JS_DOMAIN"] = revocations  # the bucket is at the hub
        keys, public = self.index_keys()
        if name == "identity":
            env["IDENTITY_KEYS_FILE"] = str(keys)  # Kemnaker's index alone holds them
        if name == "registration":
            env["IDENTITY_PUBLIC_KEY_FILE"] = str(public)
        env.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)
        log_file = self.root / f"{agency}-{name}.log"
        executable = Path(sys.executable).parent / f"jembatan-{name}"
        with log_file.open("ab") as log:
            process = subprocess.Popen(
                [str(executable)], env=env, stdout=log, stderr=subprocess.STDOUT
            )
        service = AgencyService(agency, name, port, process, log_file)
        self.running[(agency, name)] = service
        self._wait_healthy(service, timeout_s)
        return service

    def index_keys(self) -> tuple[Path, Path]:
        """The national identity index's key file and public key file, made once."""
        keys = self.root / "identity" / "index-keys.json"
        public = self.root / "identity" / "index-public.key"
        index_keys(keys, public)
        return keys, public

    def _wait_healthy(self, service: AgencyService, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            if service.process.poll() is not None:
                tail = service.log_file.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{service.agency} {service.name} exited:\n{tail}")
            try:
                health = httpx.get(f"{service.url}/health", timeout=1)
                if health.status_code == 200 and health.json()["nats"] == "connected":
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                tail = service.log_file.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{service.agency} {service.name} not healthy:\n{tail}")
            time.sleep(0.1)

    def __getitem__(self, key: tuple[str, str]) -> AgencyService:
        return self.running[key]

    def stop(self) -> None:
        for service in self.running.values():
            if service.process.poll() is None:
                service.process.terminate()
        for service in self.running.values():
            try:
                service.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                service.process.kill()
                service.process.wait()
        self.running.clear()
