"""The soak: steady journeys at a modest rate for N minutes while services are killed (kill -9) and
restarted at random, each process's memory and open files sampled; then `jembatan check`.

    ./dev soak --minutes N [--rate 5] [--kill-every 30] [--seed S] [--keep-data]

Journeys go in rounds of `--round` candidates (registration to their first RepaymentDue, by the
benchmark's driver), one round started every round/rate seconds. Every `--kill-every` seconds on
average a service chosen at random is killed with SIGKILL, left down 1-3 s, and started again
with the same environment; the recovery time is from its restart until it answers /health again
and until the next journey completes. At the end, once the last round is done, the invariant
checker runs (`jembatan check`); the run fails if it finds a violation, if a round did not
complete, or if memory or open files grew beyond what a warm process explains.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import nats
from benchmark.driver import Driver
from chaos import QUIET, ChaosSystem, token_for, until_sound

from jembatan_cli.check import Violation, render
from jembatan_cli.system import SERVICES

WARM_S = 20.0
"""A process's memory and open files are compared from this long after it started."""


@dataclass
class Kill:
    service: str
    at_s: float
    answered_s: float
    """From the restart until it answered /health."""
    next_journey_s: float | None = None
    """From the restart until the next journey reached its first RepaymentDue."""


@dataclass
class Soak:
    system: ChaosSystem
    args: argparse.Namespace
    started: float = field(default_factory=time.monotonic)
    done: int = 0
    rounds: int = 0
    failed_rounds: list[str] = field(default_factory=list)
    kills: list[Kill] = field(default_factory=list)
    driver: Driver | None = None
    clock: date | None = None
    """Financing's clock as the last round left it (the first instalments' due date)."""
    samples: list[tuple[float, dict[str, tuple[int, float, int]]]] = field(default_factory=list)
    """(seconds from the start, {process: (pid, RSS MB, open files)})"""
    stored: list[tuple[float, float]] = field(default_factory=list)
    """(seconds from the start, MB the streams hold): nats-server's memory follows its store."""

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def journeys_done(self) -> int:
        return self.done + (len(self.driver.journeys.due_at) if self.driver else 0)

    async def journeys(self, until: float) -> None:
        """Rounds of journeys, one started every round/rate seconds, until `until` (monotonic)."""
        token = token_for(self.system)
        interval_s = self.args.round / self.args.rate
        while time.monotonic() < until:
            began = time.monotonic()
            self.driver = Driver(
                self.system,
                self.args.round,
                chunk=self.args.round,
                token=token,
                first_candidate=self.rounds * self.args.round,
            )
            self.rounds += 1
            try:
                await asyncio.wait_for(self.driver.run(), self.args.round_timeout_s)
            except Exception as exc:
                self.failed_rounds.append(f"round {self.rounds}: {exc!r}")
            finally:
                await self.driver.close()
                self.done += len(self.driver.journeys.due_at)
                self.clock = self.driver.clock_set or self.clock
                self.driver = None
            await asyncio.sleep(max(0.0, began + interval_s - time.monotonic()))

    async def killer(self, until: float, rng: random.Random) -> None:
        while True:
            pause_s = rng.expovariate(1 / self.args.kill_every)
            await asyncio.sleep(min(pause_s, max(0.0, until - time.monotonic())))
            if time.monotonic() >= until:
                return
            service = rng.choice(SERVICES)
            at = self.elapsed()
            self.system.kill(service)
            await asyncio.sleep(rng.uniform(1.0, 3.0))
            restarted = time.monotonic()
            await asyncio.to_thread(self.system.restart, service)
            kill = Kill(service, at, time.monotonic() - restarted)
            self.kills.append(kill)
            if service == "financing" and self.driver is not None:
                # Its adjustable clock may start again at today; the driver's due dates are later.
                clock = self.driver.clock_set or self.clock
                if clock is not None:
                    await self.driver.move_clock(clock)
            print(
                f"  {at:6.0f} s  kill -9 {service:<12} answered {kill.answered_s:.1f} s after "
                "its restart",
                flush=True,
            )
            before = self.journeys_done()
            while self.journeys_done() == before and time.monotonic() < until:
                await asyncio.sleep(0.1)
            kill.next_journey_s = time.monotonic() - restarted

    async def sampler(self, every_s: float = 5.0) -> None:
        bus = await nats.connect(self.system.nats_url, max_reconnect_attempts=-1)
        try:
            while True:
                self.samples.append((self.elapsed(), self.system.sample()))
                with contextlib.suppress(Exception):  # nats-server killed: the next round
                    account = await bus.jetstream().account_info()
                    self.stored.append((self.elapsed(), account.storage / 2**20))
                await asyncio.sleep(every_s)
        finally:
            await bus.close()

    def stored_growth_mb(self, since: float) -> float:
        """How much more the streams held at the end than at `since` (seconds from the start)."""
        if not self.stored:
            return 0.0
        at_since = next((mb for t, mb in self.stored if t >= since), self.stored[-1][1])
        return max(0.0, self.stored[-1][1] - at_since)


