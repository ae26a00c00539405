"""The benchmark's one command, at a size CI can afford: it drives every journey to its first
RepaymentDue, measures what it reports, and leaves BENCHMARKS.md alone unless asked."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from benchmark.system import children_of, keep_on_cpus

from jembatan_cli.system import SERVICES

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.e2e


def run_bench(options: list[str], timeout_s: float, env: dict[str, str] | None = None) -> str:
    """`./dev bench` with these options; its standard output once it has succeeded. In its own
    process group, so a benchmark that hangs is ended with every process it started."""
    bench = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "run.py"), *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    try:
        stdout, stderr = bench.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(bench.pid, signal.SIGKILL)
        stdout, stderr = bench.communicate()
        pytest.fail(
            f"the benchmark did not end in {timeout_s:g} s:\n{stdout[-2000:]}\n{stderr[-3000:]}"
        )
    assert bench.returncode == 0, stderr[-3000:]
    return stdout


def test_a_small_benchmark_runs_every_journey_and_reports_each_figure(tmp_path: Path) -> None:
    figures = tmp_path / "figures.json"
    recorded = (ROOT / "BENCHMARKS.md").read_text(encoding="utf-8")
    stdout = run_bench(
        [
            "--journeys=40",
            "--paced-seconds=1",
            "--capacity-events=60",
            "--rate=50",
            "--rate-seconds=0.4",
            "--noop-messages=200",
            "--timeout-s=60",
            f"--json={figures}",
        ],
        timeout_s=100,
    )
    results = json.loads(figures.read_text(encoding="utf-8"))

    assert results["journeys"]["journeys"] == 40
    assert results["journeys"]["journeys_per_second"] > 0
    assert {"message", "batch"} <= set(results["noop"])
    assert all(rate["per_second"] > 0 for rate in results["noop"].values())
    assert {service: rate["events"] for service, rate in results["capacity"].items()} == {
        "training": 60,
        "placement": 60,
        "financing": 60,
        "dashboard": 60,
    }
    dashboard = results["capacity"]["dashboard"]
    assert len(dashboard["each"]) == 8
    assert all(rate["events"] == 60 for rate in dashboard["each"].values())
    assert dashboard["per_second"] == min(rate["per_second"] for rate in dashboard["each"].values())
    assert f"slowest of its 8 consumers of a journey's events, `{dashboard['consumer']}`" in stdout
    paced = results["paced"]
    assert (paced["journeys"], paced["rate"]) == (200, 200)
    assert 0 < paced["hop"]["p50_ms"] <= paced["hop"]["p99_ms"]
    api = results["registration_api"]
    assert (api["requests"], api["failures"]) == (20, 0)
    assert 0 < api["p50_ms"] <= api["p99_ms"]
    hop = results["hop"]
    assert hop["hops"] > 0
    # A hop is its relay part (to `sent_at`, the relay's ack) and its delivery part; a consumer
    # may handle an event before its relay (in a process of its own, financing's) marks it sent.
    assert 0 <= hop["relay_p50_ms"] <= hop["relay_p99_ms"]
    assert hop["delivery_p50_ms"] <= hop["delivery_p99_ms"] <= hop["p99_ms"]
    slowest = hop["slowest_consumers_p99_ms"]
    assert 1 <= len(slowest) <= 4
    assert all(name.split("-")[0] in SERVICES and ms > 0 for name, ms in slowest.items())
    written = results["written_mb"]
    assert set(written) >= {"registration", "financing", "nats-server"}
    assert all(mb >= 0 for mb in written.values()) and sum(written.values()) > 0
    assert results["files_mb"]["databases"] > 0
    assert "kB a journey" in stdout
    assert set(results["peak_rss_mb"]) >= {"registration", "training", "nats-server"}
    assert "| Journeys end to end | 40 in " in stdout
    assert (ROOT / "BENCHMARKS.md").read_text(encoding="utf-8") == recorded


def test_on_postgresql_it_runs_on_a_private_cluster_with_the_servers_defaults(
    tmp_path: Path,
) -> None:
    """Without a server given, the run starts its own cluster (autovacuum on, as production
    runs it), on the CPUs asked for, names it in the report, counts its CPU, and leaves nothing
    behind."""
    figures = tmp_path / "figures.json"
    environment = {key: v for key, v in os.environ.items() if key != "BENCH_POSTGRES_URL"}
    stdout = run_bench(
        [
            "--database=postgresql",
            "--postgres-cpus=0",
            "--journeys=20",
            "--capacity-events=0",
            "--rate-seconds=0",
            "--paced-seconds=0",
            "--noop-messages=100",
            "--timeout-s=60",
            f"--json={figures}",
        ],
        timeout_s=150,
        env=environment,
    )
    results = json.loads(figures.read_text(encoding="utf-8"))
    assert results["journeys"]["journeys"] == 20
    server = results["postgres"]
    assert (server["server"], server["autovacuum"], server["fsync"]) == ("private", "on", "on")
    assert server["cpus"] == "0"
    where = "a private cluster on CPU 0 only"
    assert f"PostgreSQL {server['version']}, {where}: autovacuum on" in stdout
    assert results["cpu_seconds"]["postgres"] > 0
    assert not list(Path(tempfile.gettempdir()).glob("jembatan-pg-*/data/postmaster.pid"))


def test_a_server_kept_on_some_cpus_keeps_there_the_processes_it_starts_and_has_started() -> None:
    """`--postgres-cpus`: the postmaster and its children, those running and those to come."""
    available = sorted(os.sched_getaffinity(0))
    if len(available) < 2:
        pytest.skip("one CPU: nothing to keep a server apart on")
    chosen = {available[-1]}
    # A parent that has started one child, and starts another once told to (SIGUSR1).
    parent = subprocess.Popen(
        ["sh", "-c", "trap 'sleep 30 & wait' USR1; sleep 30 & wait; wait"],
        start_new_session=True,
    )
    try:
        first = wait_for_children(parent.pid, 1)
        keep_on_cpus(parent.pid, chosen)
        os.kill(parent.pid, signal.SIGUSR1)
        later = set(wait_for_children(parent.pid, 2)) - set(first)
        assert {pid: os.sched_getaffinity(pid) for pid in (parent.pid, *first, *later)} == {
            pid: chosen for pid in (parent.pid, *first, *later)
        }
        assert later
    finally:
        os.killpg(parent.pid, signal.SIGKILL)
        parent.wait()


def test_cpus_for_postgresql_are_refused_where_no_private_cluster_runs() -> None:
    for options in (
        ["--postgres-cpus=0"],
        ["--database=postgresql", "--postgres-url=postgresql://x/", "--postgres-cpus=0"],
    ):
        refused = subprocess.run(
            [sys.executable, str(ROOT / "bench" / "run.py"), *options],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=60,
        )
        assert refused.returncode == 2
        assert "--postgres-cpus places the private cluster" in refused.stderr


def wait_for_children(pid: int, count: int) -> list[int]:
    deadline = time.monotonic() + 10
    while len(children := children_of(pid)) < count:
        assert time.monotonic() < deadline, f"{pid} started {children}, not {count}"
        time.sleep(0.05)
    return children
