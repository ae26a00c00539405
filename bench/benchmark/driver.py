"""The driver: candidates taken from registration to their first `RepaymentDue` through the
services' public APIs, each step sent once the bus shows the service that must know of the
candidate has handled its event."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as day_time
from typing import Any

import httpx
import nats
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg

from jembatan_cli.system import LocalSystem

from .bus import Handled, consume, follow, stop
from .candidates import candidate_rows, to_csv


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
    so several drivers can run one after the other on one system. With `pace_per_s`, candidates
    are registered at that steady rate, `chunk` at a time, instead of all at once."""

    def __init__(
        self,
        system: LocalSystem,
        journeys: int,
        chunk: int,
        token: str,
        first_candidate: int = 0,
        unavailable_for_s: float = 180.0,
        pace_per_s: float | None = None,
    ) -> None:
        self.system = system
        self.pace_per_s = pace_per_s
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
        # Loans opened for journeys whose registration was not yet answered (the answer lost
        # to a restart and asked again while the journey went on), by journey.
        self.unanswered_loans: dict[str, str] = {}
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
            await stop(workers)
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
            journey, placement = event["journey_id"], event["placement_id"]
            # Delivered again when an acknowledgement was lost (nats-server killed): sent once.
            if placement in self.financed:
                return
            if journey in self.ours:
                self.to_depart(placement)
            else:
                self.unanswered_loans[journey] = placement
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

    def to_depart(self, placement: str) -> None:
        """A placement of ours whose loan is open: its departure is sent, once."""
        self.financed.add(placement)
        self.loans.put_nowait(placement)

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
                journey = row["journey_id"]
                self.ours.add(journey)
                self.journeys.registered_at[journey] = time.perf_counter()
                if journey in self.unanswered_loans:
                    self.to_depart(self.unanswered_loans.pop(journey))

        if self.pace_per_s is None:
            await asyncio.gather(*(upload(chunk) for chunk in chunks))
            return
        # Paced: each chunk leaves on time whether or not the one before was answered.
        started, sent, uploads = time.perf_counter(), 0, []
        for chunk in chunks:
            await asyncio.sleep(max(0.0, started + sent / self.pace_per_s - time.perf_counter()))
            uploads.append(asyncio.create_task(upload(chunk)))
            sent += len(chunk)
        await asyncio.gather(*uploads)

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
