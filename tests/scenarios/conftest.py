"""One local system (nats-server and the services as processes, SQLite files in a temporary
folder) for every test in this folder. Its services listen on consecutive free ports, as the
CLI's --base-port expects."""

from __future__ import annotations

import random
import socket
from collections.abc import Iterator

import pytest

from jembatan_cli.scenario_commands import FIRST_PORT, SCENARIO_SERVICES, service_urls
from jembatan_cli.system import DEFAULT_PORTS, SERVICES, LocalSystem, local_issuers
from jembatan_kit.issuers import LocalIssuer
from jembatan_kit.nats_server import free_port


def free_port_block(size: int, attempts: int = 50) -> int:
    """The first of `size` consecutive ports that can all be bound now."""
    for _ in range(attempts):
        base = random.randrange(20_000, 60_000 - size)
        sockets = []
        try:
            for port in range(base, base + size):
                sock = socket.socket()
                sockets.append(sock)
                sock.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
    raise RuntimeError(f"no {size} consecutive free ports found")


@pytest.fixture(scope="session")
def scenario_system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalSystem]:
    span = max(DEFAULT_PORTS.values()) - FIRST_PORT + 1
    base = free_port_block(span)
    local = LocalSystem(
        data_dir=tmp_path_factory.mktemp("scenario-system"),
        nats_port=free_port(),
        ports={name: DEFAULT_PORTS[name] - FIRST_PORT + base for name in SERVICES},
    )
    with local:
        yield local


@pytest.fixture(scope="session")
def base_port(scenario_system: LocalSystem) -> int:
    return min(service.port for service in scenario_system.services.values())


@pytest.fixture(scope="session")
def urls(base_port: int) -> dict[str, str]:
    return {name: url for name, url in service_urls(base_port).items() if name in SCENARIO_SERVICES}


@pytest.fixture(scope="session")
def issuers(scenario_system: LocalSystem) -> dict[str, LocalIssuer]:
    """The agencies' issuers `jembatan up` made for the system, by agency."""
    return local_issuers(scenario_system.data_dir)
