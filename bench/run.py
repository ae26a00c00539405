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
once every relay and consumer has caught up with the journeys, the registration API's latency
at a fixed request rate; each service's first consumer draining a backlog published while it
was paused; the hop latency from outbox row to the consumer's inbox row (both written in their
transactions with the wall clock); each consumer's events handled per second (from the inbox
rows); each process's peak resident memory (VmHWM).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import heapq
import io
import json
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as day_time
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import httpx
import nats
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StreamConfig
from opentelemetry import propagate

from jembatan_cli.system import SERVICES, LocalSystem, ServiceProcess, local_issuer
from jembatan_contracts import (
    ALL_STREAMS,
    CandidatePlaced,
    CandidateReadyForPlacement,
    CandidateRegistered,
    Event,
    Track,
)
from jembatan_kit.auth import NATIONAL_AGENCY, NIK_READER
from jembatan_kit.issuers import issue_token
from jembatan_kit.settings import ServiceSettings
from jembatan_kit.telemetry import journey_context
from jembatan_kit.testing.helpers import consumers_drained, language_certificate

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_ADMIN = os.environ.get(
    "BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


@dataclass
class BenchSystem(LocalSystem):
    """LocalSystem with settings per service (each service its own PostgreSQL database)."""

    per_service_env: dict[str, dict[str, str]] = field(default_factory=dict)

    def _spawn(self, name: str, logs: Path) -> ServiceProcess:
        shared: dict[str, str] = self.extra_env  # type: ignore[has-type]
        self.extra_env = {**shared, **self.per_service_env.get(name, {})}
        try:
            return super()._spawn(name, logs)
        finally:
            self.extra_env = shared


# --- the journeys -------------------------------------------------------------------------------


def candidate_rows(count: int, first_district: int = 1, start: int = 0) -> list[dict[str, str]]:
    """Distinct, valid TITP candidates from Kalimantan Timur.

    NIK 64 71 <district> 150604 <serial>: district from `first_district`, serial 0001-9999;
    the first `start` candidates of that sequence left out."""
    rows = []
    for index in range(start, start + count):
        district, serial = divmod(index, 9999)
        nik = f"6471{first_district + district:02d}150604{serial + 1:04d}"
        rows.append(
            {
                "nik": nik,
                "full_name": f"Peserta {index + 1}",
                "birth_date": "2004-06-15",
                "sex": "M",
                "education": "SMK",
                "track": "TITP",
                "preferred_sector": "automotive",
            }
        )
    return rows


def to_csv(rows: list[dict[str, str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode()


@dataclass
class Journeys:
    """What the driver has seen of each journey, keyed by journey id."""

    expected: int
    registered_at: dict[str, float] = field(default_factory=dict)
    due_at: dict[str, float] = field(default_factory=dict)
    first_due: date | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)
    refusals: Counter[str] = field(default_factory=Counter)


class Driver:
    """Drives `journeys` new candidates from registration to their first RepaymentDue.

    It survives what a fault injector does to the system (`tests/faults`, `bench/soak.py`):
    a request that finds its service down or unavailable is sent again until it answers (every
    request it sends is idempotent or its refusal on a second sending is told apart), and it
    follows the bus through durable consumers of its own, which resume where they were after a
    restart of nats-server or a lost connection. `first_candidate` offsets the candidates' NIKs,
    so several drivers can run one after the other on one system."""

    def __init__(
        self,
        system: LocalSystem,
        journeys: int,
        chunk: int,
        token: str,
        first_candidate: int = 0,
        unavailable_for_s: float = 180.0,
    ) -> None:
        self.system = system
        self.journeys = Journeys(journeys)
        self.chunk = chunk
        self.first_candidate = first_candidate
        self.unavailable_for_s = unavailable_for_s
        self.name = f"bench-driver-{uuid.uuid4().hex[:8]}"
        self.http = {
            name: httpx.AsyncClient(
                base_url=service.url,
                headers={"authorization": f"Bearer {token}"},
                timeout=120,
            )
            for name, service in system.services.items()
        }
        self.registered: asyncio.Queue[str] = asyncio.Queue()
        self.ready: asyncio.Queue[str] = asyncio.Queue()
        # A candidate is sent on once the service that must know of it has handled its event.
        self.enrolled = Handled(
            "REGISTRATION", "training-candidate-registered", self.registered, self.name
        )
        self.placeable = Handled("TRAINING", "placement-candidate-ready", self.ready, self.name)
        self.loans: asyncio.Queue[str] = asyncio.Queue()
        self.ours: set[str] = set()
        self.financed: set[str] = set()  # placements whose LoanOpened was seen
        self.attempts: Counter[str] = Counter()  # refusals so far, by candidate
        self.bus: NatsClient | None = None
        self.clock_set: date | None = None
        self.orders: list[list[Any]] = []  # [order id, free slots]
        self.results_files = 0
        self.started = 0.0
        self.seen: dict[str, list[float]] = {}  # event type: [count, first, last] (s from start)

    async def close(self) -> None:
        for client in self.http.values():
            await client.aclose()
        if self.bus is not None:
            js = self.bus.jetstream()
            for stream in ("FINANCING", *(gate.stream for gate in (self.enrolled, self.placeable))):
                with contextlib.suppress(Exception):
                    await js.delete_consumer(stream, self.name)
            await self.bus.close()

    async def call(self, service: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """The service's answer to a request, sent again while the service is down, restarting
        or unavailable (503), for at most `unavailable_for_s`. The response says in `extensions`
        whether it answers a second sending (`resent`)."""
        deadline = time.monotonic() + self.unavailable_for_s
        resent = False
        while True:
            try:
                response = await self.http[service].request(method, path, **kwargs)
            except httpx.TransportError:
                response = None
            if response is not None and response.status_code not in (502, 503, 504):
                response.extensions["resent"] = resent
                return response
            if time.monotonic() > deadline:
                raise RuntimeError(f"{service} unavailable for {self.unavailable_for_s} s")
            self.journeys.refusals[f"{service} unavailable"] += 1
            resent = True
            await asyncio.sleep(0.5)

    async def run(self) -> dict[str, Any]:
        self.bus = await nats.connect(
            self.system.nats_url,
            pending_size=256 * 1024 * 1024,
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.5,
            error_cb=self.on_bus_error,
        )
        # The timeline only: a core subscription misses what is published while disconnected.
        await self.bus.subscribe("jembatan.>", cb=self.on_any, pending_msgs_limit=2_000_000)
        js = self.bus.jetstream()
        for gate in (self.enrolled, self.placeable):
            await gate.follow(js)
        await follow(
            js,
            "FINANCING",
            self.name,
            [
                "jembatan.*.financing.loan.opened.v1",
                "jembatan.*.financing.loan.schedule-fixed.v1",
                "jembatan.*.financing.repayment.due.v1",
            ],
        )
        started = self.started = time.perf_counter()
        workers = [
            asyncio.create_task(self.enrolled.release(js)),
            asyncio.create_task(self.placeable.release(js)),
            asyncio.create_task(consume(js, "FINANCING", self.name, self.on_event)),
            asyncio.create_task(self.register_all()),
            asyncio.create_task(self.record_results()),
            asyncio.create_task(self.place()),
            asyncio.create_task(self.depart()),
        ]
        try:
            while not self.journeys.done.is_set():
                for worker in workers:
                    if worker.done() and worker.exception():
                        raise worker.exception()  # type: ignore[misc]
                await asyncio.sleep(0.2)
        finally:
            for worker in workers:
                worker.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
        elapsed = time.perf_counter() - started
        return {
            "journeys": len(self.journeys.due_at),
            "seconds": elapsed,
            "journeys_per_second": len(self.journeys.due_at) / elapsed,
            "refusals_retried": dict(self.journeys.refusals),
            "timeline": {
                event: {"count": int(count), "first_s": first, "last_s": last}
                for event, (count, first, last) in self.seen.items()
            },
        }

    async def on_bus_error(self, error: Exception) -> None:
        """Lost connections (a nats-server killed and restarted) are expected: counted, and
        the client reconnects by itself."""
        self.journeys.refusals[f"bus {type(error).__name__}"] += 1

    async def on_any(self, msg: Msg) -> None:
        suffix = msg.subject.split(".", 2)[2]
        moment = time.perf_counter() - self.started
        seen = self.seen.setdefault(suffix.rsplit(".", 1)[0], [0, moment, moment])
        seen[0] += 1
        seen[2] = moment

    async def on_event(self, msg: Msg) -> None:
        suffix = msg.subject.split(".", 2)[2]
        if suffix == "financing.loan.opened.v1":
            event = json.loads(msg.data)
            # Delivered again when an acknowledgement was lost (nats-server killed): sent once.
            if event["journey_id"] in self.ours and event["placement_id"] not in self.financed:
                self.financed.add(event["placement_id"])
                self.loans.put_nowait(event["placement_id"])
        elif suffix == "financing.loan.schedule-fixed.v1":
            event = json.loads(msg.data)
            first_due = date.fromisoformat(event["first_due_date"])
            if self.clock_set is None or first_due > self.clock_set:
                self.clock_set = first_due
                asyncio.get_running_loop().create_task(self.move_clock(first_due))
        elif suffix == "financing.repayment.due.v1":
            event = json.loads(msg.data)
            journey = event["journey_id"]
            if event["instalment_number"] == 1 and journey in self.ours:
                self.journeys.due_at.setdefault(journey, time.perf_counter())
                if len(self.journeys.due_at) >= self.journeys.expected:
                    self.journeys.done.set()

    async def move_clock(self, first_due: date) -> None:
        now = datetime.combine(first_due, day_time(12), UTC)
        response = await self.call("financing", "PUT", "/clock", json={"now": now.isoformat()})
        if response.status_code != 200 and "moves forward" not in response.text:
            raise RuntimeError(f"PUT /clock: {response.status_code} {response.text}")

    async def register_all(self) -> None:
        rows = candidate_rows(self.journeys.expected, start=self.first_candidate)
        chunks = [rows[i : i + self.chunk] for i in range(0, len(rows), self.chunk)]
        gate = asyncio.Semaphore(2)

        async def upload(chunk: list[dict[str, str]]) -> None:
            async with gate:
                response = await self.call(
                    "registration",
                    "POST",
                    "/candidates/bulk",
                    params={"agency": "kaltim"},
                    content=to_csv(chunk),
                    headers={"content-type": "text/csv"},
                )
            body = expect(response, 200)
            for row in body["rows"]:
                if row["status"] != "accepted":
                    raise RuntimeError(f"registration refused a benchmark row: {row}")
                self.ours.add(row["journey_id"])
                self.journeys.registered_at[row["journey_id"]] = time.perf_counter()

        await asyncio.gather(*(upload(chunk) for chunk in chunks))

    async def record_results(self) -> None:
        while True:
            candidates = await take(self.registered, self.chunk)
            self.results_files += 1
            # A test centre's sheet; each file differs (the import is idempotent per file).
            taken_on = date.today() - timedelta(days=self.results_files % 300)
            rows = [
                {
                    "candidate_id": candidate,
                    "test": "JLPT",
                    "level": "N4",
                    "issuer": "Japan Foundation",
                    "taken_on": str(taken_on),
                }
                for candidate in candidates
            ]
            response = await self.call(
                "training",
                "POST",
                "/results/bulk",
                content=to_csv(rows),
                headers={"content-type": "text/csv"},
            )
            body = expect(response, 200)
            retry = []
            for row in body["rows"]:
                if row["status"] != "accepted":
                    rule = row["errors"][0]["rule"]
                    if rule not in ("not_found", "candidate_not_enrolled"):
                        raise RuntimeError(f"training refused a benchmark result: {row}")
                    self.journeys.refusals[f"training {rule}"] += 1
                    retry.append(row["candidate_id"])
            self.later(self.registered, retry)

    async def place(self) -> None:
        while True:
            candidates = await take(self.ready, self.chunk)
            while candidates:
                order = await self.order_with_slots()
                batch, candidates = candidates[: order[1]], candidates[order[1] :]
                response = await self.call(
                    "placement",
                    "POST",
                    f"/job-orders/{order[0]}/placements/bulk",
                    json={"candidate_ids": batch},
                )
                body = expect(response, 200)
                order[1] -= body["accepted"]
                retry = []
                for row in body["rows"]:
                    if row["status"] != "accepted":
                        if response.extensions["resent"] and row["error"] != "candidate_not_ready":
                            continue  # its first sending placed the candidate
                        if row["error"] != "candidate_not_ready":
                            raise RuntimeError(f"placement refused a benchmark contract: {row}")
                        self.journeys.refusals[f"placement {row['error']}"] += 1
                        retry.append(row["candidate_id"])
                self.later(self.ready, retry)

    async def order_with_slots(self) -> list[Any]:
        if self.orders and self.orders[-1][1] > 0:
            return self.orders[-1]
        slots = 1000
        response = await self.call(
            "placement",
            "POST",
            "/job-orders",
            json={
                "employer": "Toyota Tsusho Parts Kyushu",
                "supervising_organisation": "IM Japan",
                "prefecture": "Fukuoka",
                "sector": "automotive",
                "track": "TITP",
                "slots": slots,
                "monthly_wage_jpy": 180000,
                "contract_months": 36,
            },
        )
        self.orders.append([expect(response, 201)["id"], slots])
        return self.orders[-1]

    async def depart(self) -> None:
        today = str(date.today())
        while True:
            placements = await take(self.loans, self.chunk // 3 or 1)
            steps = [
                {"placement_id": placement, "step": step, "on": today}
                for placement in placements
                for step in ("certificate-of-eligibility", "visa", "departure")
            ]
            response = await self.call(
                "placement", "POST", "/placements/steps/bulk", json={"steps": steps}
            )
            body = expect(response, 200)
            if body["refused"] and not response.extensions["resent"]:
                refused = [row for row in body["rows"] if row["status"] != "accepted"]
                raise RuntimeError(f"placement refused benchmark steps: {refused[:3]}")

    def later(self, queue: asyncio.Queue[str], items: list[str]) -> None:
        """Send refused rows again later, as an operator would: each row waits longer after
        every refusal (0.25 s, 0.5 s, 1 s, ... at most 4 s), so a service that is behind is not
        asked the same thing many times a second."""
        loop = asyncio.get_running_loop()
        by_delay: dict[float, list[str]] = defaultdict(list)
        for item in items:
            self.attempts[item] += 1
            by_delay[min(0.25 * 2 ** (self.attempts[item] - 1), 4.0)].append(item)
        for delay_s, delayed in by_delay.items():
            loop.call_later(delay_s, _put_all, queue, delayed)


class Handled:
    """Candidates whose event a service's durable consumer has handled, for the driver to act
    on, as an operator acts once a service shows the candidate: training enrols a candidate on
    `CandidateRegistered`, and refuses results before; placement signs contracts only for a
    candidate whose `CandidateReadyForPlacement` it has handled.

    The events are read from the stream with their sequence numbers; an event is handled once
    the consumer's acknowledgement floor (every message up to it acknowledged, which the
    services do after their commit) has reached it."""

    def __init__(self, stream: str, durable: str, queue: asyncio.Queue[str], reader: str) -> None:
        self.stream = stream
        self.durable = durable
        self.queue = queue
        self.reader = reader
        """The driver's own durable consumer on the stream."""
        self.waiting: list[tuple[int, str]] = []  # (stream sequence, candidate id), a heap
        self.seen: set[str] = set()

    async def follow(self, js: JetStreamContext) -> None:
        """Read the consumer's events from now on."""
        info = await js.consumer_info(self.stream, self.durable)
        await follow(js, self.stream, self.reader, [info.config.filter_subject or ">"])

    async def on_event(self, msg: Msg) -> None:
        candidate = json.loads(msg.data)["candidate_id"]
        if candidate in self.seen:
            return  # delivered again: its acknowledgement was lost
        self.seen.add(candidate)
        heapq.heappush(self.waiting, (msg.metadata.sequence.stream, candidate))

    async def release(self, js: JetStreamContext, every_s: float = 0.1) -> None:
        reading = asyncio.create_task(consume(js, self.stream, self.reader, self.on_event))
        try:
            while True:
                try:
                    info = await js.consumer_info(self.stream, self.durable)
                except Exception:  # nats-server restarting: ask again
                    await asyncio.sleep(0.5)
                    continue
                floor = info.ack_floor.stream_seq if info.ack_floor else 0
                while self.waiting and self.waiting[0][0] <= floor:
                    self.queue.put_nowait(heapq.heappop(self.waiting)[1])
                await asyncio.sleep(every_s)
        finally:
            reading.cancel()
            await asyncio.gather(reading, return_exceptions=True)


async def follow(js: JetStreamContext, stream: str, durable: str, subjects: list[str]) -> None:
    """A durable consumer of the driver's own on `subjects` of `stream`, from now on: it keeps
    its place over a restart of nats-server, where an ordered consumer would start again."""
    await js.add_consumer(
        stream,
        ConsumerConfig(
            durable_name=durable,
            deliver_policy=DeliverPolicy.NEW,
            ack_policy=AckPolicy.EXPLICIT,
            filter_subjects=subjects,
            max_ack_pending=100_000,
            inactive_threshold=3600,
        ),
    )


async def consume(
    js: JetStreamContext, stream: str, durable: str, handle: Callable[[Msg], Awaitable[None]]
) -> None:
    """Hand every message of the durable to `handle`, in order, then acknowledge it; carry on
    through lost connections and restarts of nats-server."""
    subscription = await js.pull_subscribe_bind(durable, stream=stream)
    while True:
        try:
            batch = await subscription.fetch(1000, timeout=1)
        except TimeoutError:
            continue
        except Exception:  # nats-server down or restarting
            await asyncio.sleep(0.5)
            continue
        for msg in batch:
            await handle(msg)
            with contextlib.suppress(Exception):
                await msg.ack()


def _put_all(queue: asyncio.Queue[str], items: list[str]) -> None:
    for item in items:
        queue.put_nowait(item)


async def take(queue: asyncio.Queue[str], most: int, linger_s: float = 0.1) -> list[str]:
    """Wait for one item, then gather up to `most` arriving within `linger_s`."""
    items = [await queue.get()]
    deadline = time.perf_counter() + linger_s
    while len(items) < most:
        remaining = deadline - time.perf_counter()
        if remaining <= 0:
            break
        try:
            items.append(await asyncio.wait_for(queue.get(), remaining))
        except TimeoutError:
            break
    return items


def expect(response: httpx.Response, status: int) -> Any:
    if response.status_code != status:
        raise RuntimeError(f"{response.request.method} {response.request.url}: {response.text}")
    return response.json()


# --- the other measurements ---------------------------------------------------------------------


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
                str(Path(__file__).parent / "noop_consumer.py"),
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


CAPACITY_CONSUMERS = {
    "training": "training-candidate-registered",
    "placement": "placement-candidate-ready",
    "financing": "financing-candidate-placed",
}
"""The consumer of each service that the capacity phase loads: its first event of a journey."""


HELD_CERTIFICATES = "placement-certificate-passed"
"""The consumer that keeps the certificates placement's readiness consumer requires."""


def capacity_events(service: str, count: int) -> list[Event]:
    """`count` fresh events of the kind `service`'s capacity consumer handles."""
    today = date.today()
    events: list[Event] = []
    for _ in range(count):
        journey, candidate = uuid.uuid4(), uuid.uuid4()
        if service == "training":
            events.append(
                CandidateRegistered(
                    agency="kaltim",
                    journey_id=journey,
                    candidate_id=candidate,
                    track=Track.TITP,
                    preferred_sector="automotive",
                    education="SMK",
                    province_code="64",
                    registered_on=today,
                )
            )
        elif service == "placement":
            events.append(
                CandidateReadyForPlacement(
                    agency="kaltim",
                    journey_id=journey,
                    candidate_id=candidate,
                    track=Track.TITP,
                    sector="automotive",
                    language_level="N4",
                    satisfied_rules=["japanese_n4"],
                )
            )
        else:
            events.append(
                CandidatePlaced(
                    agency="kaltim",
                    journey_id=journey,
                    placement_id=uuid.uuid4(),
                    candidate_id=candidate,
                    job_order_id=uuid.uuid4(),
                    track=Track.TITP,
                    sector="automotive",
                    supervising_organisation="IM Japan",
                    monthly_wage_jpy=180_000,
                    contract_months=36,
                    contract_signed_on=today,
                )
            )
    return events


async def consumer_capacity(
    nats_url: str, database_urls: dict[str, str], count: int
) -> dict[str, dict[str, float]]:
    """Each service's consumer draining a backlog, as the no-op consumer drains its own: `count`
    events published while the consumer is paused, then timed from its resumption to its last
    inbox row of them. One service at a time, with the dashboard's consumers paused meanwhile
    (they read the same events), so each has the machine as the no-op consumer had it; the
    dashboard then catches up before the next."""
    client = await nats.connect(nats_url)
    js = client.jetstream(publish_async_max_pending=count + 1)
    rates: dict[str, dict[str, float]] = {}
    try:
        dashboard = [
            (stream, name) for stream, name in await durables(js) if name.startswith("dashboard-")
        ]
        for service, durable in CAPACITY_CONSUMERS.items():
            await quiet(client, database_urls)
            events = capacity_events(service, count)
            ids = {event.event_id for event in events}
            stream = type(events[0]).stream_name()
            paused = [(stream, durable), *dashboard]
            for paused_stream, name in paused:
                await js.pause_consumer(paused_stream, name, PAUSED_UNTIL)
            try:
                # Placement makes ready only candidates whose certificate it holds: those go
                # first, to its certificate consumer, which is not measured.
                held = [
                    language_certificate(event)
                    for event in events
                    if isinstance(event, CandidateReadyForPlacement)
                ]
                certificates_before = await inbox_count(database_urls[service], HELD_CERTIFICATES)
                futures = [
                    await js.publish_async(
                        event.subject,
                        event.model_dump_json().encode(),
                        headers=published_headers(event),
                    )
                    for event in (*held, *events)
                ]
                await asyncio.gather(*futures)
                deadline = time.perf_counter() + 300
                while (
                    held
                    and await inbox_count(database_urls[service], HELD_CERTIFICATES)
                    < certificates_before + len(held)
                    and time.perf_counter() < deadline
                ):
                    await asyncio.sleep(0.2)
                before = await inbox_count(database_urls[service], durable)
                await js.resume_consumer(stream, durable)
                resumed = datetime.now(UTC)
                deadline = time.perf_counter() + 300
                # Counting is all the polling does: the consumer shares the machine with it.
                while (
                    await inbox_count(database_urls[service], durable) < before + count
                    and time.perf_counter() < deadline
                ):
                    await asyncio.sleep(0.2)
            finally:
                for paused_stream, name in paused:
                    await js.resume_consumer(paused_stream, name)
            moments = [
                processed_at
                for event_id, processed_at in await inbox_of(database_urls[service], durable)
                if event_id in ids
            ]
            span = (max(moments) - resumed).total_seconds() if moments else 0.0
            rates[service] = {
                "events": len(moments),
                "seconds": span,
                "per_second": len(moments) / span if span else 0.0,
            }
    finally:
        await client.close()
    return rates


PAUSED_UNTIL = "2100-01-01T00:00:00Z"
"""A consumer paused for a measurement stays paused until it is resumed."""


async def durables(js: JetStreamContext) -> list[tuple[str, str]]:
    """(stream, durable) of every durable consumer of the Jembatan streams: the services'.
    Ephemeral ones (the driver's own ordered consumers) are left out: they vanish once their
    subscription ends, and would hold messages nobody is meant to consume."""
    return [
        (spec.name, consumer.name)
        for spec in ALL_STREAMS
        for consumer in await js.consumers_info(spec.name)
        if consumer.name and consumer.config.durable_name
    ]


async def until_quiet(nats_url: str, database_urls: dict[str, str]) -> None:
    client = await nats.connect(nats_url)
    try:
        await quiet(client, database_urls)
    finally:
        await client.close()


async def quiet(
    client: NatsClient, database_urls: dict[str, str], timeout_s: float = 300.0
) -> None:
    """Wait until every service's relay has published all it staged and every durable consumer
    has handled all its stream holds: the work of what came before is done, so a measurement
    that follows has the machine to itself. (Consumers alone are not enough: a relay may not
    have published the last events of a request that has already been answered.)"""
    deadline = time.perf_counter() + timeout_s
    while time.perf_counter() < deadline:
        unsent = [await unsent_count(url) for url in database_urls.values()]
        if not any(unsent) and await consumers_drained(client):
            return
        await asyncio.sleep(0.2)
    raise RuntimeError(f"the relays or consumers were still busy after {timeout_s:.0f} s")


def published_headers(event: Event) -> dict[str, str]:
    """The headers a service's relay publishes an event with: its id, and the traceparent of
    its journey's trace (here the journey's root), so consumers handle it as they would a real
    one."""
    headers = {"Nats-Msg-Id": str(event.event_id)}
    propagate.inject(headers, context=journey_context(event.journey_id))
    return headers


async def inbox_count(database_url: str, consumer: str) -> int:
    rows = await _query(database_url, "SELECT count(*) FROM inbox WHERE consumer = {}", consumer)
    return int(rows[0][0])


async def inbox_of(database_url: str, consumer: str) -> list[tuple[uuid.UUID, datetime]]:
    rows = await _query(
        database_url, "SELECT event_id, processed_at FROM inbox WHERE consumer = {}", consumer
    )
    return [(as_uuid(event_id), as_utc(processed_at)) for event_id, processed_at in rows]


async def unsent_count(database_url: str) -> int:
    """Outbox rows the service's relay has not published yet."""
    rows = await _query(database_url, "SELECT count(*) FROM outbox WHERE sent_at IS NULL")
    return int(rows[0][0])


async def _query(database_url: str, query: str, *values: Any) -> list[Any]:
    """`query` with its `{}` placeholders bound to `values`, on a service's database."""
    if database_url.startswith("sqlite"):
        connection = sqlite3.connect(database_url.split("///", 1)[1])
        try:
            rows = connection.execute(query.format(*("?" * len(values))), values).fetchall()
        finally:
            connection.close()
    else:
        pg = await asyncpg.connect(database_url.replace("+asyncpg", ""))
        try:
            placeholders = (f"${n}" for n in range(1, len(values) + 1))
            rows = await pg.fetch(query.format(*placeholders), *values)
        finally:
            await pg.close()
    return list(rows)


def percentile(values: Iterable[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))
    return ordered[index]


async def messaging_rows(
    database_urls: dict[str, str],
) -> tuple[dict[uuid.UUID, datetime], list[tuple[str, str, uuid.UUID, datetime]]]:
    """Outbox created_at by event id; inbox rows as (service, consumer, event id, processed_at)."""
    staged: dict[uuid.UUID, datetime] = {}
    handled: list[tuple[str, str, uuid.UUID, datetime]] = []
    for service, url in database_urls.items():
        if url.startswith("sqlite"):
            connection = sqlite3.connect(url.split("///", 1)[1])
            outbox = connection.execute("SELECT event_id, created_at FROM outbox").fetchall()
            inbox = connection.execute(
                "SELECT consumer, event_id, processed_at FROM inbox"
            ).fetchall()
            connection.close()
        else:
            connection = await asyncpg.connect(url.replace("+asyncpg", ""))
            outbox = await connection.fetch("SELECT event_id, created_at FROM outbox")
            inbox = await connection.fetch("SELECT consumer, event_id, processed_at FROM inbox")
            await connection.close()
        for event_id, created_at in outbox:
            staged[as_uuid(event_id)] = as_utc(created_at)
        for consumer, event_id, processed_at in inbox:
            handled.append((service, consumer, as_uuid(event_id), as_utc(processed_at)))
    return staged, handled


def as_uuid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def as_utc(value: Any) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def consumer_figures(
    staged: dict[uuid.UUID, datetime], handled: list[tuple[str, str, uuid.UUID, datetime]]
) -> tuple[dict[str, Any], dict[str, dict[str, float]]]:
    hops = [
        (processed_at - staged[event_id]).total_seconds()
        for _service, _consumer, event_id, processed_at in handled
        if event_id in staged
    ]
    hop = {
        "hops": len(hops),
        "p50_ms": percentile(hops, 50) * 1000,
        "p99_ms": percentile(hops, 99) * 1000,
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


def processes(system: LocalSystem) -> dict[str, int]:
    pids = {name: service.process.pid for name, service in system.services.items()}
    if system.nats is not None and system.nats.process is not None:
        pids["nats-server"] = system.nats.process.pid
    return pids


def peak_rss_mb(system: LocalSystem) -> dict[str, float]:
    peaks = {}
    for name, pid in processes(system).items():
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peaks[name] = int(line.split()[1]) / 1024
    return peaks


def cpu_seconds(system: LocalSystem) -> dict[str, float]:
    """User + system CPU time each process has used so far."""
    ticks = os.sysconf("SC_CLK_TCK")
    used = {}
    for name, pid in processes(system).items():
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        used[name] = (int(fields[11]) + int(fields[12])) / ticks
    used["bench driver"] = sum(os.times()[:2])
    return used


# --- databases, machine, report -----------------------------------------------------------------


async def create_databases(suffix: str) -> dict[str, str]:
    admin = await asyncpg.connect(POSTGRES_ADMIN)
    urls = {}
    base = POSTGRES_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    try:
        for service in SERVICES:
            name = f"bench_{service}_{suffix}"
            await admin.execute(f'CREATE DATABASE "{name}"')
            urls[service] = f"{base}/{name}"
    finally:
        await admin.close()
    return urls


async def drop_databases(suffix: str) -> None:
    admin = await asyncpg.connect(POSTGRES_ADMIN)
    try:
        for service in SERVICES:
            await admin.execute(f'DROP DATABASE IF EXISTS "bench_{service}_{suffix}" WITH (FORCE)')
    finally:
        await admin.close()


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


def report(results: dict[str, Any]) -> str:
    journeys, noop = results["journeys"], results["noop"]
    latency, hop = results["registration_api"], results["hop"]
    lines = [
        f"### {results['date']} · {results['database']} · tracing {results['tracing']}",
        "",
        f"Machine: {results['machine']}; commit {results['commit']}; "
        f"command `{results['command']}`",
        "",
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
        lines.append(
            f"| {service}: consumer `{CAPACITY_CONSUMERS[service]}` (fetching "
            f"{results['batch_size']}) draining a backlog of {rate['events']} events | "
            f"{rate['per_second']:.0f} events/s = "
            f"**{rate['per_second'] / noop['message']['per_second']:.0%}** of no-op "
            f"({rate['per_second'] / noop['batch']['per_second']:.0%} of the ceiling) | "
            "≥ 50% of no-op |"
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
        "",
    ]
    return "\n".join(lines)


def record(text: str) -> None:
    path = ROOT / "BENCHMARKS.md"
    marker = "<!-- runs: newest first -->"
    current = path.read_text() if path.exists() else f"# Benchmarks\n\n{marker}\n"
    if marker not in current:
        current += f"\n{marker}\n"
    path.write_text(current.replace(marker, f"{marker}\n\n{text}", 1))


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    data_dir = Path(tempfile.mkdtemp(prefix="jembatan-bench-"))
    suffix = uuid.uuid4().hex[:8]
    extra_env = {"LOG_LEVEL": "WARNING"}
    if args.batch_size:
        extra_env["CONSUMER_BATCH_SIZE"] = str(args.batch_size)
    if args.tracing == "off":
        extra_env |= {"OTEL_SDK_DISABLED": "true", "JEMBATAN_TRACES_DIR": ""}
    if args.database == "postgresql":
        database_urls = await create_databases(suffix)
    else:
        database_urls = {
            name: f"sqlite+aiosqlite:///{data_dir / f'{name}.db'}" for name in SERVICES
        }
    system = BenchSystem.on_free_ports(
        data_dir,
        extra_env=extra_env,
        per_service_env={name: {"DATABASE_URL": url} for name, url in database_urls.items()},
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
    print(f"starting nats-server and the four services in {data_dir} ...", flush=True)
    await asyncio.to_thread(system.start)
    token = issue_token(local_issuer(data_dir, NATIONAL_AGENCY), "bench", [NIK_READER])
    try:
        print(f"no-op consumer on {args.noop_messages} messages ...", flush=True)
        results["noop"] = await noop_consumer_rates(
            system.nats_url, args.noop_messages, args.noop_batch_size
        )
        for handler, rate in results["noop"].items():
            print(f"  handler per {handler}: {rate['per_second']:.0f} msg/s", flush=True)
        print(f"{args.journeys} journeys ...", flush=True)
        driver = Driver(system, args.journeys, args.chunk, token)
        cpu_before = cpu_seconds(system)
        try:
            results["journeys"] = await asyncio.wait_for(driver.run(), args.timeout_s)
        finally:
            await driver.close()
        journeys_ended = datetime.now(UTC)
        results["cpu_seconds"] = {
            name: used - cpu_before.get(name, 0.0) for name, used in cpu_seconds(system).items()
        }
        print(
            f"  {results['journeys']['journeys_per_second']:.0f} journeys/s "
            f"({results['journeys']['seconds']:.1f} s)",
            flush=True,
        )
        print("waiting for the consumers to finish the journeys' work ...", flush=True)
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
    staged, handled = await messaging_rows(database_urls)
    handled = [row for row in handled if row[3] <= journeys_ended]
    results["hop"], results["rates"] = consumer_figures(staged, handled)
    if args.database == "postgresql":
        await drop_databases(suffix)
    if args.keep_data:
        print(f"data, NATS storage and logs kept in {data_dir}", flush=True)
    else:
        shutil.rmtree(data_dir, ignore_errors=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="./dev bench", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--journeys", type=int, default=10_000, help="journeys (default 10000)")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
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
    parser.add_argument("--rate", type=float, default=100.0, help="registration API req/s")
    parser.add_argument("--rate-seconds", type=float, default=10.0)
    parser.add_argument("--timeout-s", type=float, default=900.0)
    parser.add_argument("--record", action="store_true", help="add the figures to BENCHMARKS.md")
    parser.add_argument(
        "--keep-data", action="store_true", help="keep the databases, NATS storage and logs"
    )
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    args = parser.parse_args()
    if args.journeys < 1 or args.journeys > 9999 * 89:
        parser.error("--journeys must be between 1 and 890,000 (distinct NIKs of the benchmark)")
    results = asyncio.run(bench(args))
    text = report(results)
    print()
    print(text)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))
    if args.record:
        record(text)
        print("added to BENCHMARKS.md")


if __name__ == "__main__":
    main()
