"""Each programme of the source articles, run at a small size against the whole system (the
services as processes, one nats-server), and its summary checked against what the services'
own APIs report about the same candidates."""

from __future__ import annotations

import asyncio
import json
import re
from collections import Counter
from dataclasses import asdict
from datetime import date
from typing import Any

import httpx
import pytest

from jembatan_cli.scenarios.programmes import SCENARIOS
from jembatan_cli.scenarios.runner import run_scenario_async
from jembatan_cli.scenarios.summary import ScenarioSummary, format_summary
from jembatan_kit.issuers import LocalIssuer, issue_token

pytestmark = pytest.mark.e2e

PATH_TO_DEPARTURE = [
    "shortlisted",
    "interviewed",
    "offered",
    "placed",
    "coe_issued",
    "visa_issued",
    "departed",
]
AGE_RULES = {"minimum_age", "maximum_age"}


class Api:
    """Reads with a token of the scenario's agency, as its operators would."""

    def __init__(self, urls: dict[str, str], issuer: LocalIssuer) -> None:
        self.urls = urls
        self.headers = {"authorization": f"Bearer {issue_token(issuer, 'checker', [])}"}
        self.http = httpx.AsyncClient(timeout=30)
        self.slots = asyncio.Semaphore(8)

    async def get(self, service: str, path: str, **params: Any) -> Any:
        async with self.slots:
            response = await self.http.get(
                f"{self.urls[service]}{path}", params=params, headers=self.headers
            )
        assert response.status_code == 200, f"{service} {path}: {response.text}"
        return response.json()

    async def each(self, service: str, paths: list[str]) -> list[Any]:
        return list(await asyncio.gather(*(self.get(service, path) for path in paths)))


def months_between(earlier: date, later: date) -> int:
    return (later.year * 12 + later.month) - (earlier.year * 12 + earlier.month)


@pytest.mark.parametrize("name", list(SCENARIOS))
async def test_a_scenario_summary_agrees_with_the_services(
    name: str, urls: dict[str, str], issuers: dict[str, LocalIssuer]
) -> None:
    scenario = SCENARIOS[name]
    summary = await run_scenario_async(name, urls, issuers, seed=0)
    api = Api(urls, issuers[scenario.agency])
    try:
        await _check_registration(api, summary, name)
        enrolments = await _check_training(api, summary, name)
        placements = await _check_placement(api, summary, enrolments)
        await _check_financing(api, summary, placements)
    finally:
        await api.http.aclose()
    printed = format_summary(summary) + json.dumps(asdict(summary), default=str)
    assert not re.search(r"(?<![\d.])\d{16}(?!\d)", printed), "a NIK in the summary"
    assert "+62" not in printed, "a phone number in the summary"


async def _check_registration(api: Api, summary: ScenarioSummary, name: str) -> None:
    scenario = SCENARIOS[name]
    assert summary.applicants == scenario.size
    candidates = await api.each(
        "registration", [f"/candidates/{cid}" for cid in summary.candidate_ids]
    )
    assert len(candidates) == summary.registered > 0
    assert {c["agency"] for c in candidates} == {scenario.agency}
    assert {c["track"] for c in candidates} == {scenario.track}
    assert {c["journey_id"] for c in candidates} == set(summary.journey_ids)
    assert {c["nik_masked"][:4] for c in candidates} <= {r.code for r in scenario.regions}
    # Only the applicants generated outside the track's ages are refused, and for that reason.
    assert (summary.refused > 0) == (scenario.ineligible_share > 0)
    assert {refusal.rule for refusal in summary.refusals} <= AGE_RULES


