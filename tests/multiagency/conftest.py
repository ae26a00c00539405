"""A hub and its provinces, each a nats-server started from the committed configs in deploy/nats.

Only the ports and store directories are the tests' own: the client port and store directory by
command-line flags, the hub's leaf port by a small include file that wraps the committed hub.conf.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import nats
import pytest
from nats.aio.client import Client as NatsClient

from jembatan_kit.nats_server import NatsServerProcess, free_port

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
NATS_CONFIGS = DEPLOY / "nats"


def _load_topology() -> tuple[ModuleType, ModuleType, ModuleType]:
    """deploy/nats/topology.py (the data), its renderers' list of files and its hub streams,
    imported as `python deploy/nats/topology.py` imports them: from their own folder."""
    if str(NATS_CONFIGS) not in sys.path:
        sys.path.insert(0, str(NATS_CONFIGS))
    return (
        importlib.import_module("topology"),
        importlib.import_module("renderers.files"),
        importlib.import_module("renderers.hub_streams"),
    )


topology, rendered_files, hub_streams = _load_topology()

VIOLATION = re.compile(r'Permissions Violation for (Publish|Subscription) to "([^"]+)"', re.I)


def dev_password(variable: str) -> str:
    """Development credentials only: distinct per user, so one user's cannot open another's."""
    return f"dev-only-{variable.lower()}"


def _export_passwords(config: Path) -> None:
    for variable in set(re.findall(r"\$(JEMBATAN_NATS_[A-Z0-9_]+)", config.read_text())):
        os.environ[variable] = dev_password(variable)


@dataclass
class Client:
    """A nats-py connection that records the permission errors the server sends it."""

    nc: NatsClient
    denied: list[tuple[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def denied_subjects(self, operation: str) -> set[str]:
        """Lowercased: nats-py lowercases the server's error text, subject included."""
        return {subject for op, subject in self.denied if op == operation}


@dataclass
class Federation:
    root: Path
    leaf_port: int = field(default_factory=free_port)
    hub_port: int = field(default_factory=free_port)
    hub: NatsServerProcess | None = None
    provinces: dict[str, NatsServerProcess] = field(default_factory=dict)

    def start_hub(self) -> None:
        hub_conf = NATS_CONFIGS / "hub.conf"
        _export_passwords(hub_conf)
        wrapper = self.root / "hub-local.conf"
        wrapper.write_text(
            f'include "{os.path.relpath(hub_conf, self.root)}"\n'
            f'leafnodes {{ listen: "127.0.0.1:{self.leaf_port}" }}\n'
        )
        self.hub = NatsServerProcess(
            store_dir=self.root / "hub",
            port=self.hub_port,
            config_file=wrapper,
            log_file=self.root / "hub.log",
        ).start()

    def stop_hub(self) -> None:
        assert self.hub is not None
        self.hub.stop()
        self.hub = None

    def start_province(self, province: str) -> None:
        config = NATS_CONFIGS / f"{province}.conf"
        _export_passwords(config)
        leaf_password = dev_password(topology.password_var(province, "leaf"))
        os.environ[topology.hub_leaf_url_var(province)] = (
            f"nats-leaf://{province}-leaf:{leaf_password}@127.0.0.1:{self.leaf_port}"
        )
        self.provinces[province] = NatsServerProcess(
            store_dir=self.root / province,
            config_file=config,
            log_file=self.root / f"{province}.log",
        ).start()

    def stop(self) -> None:
        for server in self.provinces.values():
            server.stop()
        if self.hub is not None:
            self.hub.stop()

    def port_of(self, agency: str) -> int:
        if agency == topology.HUB_AGENCY:
            return self.hub_port
        return self.provinces[agency].port

    async def connect(self, agency: str, user: str, role: str = "", **options: object) -> Client:
        password = dev_password(topology.password_var(agency, role or user))
        client = Client(nc=NatsClient())

        async def on_error(exc: Exception) -> None:
            client.errors.append(str(exc))
            for operation, subject in VIOLATION.findall(str(exc)):
                client.denied.append((operation.lower(), subject.lower()))

        client.nc = await nats.connect(
            f"nats://127.0.0.1:{self.port_of(agency)}",
            user=user,
            password=password,
            error_cb=on_error,
            max_reconnect_attempts=0,
            **options,  # type: ignore[arg-type]
        )
        return client

    async def create_hub_streams(self) -> None:
        ops = await self.connect(topology.HUB_AGENCY, "ops")
        try:
            for path in sorted(NATS_CONFIGS.glob("hub-stream-*.json")):
                config = json.loads(path.read_text())
                # The committed files ask a copy on each of the hub's three nodes; this hub is one.
                config["num_replicas"] = 1
                reply = await ops.nc.request(
                    f"$JS.API.STREAM.CREATE.{config['name']}",
                    json.dumps(config).encode(),
                    timeout=5,
                )
                answer = json.loads(reply.data)
                if "error" in answer and answer["error"].get("err_code") != 10058:
                    raise RuntimeError(f"creating {config['name']}: {answer['error']}")
        finally:
            await ops.nc.close()


def start_federation(root: Path, provinces: tuple[str, ...]) -> Federation:
    """The hub and `provinces` as its leaves, each server's store under `root`; stop it after."""
    federation = Federation(root=root)
    try:
        federation.start_hub()
        for province in provinces:
            federation.start_province(province)
    except BaseException:
        federation.stop()
        raise
    return federation


@pytest.fixture(scope="module")
def federation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Federation]:
    """Kemnaker's hub with every province in the topology as a leaf."""
    federation = start_federation(tmp_path_factory.mktemp("federation"), topology.PROVINCES)
    yield federation
    federation.stop()


@pytest.fixture
def fresh_federation(tmp_path: Path) -> Iterator[Federation]:
    """A hub and kaltim only, for tests that stop and restart servers."""
    federation = start_federation(tmp_path, ("kaltim",))
    yield federation
    federation.stop()


@pytest.fixture
async def closing() -> AsyncIterator[list[Client]]:
    clients: list[Client] = []
    yield clients
    for client in clients:
        if not client.nc.is_closed:
            await client.nc.close()
