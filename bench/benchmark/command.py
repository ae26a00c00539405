"""A year of the national programme in one run: N candidate journeys (10,000 by default) from
registration to the first `RepaymentDue` of their loan, through the four services started as a
user starts them (one real nats-server, four processes), on SQLite or PostgreSQL.

    ./dev bench [--journeys N] [--database sqlite|postgresql] [--tracing on|off] [--record]

The driver speaks only to the public APIs (with a bearer token) and watches the bus:

1. registration: CSV uploads of `--chunk` rows (`POST /candidates/bulk`);
2. training: the test centre's CSV of JLPT N4 passes (`POST /results/bulk`) for the candidates
   whose `CandidateRegistered` it saw; rows refused because training has not enrolled the
   candidate yet are sent again a moment later;
3. placement: job orders, then contracts in bulk for candidates whose
   `CandidateReadyForPlacement` it saw (`POST /job-orders/{id}/placements/bulk`);
4. once financing's `LoanOpened` is seen: Certificate of Eligibility, visa and departure in bulk
   (`POST /placements/steps/bulk`);
5. at the first `RepaymentScheduleFixed`, financing's clock is moved to the first due date, so
   every schedule's first instalment falls due as soon as it is fixed;
6. it ends when every journey's first `RepaymentDue` is seen on the bus.

It then measures, on the same system: a no-op FastStream pull consumer on the same nats-server
(measured before the journeys, so the services' rates can be stated as a ratio of it: with a
handler per message, the yardstick, and with an ack-only handler per batch, the bus's ceiling);
once every relay and consumer has caught up with the journeys, a paced phase (journeys started
at a steady `--paced-rate` for `--paced-seconds`, not a flood: the hop latency of its events is
the system's steady-state latency), the registration API's latency at a fixed request rate;
each service's first consumer draining a backlog published while it was paused; the hop latency
from outbox row to the consumer's inbox row (both written in their transactions with the wall
clock); each consumer's events handled per second (from the inbox rows); each process's peak
resident memory (VmHWM).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import sys
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jembatan_cli.system import LocalSystem
from jembatan_kit.settings import ServiceSettings
from jembatan_kit.testing.databases import private_postgres_cluster

from .capacity import consumer_capacity
from .databases import messaging_rows
from .driver import Driver
from .measurements import (
    PROFILE_SUFFIXES,
    Profiles,
    consumer_figures,
    cpu_seconds,
    files_mb,
    noop_consumer_rates,
    peak_rss_mb,
    registration_latency,
    written_bytes,
)
from .report import commit, machine, record, report
from .system import (
    bench_token,
    create_databases,
    drop_databases,
    keep_on_cpus,
    postgres_server,
    sqlite_databases,
    until_quiet,
)


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    """On PostgreSQL, the server given, or a private cluster with PostgreSQL's defaults."""
    if args.database != "postgresql" or args.postgres_url:
        return await bench_on(args, args.postgres_url)
    print("starting a private PostgreSQL cluster with the server's defaults ...", flush=True)
    with private_postgres_cluster(settings={}) as cluster:
        if args.postgres_cpus:
            keep_on_cpus(cluster.pid, args.postgres_cpus)
        return await bench_on(args, cluster.admin_url, cluster.pid)