async def _check_training(api: Api, summary: ScenarioSummary, name: str) -> list[dict[str, Any]]:
    scenario = SCENARIOS[name]
    enrolments = await api.each("training", [f"/candidates/{cid}" for cid in summary.candidate_ids])
    assert len(enrolments) == summary.enrolled == summary.registered
    ready = [e for e in enrolments if e["ready"]]
    assert len(ready) == summary.ready > 0
    assert sum(1 for e in enrolments if e["cohort_id"]) == summary.in_cohorts
    assert sum(1 for e in enrolments if len(e["sector_history"]) > 1) == summary.steered
    if scenario.steering:
        assert summary.steered > 0
        assert all(e["sector_history"][-1]["reason"] for e in enrolments)

    cohorts = await api.each(
        "training", [f"/cohorts/{cid}" for cid in {e["cohort_id"] for e in enrolments}]
    )
    assert len(cohorts) == summary.cohorts
    assert all(c["member_count"] <= scenario.cohort_capacity for c in cohorts)
    by_mode: Counter[str] = Counter()
    for cohort in cohorts:
        by_mode[cohort["mode"]] += cohort["member_count"]
        assert [s["centre"] for s in cohort["stages"]] == [s.centre for s in scenario.stages]
        if scenario.cohorts_by_sector:
            assert cohort["sector"] in scenario.sectors
    assert dict(by_mode) == summary.members_by_mode

    passed: Counter[str] = Counter()
    for enrolment in enrolments:
        for result in enrolment["results"]:
            if result["passed"]:
                passed[
                    f"JLPT {result['level']}" if result["test"] == "JLPT" else result["test"]
                ] += 1
    assert dict(passed) == summary.certificates

    # The rules of the track: TITP needs Japanese N4; SSW also the sector's skill test, and
    # caregivers the nursing-care Japanese test.
    for enrolment in ready:
        met = {rule["rule"] for rule in enrolment["readiness"]["met"]}
        if scenario.track == "TITP":
            assert met == {"japanese_n4"}
            assert all(r["test"] == "JLPT" for r in enrolment["results"])
        else:
            expected = {"japanese_n4", "ssw_skill_sector"}
            if enrolment["sector"] == "caregiver":
                expected.add("nursing_care_japanese")
            assert met == expected
            assert any(
                r["test"] == "SSW_SKILL" and r["passed"] and r["sector"] == enrolment["sector"]
                for r in enrolment["results"]
            )
    for enrolment in enrolments:
        if not enrolment["ready"]:
            assert enrolment["readiness"]["missing"]
    if scenario.track == "SSW":
        # Someone with Japanese but without the sector test is not ready.
        held_back = [
            e
            for e in enrolments
            if not e["ready"] and {r["rule"] for r in e["readiness"]["met"]} == {"japanese_n4"}
        ]
        assert held_back, "the run should show the sector test holding someone back"
    if scenario.daily_score_days:
        assert summary.below_daily_target is not None
        below = 0
        for cohort in cohorts:
            warning = await api.get("training", f"/cohorts/{cohort['cohort_id']}/early-warning")
            assert warning["target"] == 80
            below += len(warning["below_target"])
        assert below == summary.below_daily_target
    return enrolments


async def _check_placement(
    api: Api, summary: ScenarioSummary, enrolments: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    lists = await asyncio.gather(
        *(api.get("placement", "/placements", candidate_id=e["candidate_id"]) for e in enrolments)
    )
    placements = [p for found in lists for p in found]
    assert len(placements) == summary.shortlisted
    failed = [p for p in placements if p["status"] == "interview_failed"]
    assert len(failed) == summary.shortlisted - summary.interviews_passed
    departed = [p for p in placements if p["status"] == "departed"]
    assert len(departed) == summary.departed == summary.contracts > 0
    sector_of = {e["candidate_id"]: e["sector"] for e in enrolments}
    for placement in departed:
        assert [step["status"] for step in placement["steps"]] == PATH_TO_DEPARTURE
        # Training matches the job types in Japan.
        assert placement["sector"] == sector_of[placement["candidate_id"]]
    orders = await api.each("placement", [f"/job-orders/{oid}" for oid in summary.job_order_ids])
    assert sum(order["filled"] for order in orders) == summary.contracts
    assert sum(order["slots"] for order in orders) == summary.slots
    return departed


async def _check_financing(
    api: Api, summary: ScenarioSummary, departed: list[dict[str, Any]]
) -> None:
    loans = []
    for placement in departed:
        found = await api.get("financing", "/loans", candidate_id=placement["candidate_id"])
        assert len(found) == 1
        loans.append((placement, await api.get("financing", f"/loans/{found[0]['loan_id']}")))
    assert len(loans) == summary.loans_opened
    assert sum(loan["principal_idr"] for _, loan in loans) == summary.principal_idr
    subsidies = sum(s["amount_idr"] for _, loan in loans for s in loan["subsidies"])
    assert subsidies == summary.subsidies_idr
    announced = paid = 0
    for placement, loan in loans:
        assert loan["repayment_channel"] == "own_transfer"
        first = loan["schedule"][0]
        # Repayment starts in the third month after departure, never earlier.
        departure = date.fromisoformat(placement["departure_date"])
        assert months_between(departure, date.fromisoformat(first["due_date"])) == 3
        announced += first["announced_at"] is not None
        paid += bool(loan["payments"])
    assert announced == summary.first_repayments_due == summary.departed
    assert paid == summary.first_payments
    assert summary.first_due_date is not None
