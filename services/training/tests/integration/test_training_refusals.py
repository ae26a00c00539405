"""What a careless or dishonest caller cannot get through training's API: a failed test counted
as a pass, fields the API does not know, dated facts after the service's today."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from nats.aio.client import Client as NatsClient

from jembatan_contracts import Track
from jembatan_kit.testing.helpers import events_on, running_app, trust_file_for_tests
from jembatan_training.bootstrap import build_app
from jembatan_training.config import TrainingSettings

Enrol = Callable[..., Awaitable[str]]  # the `enrol` fixture of conftest.py

STAGE = {"centre": "BPVP Samarinda", "starts_on": "2026-01-05", "ends_on": "2026-04-03"}
COHORT = {"training_centre": "BPVP Samarinda", "name": "Kelas A", "mode": "offline"}


@pytest.fixture
async def training(database_url: str, nats_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """Training with a clock the test can move (conftest's `enrol` uses this one)."""
    settings = TrainingSettings(
        database_url=database_url,
        nats_url=nats_url,
        outbox_poll_interval_s=0.1,
        auth_trust_file=trust_file_for_tests(),
        clock_adjustable=True,
    )
    async with running_app(build_app(settings)) as client:
        yield client


async def jlpt(training: httpx.AsyncClient, candidate_id: str, **fields: Any) -> httpx.Response:
    body = {"test": "JLPT", "level": "N4", "issuer": "Japan Foundation"} | fields
    body.setdefault("taken_on", "2026-05-15")
    return await training.post(f"/candidates/{candidate_id}/results", json=body)


async def test_a_jlpt_result_sent_as_failed_is_a_failed_attempt_that_never_counts(
    training: httpx.AsyncClient, nats_client: NatsClient, enrol: Enrol
) -> None:
    candidate_id = await enrol(Track.TITP, "automotive")

    response = await jlpt(training, candidate_id, level="N3", passed=False)

    assert response.status_code == 201, response.text
    recorded = response.json()
    assert (recorded["passed"], recorded["became_ready"]) == (False, False)
    assert recorded["readiness"]["ready"] is False
    view = (await training.get(f"/candidates/{candidate_id}")).json()
    assert [(r["level"], r["passed"]) for r in view["results"]] == [("N3", False)]
    assert view["ready"] is False

    imported = await training.post(
        "/results/bulk",
        content=(
            "candidate_id,test,level,issuer,taken_on,passed\n"
            f"{candidate_id},JLPT,N4,Japan Foundation,2026-05-16,false\n"
        ).encode(),
        headers={"content-type": "text/csv"},
    )
    assert imported.status_code == 200, imported.text
    [row] = imported.json()["rows"]
    assert (row["status"], row["passed"], row["became_ready"]) == ("accepted", False, False)
    assert (await training.get(f"/candidates/{candidate_id}")).json()["ready"] is False

    passing = await jlpt(training, candidate_id, taken_on="2026-07-05")
    assert passing.json()["became_ready"] is True
    certificates = [
        event
        for event in await events_on(nats_client, "TRAINING")
        if event["candidate_id"] == candidate_id and event["event_type"] == "CertificatePassed"
    ]
    assert [event["passed_on"] for event in certificates] == ["2026-07-05"]


async def test_a_field_the_api_does_not_know_is_refused_on_every_command(
    training: httpx.AsyncClient, enrol: Enrol
) -> None:
    candidate_id = await enrol(Track.TITP, "automotive")
    url = f"/candidates/{candidate_id}"
    cohort = await training.post("/cohorts", json=COHORT | {"stages": [STAGE]})
    assert cohort.status_code == 201, cohort.text
    cohort_id = cohort.json()["cohort_id"]

    for response, field in [
        (await jlpt(training, candidate_id, salary_deduction=True), "salary_deduction"),
        (
            await training.put(
                f"{url}/sector", json={"sector": "agriculture", "reason": "x", "forced": True}
            ),
            "forced",
        ),
        (
            await training.post(
                f"{url}/daily-scores", json={"day": "2026-05-04", "score": 81, "bonus": 10}
            ),
            "bonus",
        ),
        (
            await training.post("/cohorts", json=COHORT | {"stages": [STAGE], "fee_idr": 1}),
            "fee_idr",
        ),
        (
            await training.post("/cohorts", json=COHORT | {"stages": [STAGE | {"deposit": 1}]}),
            "stages[0].deposit",
        ),
        (
            await training.post(
                f"/cohorts/{cohort_id}/members", json={"candidate_id": candidate_id, "mvoe": True}
            ),
            "mvoe",
        ),
        (await training.put("/clock", json={"now": "2030-01-01T00:00:00Z", "why": "x"}), "why"),
    ]:
        assert response.status_code == 422, response.text
        refusal = response.json()
        assert refusal["error"] == "unknown_field"
        assert refusal["details"]["unknown_fields"] == [field]
        assert refusal["message"].startswith(f"{field}: is not a field of this request")

    view = (await training.get(url)).json()
    assert (view["results"], view["sector"], view["cohort_id"]) == ([], "automotive", None)
    assert len((await training.get("/cohorts")).json()) == 1
    assert (await training.get(f"{url}/daily-scores")).json() == []


async def test_dated_facts_are_judged_against_the_services_clock(
    training: httpx.AsyncClient, enrol: Enrol
) -> None:
    candidate_id = await enrol(Track.TITP, "automotive")
    moved = await training.put(
        "/clock", json={"now": (datetime.now().astimezone() + timedelta(days=30)).isoformat()}
    )
    assert moved.status_code == 200, moved.text
    today = datetime.fromisoformat(moved.json()["now"]).date()
    tomorrow, last_week = today + timedelta(days=1), today - timedelta(days=7)
    url = f"/candidates/{candidate_id}"

    future_score = await training.post(
        f"{url}/daily-scores", json={"day": str(tomorrow), "score": 80}
    )
    assert future_score.status_code == 422
    [failed] = future_score.json()["details"]["failed_rules"]
    assert failed["rule"] == "day_not_in_future"
    assert f"after today ({today.isoformat()})" in failed["message"]
    future_result = await jlpt(training, candidate_id, taken_on=str(tomorrow))
    assert future_result.status_code == 422
    assert "taken_on_not_in_future" in future_result.text

    # After the real today, yet past by the service's clock: accepted.
    score = await training.post(f"{url}/daily-scores", json={"day": str(last_week), "score": 80})
    assert score.status_code == 200, score.text
    assert (await jlpt(training, candidate_id, taken_on=str(last_week))).status_code == 201