async def bench_on(
    args: argparse.Namespace, postgres_url: str | None, postgres_pid: int | None = None
) -> dict[str, Any]:
    """The phases in order, on one system started for the run: the no-op consumer, the
    journeys, the registration API's latency, each consumer's backlog; then the figures read
    from the services' databases once the system has stopped."""
    data_dir = Path(tempfile.mkdtemp(prefix="jembatan-bench-"))
    suffix = uuid.uuid4().hex[:8]
    extra_env = {"LOG_LEVEL": "WARNING"}
    if args.batch_size:
        extra_env["CONSUMER_BATCH_SIZE"] = str(args.batch_size)
    if args.tracing == "off":
        extra_env |= {"OTEL_SDK_DISABLED": "true", "JEMBATAN_TRACES_DIR": ""}
    if postgres_url is not None:
        database_urls = await create_databases(postgres_url, suffix)
    else:
        database_urls = sqlite_databases(data_dir)
    system = LocalSystem.on_free_ports(
        data_dir,
        extra_env=extra_env,
        service_env={name: {"DATABASE_URL": url} for name, url in database_urls.items()},
    )
    results: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "database": args.database,
        "tracing": args.tracing,
        "machine": machine(),
        "cores": len(os.sched_getaffinity(0)),
        "commit": commit(),
        "command": "./dev bench " + " ".join(sys.argv[1:]),
        "target_journeys": args.journeys,
        "batch_size": args.batch_size or ServiceSettings().consumer_batch_size,
        "noop_batch_size": args.noop_batch_size,
    }
    if postgres_url is not None:
        results["postgres"] = await postgres_server(postgres_url) | {
            "server": "given" if args.postgres_url else "private"
        }
        if args.postgres_cpus:
            results["postgres"]["cpus"] = ",".join(map(str, sorted(args.postgres_cpus)))
    print(f"starting nats-server and the four services in {data_dir} ...", flush=True)
    await asyncio.to_thread(system.start)
    token = bench_token(data_dir)
    try:
        print(f"no-op consumer on {args.noop_messages} messages ...", flush=True)
        results["noop"] = await noop_consumer_rates(
            system.nats_url, args.noop_messages, args.noop_batch_size
        )
        for handler, rate in results["noop"].items():
            print(f"  handler per {handler}: {rate['per_second']:.0f} msg/s", flush=True)
        print(f"{args.journeys} journeys ...", flush=True)
        driver = Driver(system, args.journeys, args.chunk, token)
        cpu_before, written_before = cpu_seconds(system, postgres_pid), written_bytes(system)
        profiles = Profiles(args.profile, system, args.profile_format) if args.profile else None
        with profiles or contextlib.nullcontext():
            try:
                results["journeys"] = await asyncio.wait_for(driver.run(), args.timeout_s)
            finally:
                await driver.close()
        journeys_ended = datetime.now(UTC)
        results["cpu_seconds"] = {
            name: used - cpu_before.get(name, 0.0)
            for name, used in cpu_seconds(system, postgres_pid).items()
        }
        results["written_mb"] = {
            name: (written - written_before.get(name, 0)) / 1024 / 1024
            for name, written in written_bytes(system).items()
        }
        print(
            f"  {results['journeys']['journeys_per_second']:.0f} journeys/s "
            f"({results['journeys']['seconds']:.1f} s)",
            flush=True,
        )
        print("waiting for the consumers to finish the journeys' work ...", flush=True)
        await until_quiet(system.nats_url, database_urls)
        paced_window = None
        if args.paced_seconds > 0:
            paced = round(args.paced_rate * args.paced_seconds)
            print(f"{paced} journeys paced at {args.paced_rate:g}/s ...", flush=True)
            chunk = max(1, round(args.paced_rate / 10))  # a file every tenth of a second
            driver = Driver(
                system,
                paced,
                chunk,
                token,
                first_candidate=args.journeys,
                pace_per_s=args.paced_rate,
            )
            paced_started = datetime.now(UTC)
            try:
                results["paced"] = await asyncio.wait_for(driver.run(), args.timeout_s)
            finally:
                await driver.close()
            paced_window = (paced_started, datetime.now(UTC))
            results["paced"]["rate"] = args.paced_rate
            await until_quiet(system.nats_url, database_urls)
        print(f"registration API at {args.rate} req/s for {args.rate_seconds} s ...", flush=True)
        results["registration_api"] = await registration_latency(
            system.services["registration"].url, token, args.rate, args.rate_seconds
        )
        if args.capacity_events:
            print(f"each consumer draining {args.capacity_events} events ...", flush=True)
            results["capacity"] = await consumer_capacity(
                system.nats_url, database_urls, args.capacity_events
            )
            for service, rate in results["capacity"].items():
                print(f"  {service}: {rate['per_second']:.0f} events/s", flush=True)
        results["peak_rss_mb"] = peak_rss_mb(system)
    finally:
        await asyncio.to_thread(system.stop)
    results["files_mb"] = files_mb(data_dir)
    staged, sent, handled = await messaging_rows(database_urls)
    results["hop"], results["rates"] = consumer_figures(
        staged, [row for row in handled if row[3] <= journeys_ended], sent
    )
    if paced_window is not None:
        begun, ended = paced_window
        results["paced"]["hop"], _ = consumer_figures(
            {event: at for event, at in staged.items() if begun <= at <= ended},
            [row for row in handled if begun <= row[3] <= ended],
            sent,
        )
    if args.keep_data:
        print(f"data, NATS storage and logs kept in {data_dir}", flush=True)
        if args.postgres_url:
            print(f"PostgreSQL databases kept: bench_<service>_{suffix}", flush=True)
    else:
        shutil.rmtree(data_dir, ignore_errors=True)
        if args.postgres_url:
            await drop_databases(args.postgres_url, suffix)
    return results


