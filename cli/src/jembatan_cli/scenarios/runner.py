"""Run a programme of the source articles against a running system, through the services' public
HTTP APIs only, and sum up what happened.

A run follows the programme's calendar: applicants were selected as many months ago as their
training lasts (they are registered, and judged, today: see `calendar`), trained in classes with
penjurusan and daily scores, tested at the end of training (today, by the training service's
clock), matched to job orders, interviewed, contracted, given a Certificate of Eligibility and a
visa, and depart three months from now. Financing's clock
is then moved to the first due date, so the first instalments fall due, and some are paid.

Between steps the run waits for the events' effects by polling the API of the service that
consumes them (a registration shows up in training; readiness in placement; a contract as a loan
in financing; a departure as a repayment schedule).

    from jembatan_cli.scenarios.runner import run_scenario
    summary = run_scenario("kaltim", urls, local_issuers(data_dir), seed=0)
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from datetime import time as time_of_day
from typing import Any, Protocol, TypeVar

from jembatan_kit.issuers import LocalIssuer

from .calendar import Calendar
from .client import ScenarioError, Services, wait_until
from .definitions import Scenario
from .forms import (
    RESULT_COLUMNS,
    ROWS_PER_FILE,
    registration_body,
    registration_csv,
    results_rows,
    write_csv,
)
from .programmes import SCENARIOS
from .roster import Applicant, build_roster, weekdays_before
from .summary import Refusal, ScenarioSummary

BULK_STEPS_PER_REQUEST = 900
MATCHES_PER_CALL = 500

T = TypeVar("T")


class Progress(Protocol):
    def __call__(self, step: str, done: int, total: int) -> None: ...


def _no_progress(step: str, done: int, total: int) -> None:
    return None


def scenario_named(name: str) -> Scenario:
    try:
        return SCENARIOS[name]
    except KeyError:
        raise ScenarioError(
            f"there is no scenario {name!r}; choose one of {', '.join(SCENARIOS)} "
            "(`jembatan scenario list`)"
        ) from None


def size_of(scenario: Scenario, scale: float | None, size: int | None) -> int:
    if size is not None:
        chosen = size
    elif scale is not None:
        chosen = round(scenario.full_size * scale)
    else:
        chosen = scenario.size
    if chosen < 1:
        raise ScenarioError(
            f"a run needs at least one applicant; {scenario.name}'s full programme has "
            f"{scenario.full_size}, so use --scale {1 / scenario.full_size:.4f} or more"
        )
    return chosen


async def run_scenario_async(
    scenario: str | Scenario,
    urls: Mapping[str, str],
    issuers: Mapping[str, LocalIssuer],
    seed: int = 0,
    scale: float | None = None,
    *,
    size: int | None = None,
    progress: Progress | None = None,
    concurrency: int = 6,
) -> ScenarioSummary:
    """Run the scenario against the services at `urls` (service name -> base URL), with tokens
    signed by the agencies' `issuers` (agency -> issuer). `size` applicants, or `scale` x the
    programme's full year, or the scenario's small default. The same scenario, size and seed
    make the same people."""
    chosen = scenario if isinstance(scenario, Scenario) else scenario_named(scenario)
    services = Services(urls, issuers, user=f"scenario-{chosen.name}", concurrency=concurrency)
    try:
        run = ScenarioRun(
            chosen, services, seed, size_of(chosen, scale, size), progress or _no_progress
        )
        return await run.run()
    finally:
        await services.close()


def run_scenario(
    scenario: str | Scenario,
    urls: Mapping[str, str],
    issuers: Mapping[str, LocalIssuer],
    seed: int = 0,
    scale: float | None = None,
    *,
    size: int | None = None,
    progress: Progress | None = None,
    concurrency: int = 6,
) -> ScenarioSummary:
    """`run_scenario_async` for callers without an event loop (or inside one: it then runs in a
    thread of its own and blocks the caller until done)."""
    coroutine = run_scenario_async(
        scenario,
        urls,
        issuers,
        seed,
        scale,
        size=size,
        progress=progress,
        concurrency=concurrency,
    )
    if not _inside_event_loop():
        return asyncio.run(coroutine)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def _inside_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


class ScenarioRun:
    def __init__(
        self, scenario: Scenario, api: Services, seed: int, size: int, progress: Progress
    ) -> None:
        self.scenario = scenario
        self.api = api
        self.seed = seed
        self.size = size
        self.progress = progress
        self.agency = scenario.agency
        self.summary = ScenarioSummary(
            scenario=scenario.name,
            title=scenario.title,
            agency=scenario.agency,
            track=scenario.track,
            seed=seed,
            target=scenario.target,
        )
        self.wait_s = 60 + 0.1 * size
        self.operators: dict[str, str] = {}
        """The agency running each service instance (its /health says): it keeps the job orders
        of its placement service and moves its financing service's clock."""
        self.applicants: dict[str, Applicant] = {}
        """Registered applicants by candidate id."""
        self.cohort_ids: list[str] = []
        self.job_orders: list[dict[str, Any]] = []
        self.ready: list[str] = []
        self.placements: dict[str, str] = {}
        """Placement id by candidate id, from the shortlist on."""
        self.contracted: list[str] = []
        self.loans: dict[str, dict[str, Any]] = {}
        """Loan by candidate id."""
        self.departed: list[str] = []
        self.first_instalments: dict[str, dict[str, Any]] = {}
        """The first instalment of each departed candidate's loan, by candidate id."""

    async def run(self) -> ScenarioSummary:
        started = time.monotonic()
        calendar = Calendar.for_scenario(self.scenario, await self.check_system())
        roster = build_roster(self.scenario, self.size, self.seed, calendar.registered_on)
        self.summary.applicants = len(roster)
        await self.register(roster, calendar)
        if self.applicants:
            await self.wait_for_enrolment()
            await self.steer()
            await self.form_cohorts(calendar)
            await self.record_daily_scores(calendar)
            await self.record_results(calendar)
            await self.wait_for_readiness()
        if self.ready:
            await self.record_commitments()
            await self.open_job_orders(calendar)
            await self.shortlist(calendar)
            await self.interview_offer_contract(calendar)
        if self.contracted:
            await self.wait_for_loans()
            await self.grant_subsidies()
            await self.depart(calendar)
        if self.departed:
            await self.wait_for_schedules()
            await self.move_financing_clock()
            await self.wait_for_first_repayments_due()
            await self.pay_first_instalments()
        self.summary.elapsed_s = round(time.monotonic() - started, 1)
        return self.summary

    # -- helpers ---------------------------------------------------------------------------

    async def each(
        self, step: str, items: Iterable[T], action: Callable[[T], Awaitable[Any]]
    ) -> list[Any]:
        """Run `action` on every item (the client bounds how many calls run at once)."""
        todo = list(items)
        if not todo:
            return []
        done = 0
        self.progress(step, 0, len(todo))

        async def one(item: T) -> Any:
            nonlocal done
            result = await action(item)
            done += 1
            self.progress(step, done, len(todo))
            return result

        return list(await asyncio.gather(*(one(item) for item in todo)))

    async def wait_for(self, step: str, expected: int, found: Callable[[], Awaitable[int]]) -> None:
        self.progress(step, 0, expected)

        async def complete() -> bool:
            count = await found()
            self.progress(step, count, expected)
            return count >= expected

        await wait_until(complete, f"{step} ({expected} expected)", self.wait_s)

    # -- the steps -------------------------------------------------------------------------

    async def check_system(self) -> date:
        """Every service answers and is connected to NATS; today by the training clock."""
        today = None
        for name in self.api.urls:
            response = await self.api.request(name, "GET", "/health", self.agency)
            status = response.json() if response.status_code == 200 else {}
            self.operators[name] = str(status.get("agency", ""))
            if status.get("nats") != "connected":
                raise ScenarioError(
                    f"{name} is not healthy ({response.status_code}, nats="
                    f"{status.get('nats', 'unknown')}): run `jembatan health` and see "
                    f"var/logs/{name}.log"
                )
            if name == "training":
                today = datetime.fromisoformat(status["now"]).date()
        assert today is not None
        return today

    async def register(self, roster: list[Applicant], calendar: Calendar) -> None:
        """A labour office uploads its spreadsheet; Kemnaker's referrals come one by one."""
        self.progress("registering applicants", 0, len(roster))
        refusals: list[tuple[str, str]] = []
        if self.scenario.registration == "bulk":
            for start in range(0, len(roster), ROWS_PER_FILE):
                part = roster[start : start + ROWS_PER_FILE]
                outcome = await self.api.call(
                    "registration",
                    "POST",
                    "/candidates/bulk",
                    self.agency,
                    params={"agency": self.agency},
                    csv=registration_csv(part, self.scenario, calendar),
                )
                if outcome["replayed"]:
                    raise self._already_ran()
                for row, applicant in zip(outcome["rows"], part, strict=True):
                    if row["status"] == "accepted":
                        self._registered(applicant, row["candidate_id"], row["journey_id"])
                    else:
                        refusals += [
                            (error["rule"], error["message"].split("; ")[0])
                            for error in row["errors"]
                        ]
                self.progress("registering applicants", start + len(part), len(roster))
        else:

            async def register_one(applicant: Applicant) -> list[tuple[str, str]]:
                response = await self.api.request(
                    "registration",
                    "POST",
                    "/candidates",
                    self.agency,
                    json=registration_body(applicant, self.scenario, self.agency, calendar),
                )
                body = response.json()
                if response.status_code == 201:
                    self._registered(applicant, body["candidate_id"], body["journey_id"])
                    return []
                if response.status_code not in (409, 422):
                    raise ScenarioError(f"registration answered {response.status_code}: {body}")
                checks = body.get("details", {}).get("checks")
                if checks:
                    return [(c["rule"], c["requirement"]) for c in checks if not c["passed"]]
                return [(body["error"], body["message"])]

            for found in await self.each("registering applicants", roster, register_one):
                refusals += found
        if (
            not self.applicants
            and refusals
            and all(r == "one_active_registration" for r, _ in refusals)
        ):
            raise self._already_ran()
        self.summary.registered = len(self.applicants)
        counts = Counter(rule for rule, _ in refusals)
        reasons = dict(refusals)
        self.summary.refusals = [
            Refusal(rule, count, reasons[rule]) for rule, count in counts.most_common()
        ]

    def _already_ran(self) -> ScenarioError:
        return ScenarioError(
            f"scenario {self.scenario.name} with seed {self.seed} has already run against this "
            f"system, so its people are registered already; run it with another seed "
            f"(--seed {self.seed + 1}) or start the system afresh (delete its data folder)"
        )

    def _registered(self, applicant: Applicant, candidate_id: str, journey_id: str) -> None:
        self.applicants[candidate_id] = applicant
        self.summary.candidate_ids.append(candidate_id)
        self.summary.journey_ids.append(journey_id)

    async def wait_for_enrolment(self) -> None:
        async def enrolled() -> int:
            listed = await self.api.pages(
                "training", "/candidates", self.agency, {"agency": self.agency}
            )
            return len({c["candidate_id"] for c in listed} & self.applicants.keys())

        await self.wait_for("training enrols the registered", len(self.applicants), enrolled)
        self.summary.enrolled = await enrolled()

    async def steer(self) -> None:
        """Penjurusan: the training centre steers some candidates to a sector with job orders."""
        to_steer = [(cid, a) for cid, a in self.applicants.items() if a.steered_to]

        async def steer_one(item: tuple[str, Applicant]) -> None:
            candidate_id, applicant = item
            await self.api.call(
                "training",
                "PUT",
                f"/candidates/{candidate_id}/sector",
                self.agency,
                json={"sector": applicant.steered_to, "reason": applicant.steer_reason},
            )

        await self.each("penjurusan (steering to sectors)", to_steer, steer_one)
        self.summary.steered = len(to_steer)

    async def form_cohorts(self, calendar: Calendar) -> None:
        """Classes of the scenario's capacity, by mode (and by sector where the centre does)."""
        groups: dict[tuple[str, str], list[str]] = defaultdict(list)
        for candidate_id, applicant in self.applicants.items():
            sector = applicant.sector if self.scenario.cohorts_by_sector else ""
            groups[(sector, applicant.mode)].append(candidate_id)
        capacity = self.scenario.cohort_capacity
        classes = [
            (sector, mode, number, members[start : start + capacity])
            for (sector, mode), members in sorted(groups.items())
            for number, start in enumerate(range(0, len(members), capacity), start=1)
        ]
        stages = [
            {"centre": centre, "starts_on": str(start), "ends_on": str(end)}
            for centre, start, end in calendar.stages
        ]

        async def open_class(spec: tuple[str, str, int, list[str]]) -> dict[str, Any]:
            sector, mode, number, members = spec
            label = "-".join(part for part in (sector, mode) if part)
            cohort = await self.api.call(
                "training",
                "POST",
                "/cohorts",
                self.agency,
                json={
                    "training_centre": self.scenario.training_centre,
                    "name": f"Kelas Jepang {calendar.selection.year} {label} {number} "
                    f"({self.scenario.programme}, seed {self.seed})",
                    "mode": mode,
                    "capacity": capacity,
                    "sector": sector or None,
                    "stages": stages,
                },
            )
            for candidate_id in members:
                cohort = await self.api.call(
                    "training",
                    "POST",
                    f"/cohorts/{cohort['cohort_id']}/members",
                    self.agency,
                    json={"candidate_id": candidate_id},
                )
            return cohort

        cohorts = await self.each("forming classes", classes, open_class)
        self.cohort_ids = [cohort["cohort_id"] for cohort in cohorts]
        self.summary.cohorts = len(cohorts)
        self.summary.in_cohorts = sum(cohort["member_count"] for cohort in cohorts)
        by_mode: Counter[str] = Counter()
        for cohort in cohorts:
            by_mode[cohort["mode"]] += cohort["member_count"]
        self.summary.members_by_mode = dict(by_mode.most_common())

    async def record_daily_scores(self, calendar: Calendar) -> None:
        if not self.scenario.daily_score_days:
            return
        days = weekdays_before(calendar.tests_taken_on, self.scenario.daily_score_days)
        scores = [
            (candidate_id, day, score)
            for candidate_id, applicant in self.applicants.items()
            for day, score in zip(days, applicant.daily_scores, strict=True)
        ]

        async def score_one(item: tuple[str, date, int]) -> None:
            candidate_id, day, score = item
            await self.api.call(
                "training",
                "POST",
                f"/candidates/{candidate_id}/daily-scores",
                self.agency,
                json={"day": str(day), "score": score},
            )

        await self.each("daily scores", scores, score_one)

        async def warnings(cohort_id: str) -> int:
            listed = await self.api.call(
                "training", "GET", f"/cohorts/{cohort_id}/early-warning", self.agency
            )
            return len(listed["below_target"])

        self.summary.below_daily_target = sum(
            await self.each("early-warning lists", self.cohort_ids, warnings)
        )

    async def record_results(self, calendar: Calendar) -> None:
        """The test centre's results file: Japanese for all; SSW also the sector skill test."""
        rows = results_rows(self.applicants, self.scenario, calendar.tests_taken_on)
        parts = [
            rows[start : start + ROWS_PER_FILE] for start in range(0, len(rows), ROWS_PER_FILE)
        ]
        outcomes: list[dict[str, Any]] = []
        for number, part in enumerate(parts, start=1):
            self.progress("importing test results", number - 1, len(parts))
            outcome = await self.api.call(
                "training",
                "POST",
                "/results/bulk",
                self.agency,
                csv=write_csv(RESULT_COLUMNS, part),
            )
            outcomes += outcome["rows"]
        self.progress("importing test results", len(parts), len(parts))
        refused = [row for row in outcomes if row["status"] != "accepted"]
        if refused:
            raise ScenarioError(
                f"training refused {len(refused)} test result(s), e.g. "
                f"{refused[0]['errors']}; the training rules changed or "
                "the scenario's data no longer fits them"
            )
        passed: Counter[str] = Counter()
        for row, outcome_row in zip(rows, outcomes, strict=True):
            if outcome_row["passed"]:
                passed[f"JLPT {row['level']}" if row["test"] == "JLPT" else row["test"]] += 1
        self.summary.certificates = dict(sorted(passed.items()))

    async def wait_for_readiness(self) -> None:
        """Training says who is ready; placement must have heard it (CandidateReadyForPlacement)."""
        listed = await self.api.pages(
            "training", "/candidates", self.agency, {"agency": self.agency, "ready": "true"}
        )
        self.ready = sorted({c["candidate_id"] for c in listed} & self.applicants.keys())

        async def known_to_placement() -> int:
            listed = await self.api.pages(
                "placement", "/ready-candidates", self.agency, {"track": self.scenario.track}
            )
            return len({c["candidate_id"] for c in listed} & set(self.ready))

        await self.wait_for("placement hears who is ready", len(self.ready), known_to_placement)
        self.summary.ready = len(self.ready)

    async def record_commitments(self) -> None:
        committed = [
            cid for cid in self.ready if self.applicants[cid].months_willing_to_stay is not None
        ]

        async def commit(candidate_id: str) -> None:
            await self.api.call(
                "placement",
                "PUT",
                f"/ready-candidates/{candidate_id}/commitment",
                self.agency,
                json={
                    "months_willing_to_stay": self.applicants[candidate_id].months_willing_to_stay
                },
            )

        await self.each("how long each commits to stay", committed, commit)

    async def open_job_orders(self, calendar: Calendar) -> None:
        """One order per employer, with a slot for each ready candidate of its sector."""
        ready_by_sector = Counter(self.applicants[cid].sector for cid in self.ready)

        async def open_order(plan: Any) -> dict[str, Any]:
            return dict(
                await self.api.call(
                    "placement",
                    "POST",
                    "/job-orders",
                    self.operators["placement"],
                    json={
                        "employer": plan.employer,
                        "supervising_organisation": plan.supervising_organisation,
                        "prefecture": plan.prefecture,
                        "sector": plan.sector,
                        "track": self.scenario.track,
                        "slots": max(1, ready_by_sector[plan.sector]),
                        "monthly_wage_jpy": plan.monthly_wage_jpy,
                        "contract_months": plan.contract_months,
                        "required_certificates": list(plan.required_certificates),
                        "interview_date": str(calendar.interview_on),
                    },
                )
            )

        orders = await self.each("job orders from Japan", self.scenario.job_orders, open_order)
        self.job_orders = orders
        self.summary.job_orders = len(orders)
        self.summary.slots = sum(order["slots"] for order in orders)
        self.summary.job_order_ids = [order["id"] for order in orders]

    async def shortlist(self, calendar: Calendar) -> None:
        """Matching ranks the ready candidates; ours are shortlisted best first, up to the slots."""
        ours = set(self.ready)

        async def shortlist_order(order: dict[str, Any]) -> int:
            taken = 0
            while taken < order["slots"]:
                # Matching answers a page of the best; those shortlisted leave it for the next.
                ranked = await self.api.call(
                    "placement",
                    "GET",
                    f"/job-orders/{order['id']}/matches",
                    self.agency,
                    params={"limit": MATCHES_PER_CALL},
                )
                chosen = [
                    m["candidate_id"]
                    for m in ranked["matches"]
                    if m["candidate_id"] in ours and m["candidate_id"] not in self.placements
                ][: order["slots"] - taken]
                if not chosen:
                    break
                for candidate_id in chosen:
                    placement = await self.api.call(
                        "placement",
                        "POST",
                        f"/job-orders/{order['id']}/shortlist",
                        self.agency,
                        json={
                            "candidate_id": candidate_id,
                            "shortlisted_on": str(calendar.shortlisted_on),
                        },
                    )
                    self.placements[candidate_id] = placement["id"]
                taken += len(chosen)
            return taken

        self.summary.shortlisted = sum(
            await self.each("matching and shortlists", self.job_orders, shortlist_order)
        )

    async def interview_offer_contract(self, calendar: Calendar) -> None:
        async def follow(candidate_id: str) -> str:
            path = f"/placements/{self.placements[candidate_id]}"
            passed = self.applicants[candidate_id].passes_interview
            await self.api.call(
                "placement",
                "POST",
                f"{path}/interview",
                self.agency,
                json={"passed": passed, "interviewed_on": str(calendar.interview_on)},
            )
            if not passed:
                return "failed"
            await self.api.call(
                "placement",
                "POST",
                f"{path}/offer",
                self.agency,
                json={"on": str(calendar.offer_on)},
            )
            placed = await self.api.call(
                "placement",
                "POST",
                f"{path}/contract",
                self.agency,
                json={"on": str(calendar.contract_on)},
            )
            return str(placed["status"])

        outcomes = await self.each(
            "interviews, offers and contracts", list(self.placements), follow
        )
        self.contracted = [
            cid for cid, status in zip(self.placements, outcomes, strict=True) if status == "placed"
        ]
        self.summary.interviews_passed = sum(1 for status in outcomes if status != "failed")
        self.summary.offered = self.summary.interviews_passed
        self.summary.contracts = len(self.contracted)

    async def wait_for_loans(self) -> None:
        """Financing opens a loan on CandidatePlaced, with the track's itemised costs."""

        async def opened() -> int:
            async def loan_of(candidate_id: str) -> None:
                loans = await self.api.call(
                    "financing", "GET", "/loans", self.agency, params={"candidate_id": candidate_id}
                )
                if loans:
                    self.loans[candidate_id] = loans[0]

            pending = [cid for cid in self.contracted if cid not in self.loans]
            await asyncio.gather(*(loan_of(cid) for cid in pending))
            return len(self.loans)

        await self.wait_for("financing opens the loans", len(self.contracted), opened)
        self.summary.loans_opened = len(self.loans)
        self.summary.principal_idr = sum(loan["principal_idr"] for loan in self.loans.values())
        self.summary.loan_ids = [loan["loan_id"] for loan in self.loans.values()]

    async def grant_subsidies(self) -> None:
        grants = [
            (loan["loan_id"], plan)
            for loan in self.loans.values()
            for plan in self.scenario.subsidies
        ]

        async def grant(item: tuple[str, Any]) -> int:
            loan_id, plan = item
            await self.api.call(
                "financing",
                "POST",
                f"/loans/{loan_id}/subsidies",
                self.agency,
                json={"provider": plan.provider, "item": plan.item, "amount_idr": plan.amount_idr},
            )
            return int(plan.amount_idr)

        self.summary.subsidies_idr = sum(await self.each("training subsidies", grants, grant))

    async def depart(self, calendar: Calendar) -> None:
        """The supervising organisation files CoE, visa and departure for its people at once."""
        steps = [
            {"placement_id": self.placements[cid], "step": step, "on": str(day)}
            for cid in self.contracted
            for step, day in (
                ("certificate-of-eligibility", calendar.coe_on),
                ("visa", calendar.visa_on),
                ("departure", calendar.departure_on),
            )
        ]
        chunks = [
            steps[start : start + BULK_STEPS_PER_REQUEST]
            for start in range(0, len(steps), BULK_STEPS_PER_REQUEST)
        ]

        async def send(chunk: list[dict[str, str]]) -> list[tuple[dict[str, str], dict[str, Any]]]:
            outcome = await self.api.call(
                "placement", "POST", "/placements/steps/bulk", self.agency, json={"steps": chunk}
            )
            return list(zip(chunk, outcome["rows"], strict=True))

        accepted: Counter[str] = Counter()
        refused: list[dict[str, Any]] = []
        by_placement = {placement_id: cid for cid, placement_id in self.placements.items()}
        for pairs in await self.each("CoE, visas and departures", chunks, send):
            for step, row in pairs:
                if row["status"] == "accepted":
                    accepted[step["step"]] += 1
                    if step["step"] == "departure":
                        self.departed.append(by_placement[step["placement_id"]])
                else:
                    refused.append(row)
        if refused:
            raise ScenarioError(
                f"placement refused {len(refused)} step(s), e.g. {refused[0]['error']}: "
                f"{refused[0]['message']}"
            )
        self.summary.coe_issued = accepted["certificate-of-eligibility"]
        self.summary.visas = accepted["visa"]
        self.summary.departed = len(self.departed)
        if self.departed:
            self.summary.departure_date = calendar.departure_on

    async def wait_for_schedules(self) -> None:
        """Departed fixes each loan's schedule, the first instalment in the 3rd month."""

        async def fixed() -> int:
            pending = [cid for cid in self.departed if cid not in self.first_instalments]

            async def schedule_of(candidate_id: str) -> None:
                loan_id = self.loans[candidate_id]["loan_id"]
                schedule = await self.api.call(
                    "financing", "GET", f"/loans/{loan_id}/schedule", self.agency
                )
                if schedule:
                    self.first_instalments[candidate_id] = schedule[0]

            await asyncio.gather(*(schedule_of(cid) for cid in pending))
            return len(self.first_instalments)

        await self.wait_for("repayment schedules fixed", len(self.departed), fixed)
        self.summary.first_due_date = min(
            date.fromisoformat(first["due_date"]) for first in self.first_instalments.values()
        )

    async def move_financing_clock(self) -> None:
        """Forward to noon of the last first-due date (never back: the clock only moves on)."""
        latest = max(
            date.fromisoformat(first["due_date"]) for first in self.first_instalments.values()
        )
        target = datetime.combine(latest, time_of_day(12), UTC)
        operator = self.operators["financing"]
        status = await self.api.call("financing", "GET", "/health", operator)
        if datetime.fromisoformat(status["now"]) < target:
            await self.api.call(
                "financing",
                "PUT",
                "/clock",
                operator,
                json={"now": target.isoformat()},
            )

    async def wait_for_first_repayments_due(self) -> None:
        """The scheduler announces each first instalment once (RepaymentDue)."""

        async def announced() -> int:
            pending = [
                cid for cid, first in self.first_instalments.items() if not first["announced_at"]
            ]

            async def refresh(candidate_id: str) -> None:
                loan_id = self.loans[candidate_id]["loan_id"]
                schedule = await self.api.call(
                    "financing", "GET", f"/loans/{loan_id}/schedule", self.agency
                )
                self.first_instalments[candidate_id] = schedule[0]

            await asyncio.gather(*(refresh(cid) for cid in pending))
            return sum(1 for first in self.first_instalments.values() if first["announced_at"])

        await self.wait_for("first repayments fall due", len(self.departed), announced)
        self.summary.first_repayments_due = len(self.first_instalments)

    async def pay_first_instalments(self) -> None:
        """Some participants pay on the due date, by their own transfer (never a deduction)."""
        payers = [cid for cid in self.departed if self.applicants[cid].pays_first_instalment]

        async def pay(candidate_id: str) -> None:
            loan_id = self.loans[candidate_id]["loan_id"]
            first = self.first_instalments[candidate_id]
            await self.api.call(
                "financing",
                "POST",
                f"/loans/{loan_id}/payments",
                self.agency,
                json={
                    "reference": f"TRF-{self.scenario.name}-{self.seed}-{loan_id[:8]}-1",
                    "paid_on": first["due_date"],
                    "amount_idr": first["amount_idr"],
                },
            )

        await self.each("first repayments paid", payers, pay)
        self.summary.first_payments = len(payers)
