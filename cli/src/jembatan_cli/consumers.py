"""Each service's durable consumers, read from the service's own composition root: what its
`bootstrap.build_runtime` wires is what the NATS users are allowed (the embedded server's,
`system.render_authorization`, and the federated configs, deploy/nats/topology.py) and what the
AsyncAPI documents list. Nothing else keeps a list of them.

The runtime is built in an interpreter of its own: building one installs the process's tracer
provider, instruments SQLAlchemy and warns about its missing trust list, none of which the
caller (`jembatan up`, a test, the deploy tooling) should inherit.

    python -m jembatan_cli.consumers training placement    # the JSON the caller reads
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import subprocess
import sys
import typing
from collections.abc import Iterable

from jembatan_contracts import CATALOGUE
from jembatan_kit.nats_permissions import Consumes


class ServiceNotInstalled(Exception):
    pass


class ConsumersUnreadable(Exception):
    """Reading the services' composition roots failed; the message carries what it printed."""


_read: dict[str, tuple[Consumes, ...]] = {}
"""What this process has read already: a service's wiring does not change while it runs."""


def consumers_of(service: str) -> tuple[Consumes, ...]:
    """The service's durable consumers, as its composition root wires them."""
    return consumers_by_service((service,))[service]


def consumers_by_service(services: Iterable[str]) -> dict[str, tuple[Consumes, ...]]:
    """Each of `services`' durable consumers, in the order given, the ones not read yet in one
    interpreter. Raises ServiceNotInstalled for a service this environment lacks."""
    wanted = tuple(dict.fromkeys(services))
    missing = [service for service in wanted if service not in _read]
    if missing:
        _read.update(_read_elsewhere(missing))
    return {service: _read[service] for service in wanted}


def _read_elsewhere(services: list[str]) -> dict[str, tuple[Consumes, ...]]:
    environment = {"PATH": os.environ.get("PATH", ""), "OTEL_SDK_DISABLED": "true"}
    if "PYTHONPATH" in os.environ:
        environment["PYTHONPATH"] = os.environ["PYTHONPATH"]
    result = subprocess.run(
        [sys.executable, "-m", __name__, *services],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or not lines:
        raise ConsumersUnreadable(
            f"reading the consumers of {', '.join(services)} failed:\n{result.stderr}"
        )
    answer = json.loads(lines[-1])
    if answer["not_installed"]:
        raise ServiceNotInstalled("; ".join(answer["not_installed"].values()))
    events = {event.name: event for event in CATALOGUE}
    return {
        service: tuple(Consumes(durable, events[event]) for durable, event in consumers)
        for service, consumers in answer["consumers"].items()
    }


def _wired_by(service: str) -> list[tuple[str, str]]:
    """(durable, event name) of each consumer the service's `build_runtime` registers."""
    try:
        bootstrap = importlib.import_module(f"jembatan_{service}.bootstrap")
    except ModuleNotFoundError as exc:
        raise ServiceNotInstalled(
            f"the {service} service is not installed here; run `uv sync` in the repository"
        ) from exc
    build_runtime = getattr(bootstrap, "build_runtime", None)
    if build_runtime is None:
        raise ServiceNotInstalled(f"the {service} service has no build_runtime to read")
    settings_type = typing.get_type_hints(build_runtime)["settings"]
    runtime = build_runtime(settings_type(database_url="sqlite+aiosqlite:///:memory:"))
    return [
        (consumer.handler.durable, consumer.handler.event_type.name)
        for consumer in runtime.consumers
    ]


def main(services: list[str]) -> None:
    # Building a second service's runtime in one process instruments SQLAlchemy again: harmless.
    logging.getLogger("opentelemetry.instrumentation.instrumentor").setLevel(logging.ERROR)
    consumers: dict[str, list[tuple[str, str]]] = {}
    not_installed: dict[str, str] = {}
    for service in services:
        try:
            consumers[service] = _wired_by(service)
        except ServiceNotInstalled as exc:
            not_installed[service] = str(exc)
    print(json.dumps({"consumers": consumers, "not_installed": not_installed}))


if __name__ == "__main__":
    main(sys.argv[1:])
