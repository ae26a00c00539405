"""`jembatan up` as an operator runs it: real processes killed with SIGKILL, restarted with
back-off, given up on when one crashes at every start, and stopped cleanly by SIGTERM."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from jembatan_cli.system import DEFAULT_PORTS, local_issuer
from jembatan_kit.auth import NATIONAL_AGENCY, bearer
from jembatan_kit.issuers import issue_token
from jembatan_kit.nats_server import free_ports, port_is_open

pytestmark = pytest.mark.timeout(240)

REPOSITORY = Path(__file__).resolve().parents[2]


def wait_until(check: Callable[[], bool], what: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout_s} s: {what}")
        time.sleep(0.2)


class RunningUp:
    """`jembatan up` in a process of its own, on free ports, with its data in `data_dir`."""

    def __init__(self, data_dir: Path, services: tuple[str, ...], *extra: str) -> None:
        self.data_dir = data_dir
        self.nats_port, self.base_port = self._ports(len(services))
        self.urls = {
            name: f"http://127.0.0.1:{DEFAULT_PORTS[name] - 8001 + self.base_port}"
            for name in services
        }
        self.output = data_dir / "up.out"
        data_dir.mkdir(parents=True, exist_ok=True)
        with self.output.open("wb") as out:
            self.process = subprocess.Popen(
                [
                    str(Path(sys.executable).parent / "jembatan"),
                    "up",
                    "--data-dir",
                    str(data_dir),
                    "--nats-port",
                    str(self.nats_port),
                    "--base-port",
                    str(self.base_port),
                    *(arg for name in services for arg in ("--only", name)),
                    *extra,
                ],
                cwd=REPOSITORY,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.seen_children: dict[int, str] = {}

    @staticmethod
    def _ports(consecutive: int) -> tuple[int, int]:
        """A NATS port and the first of `consecutive` free service ports."""
        for _ in range(20):
            nats_port, base = free_ports(2)
            if base + consecutive < 65536 and not any(
                port_is_open(base + offset) for offset in range(1, consecutive)
            ):
                return nats_port, base
        raise RuntimeError("no run of free ports found")

    def children(self) -> dict[int, str]:
        """The processes `up` runs now: pid and command line."""
        found: dict[int, str] = {}
        try:
            listed = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text()
        except FileNotFoundError:
            return found
        for pid in map(int, listed.split()):
            try:
                command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            except FileNotFoundError:
                continue
            found[pid] = command
        self.seen_children |= found
        return found

    def pid_of(self, needle: str) -> int:
        matches = [pid for pid, command in self.children().items() if needle in command]
        assert len(matches) == 1, f"{needle} among {self.children()}"
        return matches[0]

    def health(self, name: str) -> dict[str, Any]:
        try:
            response = httpx.get(f"{self.urls[name]}/health", timeout=2)
        except httpx.HTTPError:
            return {}
        body: dict[str, Any] = response.json() if response.status_code == 200 else {}
        return body

    def all_ok(self) -> bool:
        return all(self.health(name).get("status") == "ok" for name in self.urls)

    def supervisor_log(self) -> str:
        path = self.data_dir / "logs" / "supervisor.log"
        return path.read_text() if path.exists() else ""

    def operator(self) -> dict[str, str]:
        return bearer(issue_token(local_issuer(self.data_dir, NATIONAL_AGENCY), "operator", []))

    def wait_started(self) -> None:
        """Until `up` has started everything (and supervises) and every service is ok."""
        wait_until(
            lambda: (
                self.process.poll() is not None
                or ("Press Ctrl-C" in self.output.read_text() and self.all_ok())
            ),
            "every service healthy",
            timeout_s=90,
        )
        assert self.process.poll() is None, self.output.read_text()

    def clean_up(self) -> None:
        """Stop `up` and anything it left behind, whatever the test did."""
        self.children()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for pid, command in self.seen_children.items():
            # Only a process still running the command it ran for `up` (a pid may be reused).
            with contextlib.suppress(FileNotFoundError, ProcessLookupError):
                now = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
                if now == command:
                    os.kill(pid, signal.SIGKILL)


@pytest.fixture
def start_up(tmp_path: Path) -> Iterator[Callable[..., RunningUp]]:
    started: list[RunningUp] = []

    def start(services: tuple[str, ...], *extra: str) -> RunningUp:
        up = RunningUp(tmp_path / "var", services, *extra)
        started.append(up)
        up.wait_started()
        return up

    yield start
    for up in started:
        up.clean_up()


def candidate(serial: int) -> dict[str, str]:
    """A registration of a woman born 5 June 2004 in Samarinda; NIKs differ by serial."""
    return {
        "agency": "kaltim",
        "nik": f"647105450604{serial:04d}",
        "full_name": "Siti Rahmawati",
        "birth_date": "2004-06-05",
        "sex": "F",
        "education": "SMK",
        "track": "TITP",
        "preferred_sector": "caregiver",
    }


def register_and_see_enrolled(up: RunningUp, serial: int) -> None:
    """A registration travels over NATS to training, which enrols the candidate."""
    headers = up.operator()
    response = httpx.post(
        f"{up.urls['registration']}/candidates", json=candidate(serial), headers=headers
    )
    assert response.status_code == 201, response.text
    candidate_id = response.json()["candidate_id"]
    wait_until(
        lambda: (
            httpx.get(
                f"{up.urls['training']}/candidates/{candidate_id}", headers=headers
            ).status_code
            == 200
        ),
        f"candidate {serial} enrolled by training",
        timeout_s=30,
    )


def test_up_restarts_a_killed_service_and_nats_server_then_stops_cleanly(
    start_up: Callable[..., RunningUp],
) -> None:
    up = start_up(("registration", "training"))
    register_and_see_enrolled(up, 1)

    # A demo's clock, moved forward, stays moved across the restart.
    moved_to = datetime.now(UTC) + timedelta(days=60)
    moved = httpx.put(
        f"{up.urls['training']}/clock",
        json={"now": moved_to.isoformat()},
        headers=up.operator(),
    )
    assert moved.status_code == 200, moved.text

    killed = up.pid_of("jembatan-training")
    os.kill(killed, signal.SIGKILL)
    wait_until(lambda: "training answers again" in up.supervisor_log(), "training back")
    log = up.supervisor_log()
    assert "training killed by SIGKILL; restarting it in 1 s" in log
    assert "restarted training (pid" in log
    assert up.pid_of("jembatan-training") != killed
    assert "training killed by SIGKILL" in up.output.read_text()  # reported on the terminal
    status = up.health("training")
    assert status["status"] == "ok"
    assert datetime.fromisoformat(status["now"]) >= moved_to

    os.kill(up.pid_of("nats-server"), signal.SIGKILL)
    wait_until(lambda: "nats-server answers again" in up.supervisor_log(), "nats-server back")
    assert "nats-server killed by SIGKILL; restarting it in 1 s" in up.supervisor_log()
    wait_until(up.all_ok, "services reconnected to the restarted nats-server", timeout_s=30)
    register_and_see_enrolled(up, 2)

    children = set(up.children())
    up.process.send_signal(signal.SIGTERM)
    assert up.process.wait(timeout=30) == 0, up.output.read_text()
    assert "Stopped." in up.output.read_text()
    for pid in children:
        assert not Path(f"/proc/{pid}").exists(), f"{pid} outlived up"


def test_up_gives_up_on_a_service_that_crashes_at_every_start(
    start_up: Callable[..., RunningUp],
) -> None:
    up = start_up(("registration",), "--restart-limit", "3", "--restart-window", "120")
    children = set(up.children())
    # Its database is no database any more: every start fails while migrating it.
    database = up.data_dir / "registration.db"
    for suffix in ("-wal", "-shm"):
        database.with_name(database.name + suffix).unlink(missing_ok=True)
    database.write_bytes(b"not a database " * 1000)
    os.kill(up.pid_of("jembatan-registration"), signal.SIGKILL)

    assert up.process.wait(timeout=120) == 1, up.output.read_text()
    output = up.output.read_text()
    gave_up = "registration exited with status 3: it crashed 3 times within 2 minutes; giving up"
    assert output.count(gave_up) == 1
    assert gave_up in up.supervisor_log()
    assert up.supervisor_log().count("restarted registration") == 2
    for pid in children:
        assert not Path(f"/proc/{pid}").exists(), f"{pid} outlived up"
