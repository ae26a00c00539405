"""The benchmark's report: the machine and commit it ran on, the table it prints, and its
record in BENCHMARKS.md."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path
from typing import Any

from jembatan_cli.system import SERVICES

from .capacity import CAPACITY_CONSUMERS

ROOT = Path(__file__).resolve().parents[2]


def machine() -> str:
    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    cores = len(os.sched_getaffinity(0))
    memory_kb = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal:")
    )
    return f"{cores} cores ({model}), {memory_kb / 1024 / 1024:.0f} GB, {platform.system()}"


def commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=False
        ).stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    # BENCHMARKS.md changes with each recorded run; it is not code under test.
    changed = git("status", "--porcelain", "--", ".", ":(exclude)BENCHMARKS.md")
    return f"{head}+changes" if changed else head


def _postgres_line(server: dict[str, str] | None) -> list[str]:
    if server is None:
        return []
    where = "a private cluster" if server["server"] == "private" else "the server given"
    if "cpus" in server:
        where += f" on CPU {server['cpus']} only"
    return [
        f"PostgreSQL {server['version']}, {where}: autovacuum {server['autovacuum']}, "
        f"fsync {server['fsync']}, synchronous_commit {server['synchronous_commit']}, "
        f"shared_buffers {server['shared_buffers']}",
        "",
    ]


def report(results: dict[str, Any]) -> str:
    journeys, noop = results["journeys"], results["noop"]
    latency, hop = results["registration_api"], results["hop"]
    lines = [
        f"### {results['date']} · {results['database']} · tracing {results['tracing']}",
        "",
        f"Machine: {results['machine']}; commit {results['commit']}; "
        f"command `{results['command']}`",
        "",
        *_postgres_line(results.get("postgres")),
        "| Measure | Result | Target |",
        "|---|---|---|",
        f"| Journeys end to end | {journeys['journeys']} in {journeys['seconds']:.1f} s = "
        f"**{journeys['journeys_per_second']:.0f} journeys/s** | "
        f"{results['target_journeys']} in ≤ 60 s (≥ 170/s) |",
        f"| No-op FastStream pull consumer, fetching {results['noop_batch_size']}, "
        "a handler call per message | "
        f"{noop['message']['per_second']:.0f} msg/s | (yardstick) |",
        f"| No-op batch handler that only acks, fetching {results['noop_batch_size']} | "
        f"{noop['batch']['per_second']:.0f} msg/s | (the bus's ceiling) |",
    ]
    for service, rate in results.get("capacity", {}).items():
        consumer = rate.get("consumer", CAPACITY_CONSUMERS.get(service))
        which = (
            f"slowest of its {len(rate['each'])} consumers of a journey's events, `{consumer}`"
            if "each" in rate
            else f"consumer `{consumer}`"
        )
        lines.append(
            f"| {service}: {which} (fetching "
            f"{results['batch_size']}) draining a backlog of {rate['events']} events | "
            f"{rate['per_second']:.0f} events/s = "
            f"**{rate['per_second'] / noop['message']['per_second']:.0%}** of no-op "
            f"({rate['per_second'] / noop['batch']['per_second']:.0%} of the ceiling) | "
            "≥ 50% of no-op |"
        )
    dashboard = results.get("capacity", {}).get("dashboard", {}).get("each", {})
    if dashboard:
        lines.append(
            "| dashboard: each consumer of a journey's events draining its backlog | "
            + ", ".join(
                f"{durable.removeprefix('dashboard-')} {rate['per_second']:.0f}/s"
                for durable, rate in dashboard.items()
            )
            + " | |"
        )
    for service in SERVICES:
        rate = results["rates"].get(service)
        if rate is None:
            continue
        lines.append(
            f"| {service}: events handled during the journeys (as they arrive) | "
            f"{rate['events']} events; peak {rate['peak_per_second']:.0f}/s, "
            f"mean {rate['mean_per_second']:.0f}/s over its active span | |"
        )
    lines += [
        f"| Hop latency, outbox row → consumer's inbox row ({hop['hops']} hops) | "
        f"p50 {hop['p50_ms']:.0f} ms, p99 {hop['p99_ms']:.0f} ms | |",
        *_hop_parts("", hop),
        *_paced_lines(results),
        f"| Registration API `POST /candidates` at {latency['rate']:.0f} req/s "
        f"({latency['requests']} requests, {latency['failures']} failed) | "
        f"p50 {latency['p50_ms']:.0f} ms, p99 {latency['p99_ms']:.0f} ms | p99 < 50 ms |",
        "| CPU time during the journeys | "
        + ", ".join(f"{name} {s:.0f} s" for name, s in results["cpu_seconds"].items())
        + f" (of {journeys['seconds'] * results['cores']:.0f} s available); "
        + f"{sum(results['cpu_seconds'].values()) / journeys['journeys'] * 1000:.1f} ms "
        + "of CPU per journey in all | |",
        "| When each event was seen on the bus (first to last, s from the start) | "
        + "; ".join(
            f"{event} {seen['count']} events, {seen['first_s']:.1f}-{seen['last_s']:.1f}"
            for event, seen in sorted(journeys["timeline"].items(), key=lambda e: e[1]["first_s"])
        )
        + " | |",
        "| Peak memory (VmHWM) | "
        + ", ".join(f"{name} {mb:.0f} MB" for name, mb in results["peak_rss_mb"].items())
        + " | |",
        *_disk_lines(results),
        "",
    ]
    return "\n".join(lines)


def _disk_lines(results: dict[str, Any]) -> list[str]:
    written = results.get("written_mb")
    if written is None:
        return []
    journeys = results["journeys"]["journeys"]
    total = sum(written.values())
    lines = [
        "| Written to disk during the journeys | "
        + ", ".join(f"{name} {mb:.0f} MB" for name, mb in written.items())
        + f"; **{total * 1024 / journeys:.0f} kB a journey** in all | |"
    ]
    if results.get("files_mb"):
        lines.append(
            "| Left on disk at the end (SQLite and NATS store) | "
            + ", ".join(f"{kind} {mb:.0f} MB" for kind, mb in results["files_mb"].items())
            + " | |"
        )
    return lines


def _paced_lines(results: dict[str, Any]) -> list[str]:
    paced = results.get("paced")
    if paced is None:
        return []
    hop = paced["hop"]
    return [
        f"| Paced phase: journeys started at {paced['rate']:g}/s, not a flood | "
        f"{paced['journeys']} in {paced['seconds']:.1f} s | |",
        f"| Paced phase: hop latency, outbox row → consumer's inbox row ({hop['hops']} hops) | "
        f"p50 {hop['p50_ms']:.0f} ms, **p99 {hop['p99_ms']:.0f} ms** | p99 ≤ 500 ms |",
        *_hop_parts("Paced phase: ", hop),
    ]


def _hop_parts(phase: str, hop: dict[str, Any]) -> list[str]:
    if "relay_p50_ms" not in hop:
        return []
    slowest = ", ".join(
        f"{name} {ms:.0f} ms" for name, ms in hop["slowest_consumers_p99_ms"].items()
    )
    return [
        f"| {phase}the hop's parts: outbox row → published (relay); published → inbox row | "
        f"relay p50 {hop['relay_p50_ms']:.0f} ms, p99 {hop['relay_p99_ms']:.0f} ms; "
        f"delivery p50 {hop['delivery_p50_ms']:.0f} ms, p99 {hop['delivery_p99_ms']:.0f} ms | |",
        f"| {phase}slowest consumers by p99 | {slowest} | |",
    ]


def record(text: str) -> None:
    path = ROOT / "BENCHMARKS.md"
    marker = "<!-- runs: newest first -->"
    current = path.read_text() if path.exists() else f"# Benchmarks\n\n{marker}\n"
    if marker not in current:
        current += f"\n{marker}\n"
    path.write_text(current.replace(marker, f"{marker}\n\n{text}", 1))