async def soak(args: argparse.Namespace) -> int:
    data_dir = Path(tempfile.mkdtemp(prefix="jembatan-soak-"))
    system = ChaosSystem.on_free_ports(data_dir, extra_env=QUIET)
    print(f"starting nats-server and the services in {data_dir} ...", flush=True)
    await asyncio.to_thread(system.start)
    run = Soak(system, args)
    rng = random.Random(args.seed)
    until = time.monotonic() + args.minutes * 60
    print(
        f"{args.minutes:g} min of journeys ({args.rate:g}/s in rounds of {args.round}), a kill -9 "
        f"every {args.kill_every:g} s on average (seed {args.seed}) ...",
        flush=True,
    )
    background = [asyncio.create_task(run.sampler())]
    try:
        killing = asyncio.create_task(run.killer(until, rng))
        await run.journeys(until)
        await killing  # ends at `until`, a service it killed started again
        print("checking the invariants ...", flush=True)
        violations, settle_s = await until_sound(system, timeout_s=120)
        run.samples.append((run.elapsed(), system.sample()))
    finally:
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        await asyncio.to_thread(system.stop)
    grown = report(run, violations, settle_s)
    if args.keep_data:
        print(f"data, NATS storage and logs kept in {data_dir}")
    else:
        shutil.rmtree(data_dir, ignore_errors=True)
    return 1 if violations or run.failed_rounds or grown else 0


def report(run: Soak, violations: list[Violation], settle_s: float) -> list[str]:
    """Print the figures; return the processes whose memory or open files grew too much."""
    minutes = run.elapsed() / 60
    print(
        f"\nSoak: {minutes:.1f} min, {run.done} journeys to their first RepaymentDue "
        f"({run.done / (minutes * 60):.1f}/s) in {run.rounds} rounds; "
        f"{len(run.failed_rounds)} round(s) failed"
    )
    for failure in run.failed_rounds:
        print(f"  {failure}")
    print(f"Kills: {len(run.kills)}")
    for service in SERVICES:
        own = [k for k in run.kills if k.service == service]
        if own:
            answered = [k.answered_s for k in own]
            resumed = [k.next_journey_s for k in own if k.next_journey_s is not None]
            print(
                f"  {service:<13} {len(own)} kill(s); answered after restart: median "
                f"{statistics.median(answered):.1f} s, max {max(answered):.1f} s; next journey "
                f"done after restart: "
                + (
                    f"median {statistics.median(resumed):.1f} s, max {max(resumed):.1f} s"
                    if resumed
                    else "n/a"
                )
            )
    grown = []
    if run.samples:
        print(
            f"Memory (RSS) and open files of each process, {WARM_S:.0f} s after it started vs "
            "at the end (a killed process is a new one):"
        )
        for name, (pid, rss, files) in sorted(run.samples[-1][1].items()):
            lifetime = [
                (t, sample[name])
                for t, sample in run.samples
                if name in sample and sample[name][0] == pid
            ]
            born = lifetime[0][0]
            warm = next(((t, sample) for t, sample in lifetime if t >= born + WARM_S), None)
            if warm is None or warm[0] == lifetime[-1][0]:
                print(
                    f"  {name:<13} RSS {rss:6.0f} MB   open files {files:4d}   (started "
                    f"{run.samples[-1][0] - born:.0f} s before the end: not compared)"
                )
                continue
            warm_at, (_, first_rss, first_files) = warm
            # nats-server holds the streams (kept STREAM_MAX_AGE_DAYS): what it stores more by
            # the end is no leak, so its memory may grow by as much.
            allowed_mb = run.stored_growth_mb(warm_at) if name == "nats-server" else 0.0
            print(
                f"  {name:<13} RSS {first_rss:6.0f} -> {rss:6.0f} MB   open files "
                f"{first_files:4d} -> {files:4d}   over {lifetime[-1][0] - warm_at:.0f} s"
                + (f"   (its streams grew {allowed_mb:.0f} MB meanwhile)" if allowed_mb else "")
            )
            if rss > first_rss * 1.5 + 50 + allowed_mb or files > first_files * 1.5 + 20:
                grown.append(name)
    if grown:
        print(f"GREW: {', '.join(grown)}")
    print(f"\nInvariants (checked {settle_s:.1f} s after the last journey):")
    for line in render(violations):
        print(line)
    return grown


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="./dev soak", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=1.0, help="how long (default 1)")
    parser.add_argument("--rate", type=float, default=5.0, help="journeys per second (default 5)")
    parser.add_argument("--round", type=int, default=50, help="journeys per round (default 50)")
    parser.add_argument(
        "--kill-every", type=float, default=30.0, help="mean seconds between kills (default 30)"
    )
    parser.add_argument("--round-timeout-s", type=float, default=300.0)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument(
        "--keep-data", action="store_true", help="keep the databases, NATS storage and logs"
    )
    args = parser.parse_args()
    if args.minutes <= 0 or args.rate <= 0 or args.round < 1:
        parser.error("--minutes, --rate and --round must be positive")
    sys.exit(asyncio.run(soak(args)))


if __name__ == "__main__":
    main()
