"""Each daily score is published (`DailyScoreRecorded`) with the candidate's cohort, so read
models elsewhere can follow cohorts against the daily target; no personal data travels."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx
from nats.aio.client import Client as NatsClient

from jembatan_kit.testing.helpers import wait_for_events

Enrol = Callable[..., Awaitable[str]]  # the `enrol` fixture of conftest.py


async def test_each_daily_score_is_published_with_the_candidates_cohort(
    training: httpx.AsyncClient, enrol: Enrol, nats_client: NatsClient
) -> None:
    opened = await training.post(
        "/cohorts",
        json={
            "training_centre": "BPVP Samarinda",
            "name": "Kelas Jepang 2026-B",
            "mode": "offline",
            "stages": [
                {"centre": "BPVP Samarinda", "starts_on": "2026-01-05", "ends_on": "2026-04-03"}
            ],
        },
    )
    assert opened.status_code == 201, opened.text
    cohort_id = opened.json()["cohort_id"]
    in_cohort, alone = await enrol(), await enrol()
    seated = await training.post(f"/cohorts/{cohort_id}/members", json={"candidate_id": in_cohort})
    assert seated.status_code == 201, seated.text
    for candidate_id, day, score in [
        (in_cohort, "2026-05-01", 70),
        (in_cohort, "2026-05-02", 90),
        (alone, "2026-05-01", 85),
    ]:
        response = await training.post(
            f"/candidates/{candidate_id}/daily-scores", json={"day": day, "score": score}
        )
        assert response.status_code == 200, response.text

    published = await wait_for_events(
        nats_client, "TRAINING", lambda e: e["event_type"] == "DailyScoreRecorded", count=3
    )
    assert sorted(
        (
            e["candidate_id"] == in_cohort,
            e["day"],
            e["score"],
            e["cohort_id"] == cohort_id,
            e["cohort_name"],
            e["training_centre"],
            e["agency"],
        )
        for e in published
    ) == [
        (False, "2026-05-01", 85, False, None, None, "kaltim"),
        (True, "2026-05-01", 70, True, "Kelas Jepang 2026-B", "BPVP Samarinda", "kaltim"),
        (True, "2026-05-02", 90, True, "Kelas Jepang 2026-B", "BPVP Samarinda", "kaltim"),
    ]
