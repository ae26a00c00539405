"""What the benchmark measures besides the journeys (the backlog each consumer drains is in
`capacity`): the no-op consumer's rates, the registration API's latency at a fixed rate, the
hop latency and each service's rate from the outbox and inbox rows, each process's CPU time and
peak memory."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import nats
from nats.js.api import StreamConfig

from jembatan_cli.system import LocalSystem

from .candidates import candidate_rows
from .system import children_of, proc_stat, processes

NOOP_CONSUMER = Path(__file__).resolve().parents[1] / "noop_consumer.py"
"""The yardstick, run in its own process."""


NOOP_HANDLERS = ("message", "batch")
"""The no-op consumer's two shapes (`bench/noop_consumer.py`): a handler per message, the
yardstick; a handler per fetched batch that only acks, the bus's ceiling."""


async def noop_consumer_rates(
    nats_url: str, count: int, batch_size: int
) -> dict[str, dict[str, Any]]:
    """Publish `count` small messages to a scratch stream and time the no-op consumer on them,
    in each of its shapes (each its own durable, one after the other)."""
    client = await nats.connect(nats_url)
    js = client.jetstream()
    stream, subject = "BENCHNOOP", "bench.noop.event"
    await js.add_stream(StreamConfig(name=stream, subjects=["bench.noop.>"]))
    payload = json.dumps({"event_id": str(uuid.uuid4()), "journey_id": str(uuid.uuid4())}).encode()
    rates = {}
    try:
        for start in range(0, count, 500):
            await asyncio.gather(
                *(js.publish(subject, payload) for _ in range(min(500, count - start)))
            )
        for handler in NOOP_HANDLERS:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                str(NOOP_CONSUMER),
                f"--nats-url={nats_url}",
                f"--stream={stream}",
                f"--subject={subject}",
                f"--count={count}",
                f"--handler={handler}",
                f"--batch-size={batch_size}",
                stdout=subprocess.PIPE,
            )
            out, _ = await process.communicate()
            if process.returncode != 0:
                raise RuntimeError(f"the no-op consumer ({handler}) failed")
            rates[handler] = dict(json.loads(out.decode().strip().splitlines()[-1]))
    finally:
        await js.delete_stream(stream)
        await client.close()
    return rates


async def registration_latency(url: str, token: str, rate: float, seconds: float) -> dict[str, Any]:
    """Single registrations (`POST /candidates`) sent at a fixed rate, open loop.

    The client is aiohttp's: it shares the machine's two cores with the services, and costs a
    request a fraction of what httpx's does, so the figure is the service's, not the client's."""
    rows = candidate_rows(int(rate * seconds), first_district=90)
    latencies: list[float] = []
    failures = 0
    async with aiohttp.ClientSession(
        base_url=url,
        headers={"authorization": f"Bearer {token}"},
        timeout=aiohttp.ClientTimeout(total=30),
    ) as client:

        async def one(row: dict[str, str]) -> None:
            nonlocal failures
            began = time.perf_counter()
            async with client.post("/candidates", json={"agency": "kaltim", **row}) as response:
                await response.read()
            latencies.append(time.perf_counter() - began)
            failures += response.status != 201

        tasks = []
        started = time.perf_counter()
        for index, row in enumerate(rows):
            await asyncio.sleep(max(0.0, started + index / rate - time.perf_counter()))
            tasks.append(asyncio.create_task(one(row)))
        await asyncio.gather(*tasks)
    return {
        "rate": rate,
        "requests": len(rows),
        "failures": failures,
        "p50_ms": percentile(latencies, 50) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
    }


def percentile(values: Iterable[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))
    return ordered[index]


