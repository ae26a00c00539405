"""What JetStream's `sync_interval` costs a publisher: the default (fsync every 2 minutes), a
short interval, and `always` (fsync before each acknowledgement), on a single server (a
province's leaf) and on a three-node cluster with three replicas (the hub).

Real nats-server processes from the venv on loopback, a fresh store for each run, and the
relay's way of publishing: a CandidateRegistered-sized JSON body with its `Nats-Msg-Id`, either
one at a time, each acknowledgement awaited (latency), or in waves of `--wave` awaited together
as `OutboxRelay` does (throughput).

    uv run python bench/sync_interval.py                 # every setting, both topologies
    uv run python bench/sync_interval.py --settings always --topologies cluster

Prints one table row per run; the figures depend on the disk's fsync, so compare settings
measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import nats
from nats.js.api import StreamConfig

from jembatan_contracts import CandidateRegistered
from jembatan_kit.nats_server import NatsServerProcess
from jembatan_kit.testing.nats_cluster import NatsCluster

SETTINGS = {"default": None, "1s": "1s", "always": "always"}
"""Name shown -> the `sync_interval` value (None: not set, the server's default of 2 minutes)."""
TOPOLOGIES = ("single", "cluster")


@dataclass
class Result:
    topology: str
    setting: str
    sequential: int
    p50_ms: float
    p99_ms: float
    pipelined: int
    per_s: float


def body() -> bytes:
    event = CandidateRegistered(
        agency="kaltim",
        journey_id=uuid.uuid4(),
        candidate_id=uuid.uuid4(),
        track="TITP",
        preferred_sector="caregiver",
        education="SMA",
        province_code="64",
        registered_on=date(2026, 3, 1),
    )
    return event.model_dump_json().encode()


async def measure(urls: list[str], replicas: int, sequential: int, pipelined: int, wave: int):
    client = await nats.connect(urls)
    try:
        js = client.jetstream(timeout=10, publish_async_max_pending=wave * 2)
        await js.add_stream(
            StreamConfig(
                name="BENCH",
                subjects=["bench.>"],
                num_replicas=replicas,
                duplicate_window=15 * 60,
            )
        )
        payload = body()
        for _ in range(50):  # warm up: connections, the stream's files
            await js.publish("bench.x", payload, headers={"Nats-Msg-Id": str(uuid.uuid4())})
        latencies = []
        for _ in range(sequential):
            started = time.perf_counter()
            await js.publish("bench.x", payload, headers={"Nats-Msg-Id": str(uuid.uuid4())})
            latencies.append(time.perf_counter() - started)
        started = time.perf_counter()
        for first in range(0, pipelined, wave):
            futures = [
                await js.publish_async(
                    "bench.x", payload, headers={"Nats-Msg-Id": str(uuid.uuid4())}
                )
                for _ in range(min(wave, pipelined - first))
            ]
            await asyncio.gather(*futures)
        elapsed = time.perf_counter() - started
    finally:
        await client.close()
    cuts = statistics.quantiles(latencies, n=100)
    return cuts[49] * 1000, cuts[98] * 1000, pipelined / elapsed


async def run(topology: str, setting: str, args: argparse.Namespace) -> Result:
    value = SETTINGS[setting]
    options = [f"sync_interval: {value}"] if value else []
    with tempfile.TemporaryDirectory(prefix="sync-interval-", dir=args.dir) as tmp:
        base = Path(tmp)
        if topology == "single":
            config = base / "single.conf"
            config.write_text(f"jetstream {{ {' '.join(options)} }}\n")
            with NatsServerProcess(store_dir=base / "store", config_file=config) as server:
                figures = await measure([server.url], 1, args.sequential, args.pipelined, args.wave)
        else:
            with NatsCluster(base, jetstream_options=options) as cluster:
                await cluster.wait_until_ready()
                figures = await measure(cluster.urls, 3, args.sequential, args.pipelined, args.wave)
    return Result(topology, setting, args.sequential, *figures[:2], args.pipelined, figures[2])


def fsync_ms(directory: Path, count: int = 200) -> float:
    """This disk's cost of one small write made durable: what `always` adds to each publish."""
    path = directory / "fsync-probe"
    with path.open("wb") as file:
        started = time.perf_counter()
        for _ in range(count):
            file.write(b"x" * 512)
            file.flush()
            os.fsync(file.fileno())
        elapsed = time.perf_counter() - started
    path.unlink()
    return elapsed / count * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--settings", default=",".join(SETTINGS), help="comma-separated")
    parser.add_argument("--topologies", default=",".join(TOPOLOGIES), help="comma-separated")
    parser.add_argument("--sequential", type=int, default=1000, help="publishes one at a time")
    parser.add_argument("--pipelined", type=int, default=10000, help="publishes in waves")
    parser.add_argument("--wave", type=int, default=500, help="publishes awaited together")
    parser.add_argument(
        "--dir", type=Path, default=None, help="where the stores go (default: the temp dir)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sync-interval-", dir=args.dir) as tmp:
        print(f"fsync of a 512-byte write here: {fsync_ms(Path(tmp)):.2f} ms", flush=True)
    print(
        "| topology | sync_interval | one at a time: p50 | p99 | in waves of"
        f" {args.wave}: msg/s |\n|---|---|---|---|---|",
        flush=True,
    )
    for topology in args.topologies.split(","):
        for setting in args.settings.split(","):
            result = asyncio.run(run(topology, setting, args))
            print(
                f"| {result.topology} | {result.setting} | {result.p50_ms:.2f} ms"
                f" | {result.p99_ms:.2f} ms | {result.per_s:,.0f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
