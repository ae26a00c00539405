"""Penjurusan suggestions over HTTP, against a real nats-server and both databases: for one
candidate and for a cohort's members, ranked with their reasons, applied through the sector
change, and only for the caller's own agency."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from typing import Any

import httpx

from jembatan_contracts import Track
from jembatan_kit.testing.helpers import token_for

Enrol = Callable[..., Awaitable[str]]  # the `enrol` fixture of conftest.py
STAGES = [{"centre": "BPVP Samarinda", "starts_on": "2026-01-05", "ends_on": "2026-04-03"}]


def sectors(view: dict[str, Any]) -> list[str]:
    return [suggestion["sector"] for suggestion in view["suggestions"]]


def reasons(view: dict[str, Any], sector: str) -> list[str]:
    suggestion = next(s for s in view["suggestions"] if s["sector"] == sector)
    return [reason["code"] for reason in suggestion["reasons"]]


async def test_a_candidate_is_steered_by_their_results_and_the_suggestions_follow(
    training: httpx.AsyncClient, enrol: Enrol
) -> None:
    candidate = await enrol(Track.SSW, "caregiver")
    fresh = (await training.get(f"/candidates/{candidate}/sector-suggestions")).json()
    assert (fresh["sector"], fresh["track"], fresh["sector_fixed"]) == ("caregiver", "SSW", None)
    assert sectors(fresh)[0] == "caregiver"
    assert reasons(fresh, "caregiver") == ["declared_interest", "certificates_missing", "in_demand"]
    assert [rule["rule"] for rule in fresh["readiness"]["missing"]] == [
        "japanese_n4",
        "ssw_skill_sector",
        "nursing_care_japanese",
    ]

    for result in (
        {"test": "JLPT", "level": "N4", "issuer": "Japan Foundation", "taken_on": "2026-02-01"},
        {
            "test": "SSW_SKILL",
            "sector": "agriculture",
            "passed": True,
            "issuer": "Prometric",
            "taken_on": "2026-02-20",
        },
    ):
        recorded = await training.post(f"/candidates/{candidate}/results", json=result)
        assert recorded.status_code == 201, recorded.text
    yesterday = date.today() - timedelta(days=1)
    for day, score in ((yesterday - timedelta(days=1), 70), (yesterday, 72)):
        await training.post(
            f"/candidates/{candidate}/daily-scores", json={"day": day.isoformat(), "score": score}
        )

    view = (await training.get(f"/candidates/{candidate}/sector-suggestions")).json()
    assert sectors(view)[0] == "agriculture"
    top = view["suggestions"][0]
    assert [r["code"] for r in top["reasons"]] == [
        "skill_test_passed",
        "certificates_complete",
        "in_demand",
    ]
    assert top["points"] == 7 and not top["current"]
    assert "passed the SSW skill test in agriculture on 2026-02-20" in top["reasons"][0]["text"]
    below = next(
        r
        for r in next(s for s in view["suggestions"] if s["current"])["reasons"]
        if r["code"] == "daily_scores_below_target"
    )
    assert below["facts"] == {"average": 71.0, "days": 2, "target": 80}

    applied = await training.put(
        f"/candidates/{candidate}/sector",
        json={"sector": "agriculture", "reason": "passed the SSW skill test in agriculture"},
    )
    assert applied.json()["became_ready"] is True
    after = (await training.get(f"/candidates/{candidate}/sector-suggestions")).json()
    assert (after["sector"], after["sector_fixed"]) == ("agriculture", "ready_for_placement")
    assert after["readiness"]["ready"] is True
    assert "steered_away" in reasons(after, "caregiver")


async def test_a_cohort_answers_for_each_current_member_in_the_order_they_joined(
    training: httpx.AsyncClient, enrol: Enrol
) -> None:
    first = await enrol(Track.TITP, "automotive")
    second = await enrol(Track.TITP, "agriculture")
    cohort = (
        await training.post(
            "/cohorts",
            json={
                "training_centre": "BPVP Samarinda",
                "name": "Kelas Jepang 2026-S",
                "mode": "offline",
                "stages": STAGES,
            },
        )
    ).json()
    for candidate in (first, second):
        added = await training.post(
            f"/cohorts/{cohort['cohort_id']}/members", json={"candidate_id": candidate}
        )
        assert added.status_code == 201, added.text
    views = (await training.get(f"/cohorts/{cohort['cohort_id']}/sector-suggestions")).json()
    assert [(v["candidate_id"], v["sector"]) for v in views] == [
        (first, "automotive"),
        (second, "agriculture"),
    ]
    assert [sectors(v)[0] for v in views] == ["automotive", "agriculture"]

    unknown = await training.get(f"/cohorts/{uuid.uuid4()}/sector-suggestions")
    assert unknown.status_code == 404
    nobody = await training.get(f"/candidates/{uuid.uuid4()}/sector-suggestions")
    assert (nobody.status_code, nobody.json()["error"]) == (404, "not_found")


async def test_another_agencys_candidate_gets_no_suggestions(
    training: httpx.AsyncClient, enrol: Enrol
) -> None:
    theirs = await enrol(Track.TITP, "automotive", agency="boyolali")
    refused = await training.get(
        f"/candidates/{theirs}/sector-suggestions", headers=token_for("kaltim")
    )
    assert (refused.status_code, refused.json()["error"]) == (403, "agency_scope")