def consumer_figures(
    staged: dict[uuid.UUID, datetime],
    handled: list[tuple[str, str, uuid.UUID, datetime]],
    sent: dict[uuid.UUID, datetime] | None = None,
) -> tuple[dict[str, Any], dict[str, dict[str, float]]]:
    """The hop latency (outbox row to inbox row) with its two parts, staged to published by the
    relay (`sent_at`) and published to handled, and the slowest consumers by their p99; each
    service's rate of events handled."""
    sent = sent or {}
    hops: list[float] = []
    relayed: list[float] = []
    delivered: list[float] = []
    by_consumer: dict[str, list[float]] = defaultdict(list)
    for _service, consumer, event_id, processed_at in handled:
        if event_id not in staged:
            continue
        hops.append((processed_at - staged[event_id]).total_seconds())
        by_consumer[consumer].append(hops[-1])
        if event_id in sent:
            relayed.append((sent[event_id] - staged[event_id]).total_seconds())
            delivered.append((processed_at - sent[event_id]).total_seconds())
    hop = {
        "hops": len(hops),
        "p50_ms": percentile(hops, 50) * 1000,
        "p99_ms": percentile(hops, 99) * 1000,
        "relay_p50_ms": percentile(relayed, 50) * 1000,
        "relay_p99_ms": percentile(relayed, 99) * 1000,
        "delivery_p50_ms": percentile(delivered, 50) * 1000,
        "delivery_p99_ms": percentile(delivered, 99) * 1000,
        "slowest_consumers_p99_ms": dict(
            sorted(
                ((name, percentile(values, 99) * 1000) for name, values in by_consumer.items()),
                key=lambda item: -item[1],
            )[:4]
        ),
    }
    by_service: dict[str, list[datetime]] = defaultdict(list)
    for service, _consumer, _event_id, processed_at in handled:
        by_service[service].append(processed_at)
    rates = {}
    for service, moments in by_service.items():
        moments.sort()
        span = (moments[-1] - moments[0]).total_seconds() or 1.0
        per_second = Counter(int(m.timestamp()) for m in moments)
        busiest = max(
            sum(per_second.get(second + offset, 0) for offset in range(3)) / 3
            for second in per_second
        )
        rates[service] = {
            "events": len(moments),
            "mean_per_second": len(moments) / span,
            "peak_per_second": busiest,
        }
    return hop, rates


def peak_rss_mb(system: LocalSystem) -> dict[str, float]:
    peaks = {}
    for name, pid in processes(system).items():
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peaks[name] = int(line.split()[1]) / 1024
    return peaks


def cpu_seconds(system: LocalSystem, postgres_pid: int | None = None) -> dict[str, float]:
    """User + system CPU time each process has used so far; with the postmaster of a private
    PostgreSQL cluster, the server's too: its own, its ended backends' and its live ones'."""
    ticks = os.sysconf("SC_CLK_TCK")
    used = {}
    for name, pid in processes(system).items():
        fields = proc_stat(pid)
        used[name] = (int(fields[11]) + int(fields[12])) / ticks
    if postgres_pid is not None:
        fields = proc_stat(postgres_pid)
        server = sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
        for child in children_of(postgres_pid):
            with contextlib.suppress(OSError, IndexError):
                fields = proc_stat(child)
                server += int(fields[11]) + int(fields[12])
        used["postgres"] = server / ticks
    used["bench driver"] = sum(os.times()[:2])
    return used


def written_bytes(system: LocalSystem) -> dict[str, int]:
    """Bytes each process has caused to be written to storage so far (`write_bytes` of
    /proc/<pid>/io: what reaches the disk, not what sits in a cache and is overwritten)."""
    written = {}
    for name, pid in processes(system).items():
        for line in Path(f"/proc/{pid}/io").read_text().splitlines():
            if line.startswith("write_bytes:"):
                written[name] = int(line.split()[1])
    return written


def files_mb(data_dir: Path) -> dict[str, float]:
    """What the run left on disk in `data_dir`: the SQLite databases, their write-ahead logs
    and the NATS store, in MB."""
    sizes: dict[str, float] = defaultdict(float)
    for path in data_dir.rglob("*"):
        if not path.is_file():
            continue
        if path.name.endswith((".db", ".db-wal", ".db-shm")):
            kind = "write-ahead logs" if not path.name.endswith(".db") else "databases"
        elif "jetstream" in path.parts:
            kind = "NATS store"
        else:
            kind = "other (logs, traces)"
        sizes[kind] += path.stat().st_size / 1024 / 1024
    return dict(sizes)


PROFILE_SUFFIXES = {"flamegraph": "svg", "raw": "txt", "speedscope": "json"}
"""py-spy's output formats: a flame graph; collapsed stacks, one line a stack with its samples;
speedscope's JSON."""


class Profiles:
    """py-spy attached to each service while the journeys run: a flame graph per service in
    `directory` (`./dev bench --profile DIR`), to find where a journey's CPU goes."""

    def __init__(self, directory: Path, system: LocalSystem, form: str = "flamegraph") -> None:
        self._directory = directory
        self._system = system
        self._form = form
        self._spies: list[subprocess.Popen[bytes]] = []

    def __enter__(self) -> Profiles:
        self._directory.mkdir(parents=True, exist_ok=True)
        spy = Path(sys.executable).with_name("py-spy")
        for name, service in self._system.services.items():
            self._spies.append(
                subprocess.Popen(
                    [
                        str(spy),
                        "record",
                        "--pid",
                        str(service.process.pid),
                        "--rate",
                        "50",
                        "--nonblocking",
                        "--format",
                        self._form,
                        "--output",
                        str(self._directory / f"{name}.{PROFILE_SUFFIXES[self._form]}"),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        return self

    def __exit__(self, *_exc: object) -> None:
        for spy in self._spies:
            spy.send_signal(2)  # SIGINT: py-spy writes its flame graph and exits
        for spy in self._spies:
            spy.wait(timeout=60)