def cpu_list(value: str) -> set[int]:
    """`1` or `1,3`: CPU numbers, as `taskset -c` takes them (without ranges)."""
    try:
        cpus = {int(part) for part in value.split(",")}
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of CPU numbers: {value!r}") from None
    unknown = cpus - set(range(os.cpu_count() or 1))
    if unknown:
        raise argparse.ArgumentTypeError(f"no CPU numbered {min(unknown)} on this machine")
    return cpus


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="./dev bench", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--journeys", type=int, default=10_000, help="journeys (default 10000)")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("BENCH_POSTGRES_URL"),
        help="with --database postgresql: an admin URL of the server to run on (default:"
        " $BENCH_POSTGRES_URL, else a private cluster started with PostgreSQL's defaults,"
        " autovacuum and fsync on, as production runs it)",
    )
    parser.add_argument(
        "--postgres-cpus",
        type=cpu_list,
        help="with the private cluster: run its processes on these CPUs only (e.g. 1), the"
        " database on cores of its own as on a host of its own; run the rest on the others"
        " (`taskset -c 0 ./dev bench ...`)",
    )
    parser.add_argument("--tracing", choices=("on", "off"), default="on")
    parser.add_argument(
        "--batch-size",
        type=int,
        help="the services' CONSUMER_BATCH_SIZE (default: theirs, "
        f"{ServiceSettings().consumer_batch_size})",
    )
    parser.add_argument(
        "--noop-batch-size",
        type=int,
        default=100,
        help="the no-op consumer's fetch (default 100; its rate does not depend on it)",
    )
    parser.add_argument("--chunk", type=int, default=500, help="rows per bulk call")
    parser.add_argument("--noop-messages", type=int, default=20_000)
    parser.add_argument(
        "--capacity-events", type=int, default=5000, help="backlog per consumer (0: skip)"
    )
    parser.add_argument(
        "--paced-rate", type=float, default=200.0, help="journeys/s of the paced phase"
    )
    parser.add_argument(
        "--paced-seconds", type=float, default=30.0, help="length of the paced phase (0: skip)"
    )
    parser.add_argument("--rate", type=float, default=100.0, help="registration API req/s")
    parser.add_argument("--rate-seconds", type=float, default=10.0)
    parser.add_argument("--timeout-s", type=float, default=900.0)
    parser.add_argument("--record", action="store_true", help="add the figures to BENCHMARKS.md")
    parser.add_argument(
        "--keep-data",
        action="store_true",
        help="keep the databases, NATS storage and logs (not a private PostgreSQL cluster's)",
    )
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    parser.add_argument(
        "--profile",
        type=Path,
        help="profile each service with py-spy during the journeys: a flame graph each here",
    )
    parser.add_argument(
        "--profile-format",
        choices=sorted(PROFILE_SUFFIXES),
        default="flamegraph",
        help="py-spy's format for --profile (raw: collapsed stacks)",
    )
    args = parser.parse_args()
    if args.postgres_cpus and (args.database != "postgresql" or args.postgres_url):
        parser.error(
            "--postgres-cpus places the private cluster: --database postgresql, no server given"
        )
    paced = round(args.paced_rate * args.paced_seconds)
    if args.journeys < 1 or args.journeys + paced > 9999 * 89:
        parser.error(
            "--journeys, with the paced phase's journeys, must be between 1 and 890,000 "
            "(distinct NIKs of the benchmark)"
        )
    results = asyncio.run(bench(args))
    text = report(results)
    print()
    print(text)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))
    if args.record:
        record(text)
        print("added to BENCHMARKS.md")
