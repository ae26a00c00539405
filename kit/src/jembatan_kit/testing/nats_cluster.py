"""A JetStream cluster of real nats-server processes on loopback, for fault tests and benchmarks.

Each node has its own client port, cluster port and store directory, and routes to every node
(itself included, as nats-server expects of a static route list), the shape of the hub's
StatefulSet (deploy/nats/hub-cluster.conf). A node can be killed with SIGKILL and started again
on the same ports and store, as Kubernetes restarts a pod on its volume.
"""

from __future__ import annotations

import asyncio
import shutil
import signal
import time
from collections.abc import Sequence
from pathlib import Path

import nats
import nats.errors
from nats.js.api import StreamConfig
from nats.js.errors import APIError

from jembatan_kit.nats_server import NatsServerProcess, free_ports


class NatsCluster:
    """`size` nats-server nodes named `<name>-0`, `<name>-1`, ... forming one JetStream cluster.

    `jetstream_options` go into each node's `jetstream {}` block (e.g. `sync_interval: always`).
    """

    def __init__(
        self,
        base_dir: Path,
        size: int = 3,
        name: str = "hub",
        jetstream_options: Sequence[str] = (),
    ) -> None:
        self.base_dir = base_dir
        self.size = size
        self.name = name
        self.jetstream_options = tuple(jetstream_options)
        self.nodes: list[NatsServerProcess] = []
        self._configure()

    def _configure(self) -> None:
        """Choose every node's ports (in one call, so no two are the same) and write its config."""
        ports = free_ports(2 * self.size)
        client_ports, cluster_ports = ports[: self.size], ports[self.size :]
        routes = ", ".join(f"nats-route://127.0.0.1:{port}" for port in cluster_ports)
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self.nodes = []
        for n in range(self.size):
            config = self.base_dir / f"{self.name}-{n}.conf"
            config.write_text(
                f"server_name: {self.name}-{n}\n"
                f"jetstream {{ {' '.join(self.jetstream_options)} }}\n"
                "cluster {\n"
                f"  name: {self.name}\n"
                f"  listen: 127.0.0.1:{cluster_ports[n]}\n"
                f"  routes: [{routes}]\n"
                "}\n"
            )
            self.nodes.append(
                NatsServerProcess(
                    store_dir=self.base_dir / f"{self.name}-{n}",
                    port=client_ports[n],
                    config_file=config,
                    log_file=self.base_dir / f"{self.name}-{n}.log",
                )
            )

    @property
    def urls(self) -> list[str]:
        return [node.url for node in self.nodes]

    @property
    def nats_url(self) -> str:
        """Every node, as `NATS_URL` names a cluster."""
        return ",".join(self.urls)

    def server_name(self, n: int) -> str:
        return f"{self.name}-{n}"

    def index_of(self, server_name: str) -> int:
        return int(server_name.rsplit("-", 1)[1])

    def start(self, attempts: int = 3) -> NatsCluster:
        """Start every node. A port taken meanwhile by another process (ports are chosen free,
        then let go until the server binds them) means new ports for all and another try."""
        for attempt in range(attempts):
            try:
                for node in self.nodes:
                    node.start()
                return self
            except RuntimeError:
                self.stop()
                if attempt == attempts - 1:
                    raise
                for node in self.nodes:  # a fresh start: no meta state of the failed one
                    shutil.rmtree(node.store_dir, ignore_errors=True)
                self._configure()
            except BaseException:
                self.stop()
                raise
        return self

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def kill(self, n: int) -> None:
        """SIGKILL node `n`: no flush, no goodbye to its peers, as a lost machine."""
        process = self.nodes[n].process
        assert process is not None, f"node {n} is not running"
        process.send_signal(signal.SIGKILL)
        process.wait()
        self.nodes[n].stop()  # reaps what is left of the handle

    def restart(self, n: int) -> None:
        """Start node `n` again on its ports and store directory."""
        self.nodes[n].start()

    async def wait_until_ready(self, timeout_s: float = 30.0) -> None:
        """Until a stream with a copy on every node can be placed: the nodes have met and
        elected a meta leader. Creates and deletes a throwaway stream to find out."""
        deadline = time.monotonic() + timeout_s
        client = await nats.connect(self.urls, max_reconnect_attempts=-1)
        probe = StreamConfig(
            name="CLUSTER_READY", subjects=["cluster.ready"], num_replicas=len(self.nodes)
        )
        try:
            while True:
                js = client.jetstream(timeout=2)
                try:
                    await js.add_stream(probe)
                    await js.delete_stream("CLUSTER_READY")
                    return
                except (APIError, nats.errors.Error, TimeoutError) as exc:
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"no JetStream cluster in {timeout_s}s: {exc}") from exc
                await asyncio.sleep(0.2)
        finally:
            await client.close()

    def __enter__(self) -> NatsCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
