"""What the fault suite (`tests/faults`) and the soak (`bench/soak.py`) share: the whole system as
real processes that can be killed and restarted, journeys driven through the HTTP APIs by the
benchmark's driver while it happens, and `jembatan check` until the invariants hold again.

    system = ChaosSystem.on_free_ports(data_dir, extra_env=QUIET).start()
    outcome = await journeys_under_fault(system, 200, kill_and_restart("training"))
    assert outcome.violations == []
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from benchmark.driver import Driver
from benchmark.system import bench_token

from jembatan_cli.check import Violation, check_system, embedded_database_urls
from jembatan_cli.system import SERVICES, LocalSystem, ServiceProcess
from jembatan_kit.nats_server import free_ports

QUIET = {"LOG_LEVEL": "WARNING", "OTEL_SDK_DISABLED": "true", "JEMBATAN_TRACES_DIR": ""}
"""Settings that keep the processes' cost to the journeys (no tracing, warnings only)."""


class ChaosSystem(LocalSystem):
    """The local system, whose processes a test kills (SIGKILL: no clean-up of any kind) and
    starts again with the same environment, NATS on the same store and port."""

    def kill(self, name: str) -> None:
        service = self.services[name]
        service.process.send_signal(signal.SIGKILL)
        service.process.wait()

    def restart(self, name: str, timeout_s: float = 60.0) -> None:
        self.services[name] = self.spawn(name)
        self.wait_healthy_one(name, timeout_s)

    def wait_healthy_one(self, name: str, timeout_s: float) -> None:
        """As `wait_healthy`, for one service, leaving `services` as it is: the other threads
        of a test or the soak read it meanwhile."""
        service = self.services[name]
        deadline = time.monotonic() + timeout_s
        while not self.ready(service):
            if service.process.poll() is not None:
                tail = service.log_file.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"{name} exited at its restart; its log ends:\n{tail}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} not healthy {timeout_s} s after its restart")
            time.sleep(0.1)

    def kill_nats(self) -> None:
        assert self.nats is not None and self.nats.process is not None
        self.nats.process.send_signal(signal.SIGKILL)
        self.nats.process.wait()
        if self.nats.process.stderr:
            self.nats.process.stderr.close()
        self.nats.process = None

    def restart_nats(self) -> None:
        assert self.nats is not None
        self.nats.start()

    def pids(self) -> dict[str, int]:
        pids = {name: service.process.pid for name, service in self.services.items()}
        if self.nats is not None and self.nats.process is not None:
            pids["nats-server"] = self.nats.process.pid
        return pids

    def sample(self) -> dict[str, tuple[int, float, int]]:
        """Each process's pid, resident memory (MB) and open file descriptors, now."""
        sampled = {}
        for name, pid in self.pids().items():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
                files = len(os.listdir(f"/proc/{pid}/fd"))
            except OSError:
                continue  # ended a moment ago
            rss_kb = next(
                int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")
            )
            sampled[name] = (pid, rss_kb / 1024, files)
        return sampled


@dataclass
class ReplicatedSystem(ChaosSystem):
    """Every service twice, both replicas on the service's one database (PostgreSQL), as
    Kubernetes runs them. The driver speaks to the first replica; the second shares the
    consumers, the relay and the scheduler."""

    database_urls: dict[str, str] = field(default_factory=dict)
    replicas: dict[str, ServiceProcess] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, url in self.database_urls.items():
            self.service_env.setdefault(name, {})["DATABASE_URL"] = url

    def start_replicas(self, timeout_s: float = 120.0) -> None:
        for name, port in zip(SERVICES, free_ports(len(SERVICES)), strict=True):
            self.replicas[name] = self.spawn(name, port=port)
        deadline = time.monotonic() + timeout_s
        for name, replica in self.replicas.items():
            while not self.ready(replica):
                if replica.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the second replica of {name} did not start")
                time.sleep(0.1)

    def kill_replica(self, name: str) -> None:
        self.replicas[name].process.send_signal(signal.SIGKILL)
        self.replicas[name].process.wait()

    def stop(self) -> None:
        for replica in self.replicas.values():
            if replica.process.poll() is None:
                replica.process.terminate()
        for replica in self.replicas.values():
            try:
                replica.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                replica.process.kill()
                replica.process.wait()
        self.replicas.clear()
        super().stop()


def running(data_dir: Path, **env: str) -> Iterator[ChaosSystem]:
    """A started system, stopped when the generator closes (a pytest fixture's body)."""
    system = ChaosSystem.on_free_ports(data_dir, extra_env={**QUIET, **env})
    system.start()
    try:
        yield system
    finally:
        system.stop()


def database_urls(system: LocalSystem) -> dict[str, str]:
    if isinstance(system, ReplicatedSystem):
        return system.database_urls
    return embedded_database_urls(system.data_dir)


async def violations_of(system: LocalSystem) -> list[Violation]:
    return await check_system(database_urls(system), system.nats_url)


async def until_sound(
    system: LocalSystem,
    timeout_s: float = 90.0,
    tolerated: Callable[[Violation], bool] = lambda violation: False,
) -> tuple[list[Violation], float]:
    """Run the checker until every invariant holds (the relays and consumers catching up), but
    for violations a test expects (`tolerated`), or `timeout_s` has passed: the last violations
    found (none: sound) and the seconds it took."""
    started = time.monotonic()
    while True:
        try:
            found = await violations_of(system)
        except Exception as exc:  # a database busy or NATS restarting: ask again
            found = [Violation("check", f"could not read: {exc!r}")]
        settled = all(tolerated(violation) for violation in found)
        if settled or time.monotonic() - started > timeout_s:
            return found, time.monotonic() - started
        await asyncio.sleep(1.0)


Fault = Callable[["Run"], Awaitable[None]]
"""Does something to the system while journeys run; returns once it has recovered it."""


@dataclass
class Run:
    """One batch of journeys under a fault, and what happened."""

    system: ChaosSystem
    driver: Driver
    recovered_at: float | None = None
    """When the fault's last step (a restart, a lock released) was done (monotonic)."""
    notes: list[str] = field(default_factory=list)

    async def restart(self, name: str) -> None:
        """Restart a killed service; financing's clock is given back (in case it does not keep
        it over a restart), so its scheduler announces the instalments the journeys wait for."""
        await asyncio.to_thread(self.system.restart, name)
        if name == "financing" and self.driver.clock_set is not None:
            await self.driver.move_clock(self.driver.clock_set)


@dataclass
class Outcome:
    journeys: int
    seconds: float
    recovery_s: float | None
    """From the fault's end until every journey has its first RepaymentDue and the invariants
    hold; None when no fault was injected."""
    violations: list[Violation]
    notes: list[str]

    def summary(self) -> str:
        recovery = f"{self.recovery_s:.1f} s" if self.recovery_s is not None else "n/a"
        return (
            f"{self.journeys} journeys in {self.seconds:.1f} s; recovered in {recovery}; "
            f"{len(self.violations)} violation(s)"
            + "".join(f"; {note}" for note in self.notes)
            + "".join(f"\n  {v.invariant}: {v}" for v in self.violations)
        )


def token_for(system: LocalSystem) -> str:
    return bench_token(system.data_dir, "chaos")


async def journeys_under_fault(
    system: ChaosSystem,
    count: int,
    fault: Fault | None = None,
    when: Callable[[Driver], bool] = lambda driver: True,
    first_candidate: int = 0,
    chunk: int = 50,
    timeout_s: float = 150.0,
    settle_s: float = 90.0,
    tolerated: Callable[[Violation], bool] = lambda violation: False,
) -> Outcome:
    """Drive `count` journeys to their first RepaymentDue; once `when(driver)` holds, inject
    `fault` (which recovers the system before it returns); then wait until the invariants hold.
    Journeys not all finished within `timeout_s` are reported in the outcome's notes, with the
    events the driver saw, so a test's own timeout (longer) never cuts the report short."""
    driver = Driver(system, count, chunk, token_for(system), first_candidate=first_candidate)
    run = Run(system, driver)
    started = time.monotonic()
    journeys = asyncio.create_task(asyncio.wait_for(driver.run(), timeout_s))

    async def inject() -> None:
        if fault is None:
            return
        while not when(driver) and not journeys.done():
            await asyncio.sleep(0.05)
        await fault(run)
        run.recovered_at = time.monotonic()

    injecting = asyncio.create_task(inject())
    try:
        await asyncio.gather(journeys, injecting)
    except TimeoutError:
        seen = ", ".join(f"{event} {int(n)}" for event, (n, _, _) in sorted(driver.seen.items()))
        run.notes.append(
            f"only {len(driver.journeys.due_at)} of {count} journeys done in {timeout_s:.0f} s "
            f"(events seen: {seen})"
        )
        settle_s = min(settle_s, 10.0)  # what is missing will not come: report it
    finally:
        for task in (journeys, injecting):
            task.cancel()
        await asyncio.gather(journeys, injecting, return_exceptions=True)
        await driver.close()
    violations, _ = await until_sound(system, settle_s, tolerated)
    ended = time.monotonic()
    return Outcome(
        journeys=len(driver.journeys.due_at),
        seconds=ended - started,
        recovery_s=None if run.recovered_at is None else ended - run.recovered_at,
        violations=violations,
        notes=run.notes,
    )


def kill_and_restart(name: str, down_s: float = 2.0) -> Fault:
    """kill -9 of a service, down for `down_s`, restarted with the same environment."""

    async def fault(run: Run) -> None:
        run.system.kill(name)
        await asyncio.sleep(down_s)
        began = time.monotonic()
        await run.restart(name)
        run.notes.append(f"{name} answered {time.monotonic() - began:.1f} s after its restart")

    return fault


def kill_nats_and_restart(down_s: float = 8.0) -> Fault:
    """kill -9 of nats-server, down for `down_s`, started again on the same store and port."""

    async def fault(run: Run) -> None:
        run.system.kill_nats()
        await asyncio.sleep(down_s)
        await asyncio.to_thread(run.system.restart_nats)

    return fault


def seen(event: str, at_least: int) -> Callable[[Driver], bool]:
    """Once the driver has seen `at_least` events of a kind (e.g. `financing.loan.opened`) on
    the bus: a service is killed as the events it consumes flow, so it has work in flight."""
    return lambda driver: driver.seen.get(event, [0])[0] >= at_least


def registered(at_least: int) -> Callable[[Driver], bool]:
    return lambda driver: len(driver.journeys.registered_at) >= at_least


BUSY = {
    "training": "registration.candidate.registered",
    "placement": "training.candidate.ready",
    "financing": "placement.candidate.placed",
    "dashboard": "financing.loan.opened",
}
"""For each consuming service, an event it consumes: killed as these flow, it has work in
flight (a batch being handled, outbox rows being relayed)."""
