"""Cohorts, daily scores and withdrawal against a real nats-server and both databases."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

import httpx
from nats.aio.client import Client as NatsClient

from jembatan_contracts import (
    DEAD_LETTER,
    CandidateRegistered,
    CandidateWithdrawn,
    DeadLetterHeader,
    Event,
    Track,
    WithdrawalReason,
)
from jembatan_kit.testing.helpers import eventually

Enrol = Callable[..., Awaitable[str]]  # the `enrol` fixture of conftest.py
Publish = Callable[[Event], Awaitable[None]]  # the `publish` fixture

STAGES = [
    {"centre": "BPVP Samarinda", "starts_on": "2026-01-05", "ends_on": "2026-04-03"},
    {"centre": "BBPVP Bekasi", "starts_on": "2026-04-06", "ends_on": "2026-07-03"},
]


async def open_cohort(training: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    body = {
        "training_centre": "BPVP Samarinda",
        "name": "Kelas Jepang 2026-A",
        "mode": "offline",
        "stages": STAGES,
    } | fields
    response = await training.post("/cohorts", json=body)
    assert response.status_code == 201, response.text
    cohort: dict[str, Any] = response.json()
    return cohort


async def assign(
    training: httpx.AsyncClient, cohort_id: str, candidate_id: str, move: bool = False
) -> httpx.Response:
    return await training.post(
        f"/cohorts/{cohort_id}/members", json={"candidate_id": candidate_id, "move": move}
    )


def members(cohort: dict[str, Any]) -> list[str]:
    return [member["candidate_id"] for member in cohort["members"]]


async def test_a_cohort_has_stages_and_sixteen_seats_by_default(
    training: httpx.AsyncClient,
) -> None:
    cohort = await open_cohort(training, mode="online", sector="Caregiver")
    assert (cohort["capacity"], cohort["seats_left"], cohort["sector"]) == (16, 16, "caregiver")
    assert [stage["centre"] for stage in cohort["stages"]] == ["BPVP Samarinda", "BBPVP Bekasi"]
    assert (cohort["starts_on"], cohort["ends_on"]) == ("2026-01-05", "2026-07-03")

    overlapping = await training.post(
        "/cohorts",
        json={
            "training_centre": "BPVP Samarinda",
            "name": "Kelas B",
            "mode": "offline",
            "stages": [STAGES[1], STAGES[0]],
        },
    )
    assert overlapping.status_code == 422
    assert overlapping.json()["error"] == "cohort_refused"
    assert [r["rule"] for r in overlapping.json()["details"]["failed_rules"]] == ["stages_in_order"]
    listed = (await training.get("/cohorts", params={"sector": "caregiver"})).json()
    assert [c["cohort_id"] for c in listed] == [cohort["cohort_id"]]
    assert (await training.get(f"/cohorts/{uuid.uuid4()}")).status_code == 404


async def test_a_full_cohort_refuses_and_a_candidate_sits_in_one_cohort_at_a_time(
    training: httpx.AsyncClient, enrol: Enrol
) -> None:
    small = await open_cohort(training, capacity=2, name="Kelas kecil")
    other = await open_cohort(training, name="Kelas lain")
    first, second, third = [await enrol() for _ in range(3)]
    for candidate_id in (first, second):
        assert (await assign(training, small["cohort_id"], candidate_id)).status_code == 201

    full = await assign(training, small["cohort_id"], third)
    assert full.status_code == 409
    assert full.json()["error"] == "cohort_full"
    again = await assign(training, small["cohort_id"], first)
    assert again.json()["error"] == "already_in_cohort"

    elsewhere = await assign(training, other["cohort_id"], first)
    assert elsewhere.status_code == 409
    assert elsewhere.json()["error"] == "candidate_in_another_cohort"
    moved = await assign(training, other["cohort_id"], first, move=True)
    assert moved.status_code == 201, moved.text
    assert members(moved.json()) == [first]

    now_free = (await assign(training, small["cohort_id"], third)).json()
    assert members(now_free) == [second, third]
    assert now_free["seats_left"] == 0
    assert [(m["candidate_id"], m["left_reason"]) for m in now_free["former_members"]] == [
        (first, "moved")
    ]
    assert (await training.get(f"/candidates/{first}")).json()["cohort_id"] == other["cohort_id"]

    # A move into a full cohort leaves the candidate where they were.
    refused_move = await assign(training, small["cohort_id"], first, move=True)
    assert refused_move.json()["error"] == "cohort_full"
    assert (await training.get(f"/candidates/{first}")).json()["cohort_id"] == other["cohort_id"]

    left = await training.delete(f"/cohorts/{small['cohort_id']}/members/{second}")
    assert left.status_code == 200, left.text
    assert (await training.get(f"/cohorts/{small['cohort_id']}")).json()["seats_left"] == 1

    unknown = await assign(training, other["cohort_id"], str(uuid.uuid4()))
    assert (unknown.status_code, unknown.json()["error"]) == (404, "candidate_not_enrolled")
    caregivers = await open_cohort(training, name="Kelas kaigo", sector="caregiver")
    wrong_sector = await assign(training, caregivers["cohort_id"], third, move=True)
    assert wrong_sector.json()["error"] == "cohort_sector"


async def test_concurrent_requests_for_the_last_seats_never_overfill_the_cohort(
    training: httpx.AsyncClient, enrol: Enrol
) -> None:
    cohort = await open_cohort(training, capacity=3)
    seated = await enrol()
    assert (await assign(training, cohort["cohort_id"], seated)).status_code == 201
    racers = [await enrol() for _ in range(6)]

    responses = await asyncio.gather(
        *(assign(training, cohort["cohort_id"], candidate_id) for candidate_id in racers)
    )
    assert sorted(r.status_code for r in responses) == [201, 201, 409, 409, 409, 409]
    assert {r.json()["error"] for r in responses if r.status_code == 409} == {"cohort_full"}
    view = (await training.get(f"/cohorts/{cohort['cohort_id']}")).json()
    assert (view["member_count"], view["seats_left"]) == (3, 0)
    winners = [c for c, r in zip(racers, responses, strict=True) if r.status_code == 201]
    assert sorted(members(view)) == sorted([seated, *winners])

    last_seat = await open_cohort(training, capacity=1, name="Kursi terakhir")
    one, two = await enrol(), await enrol()
    both = await asyncio.gather(
        assign(training, last_seat["cohort_id"], one), assign(training, last_seat["cohort_id"], two)
    )
    assert sorted(r.status_code for r in both) == [201, 409]
    assert len(members((await training.get(f"/cohorts/{last_seat['cohort_id']}")).json())) == 1


async def post_scores(training: httpx.AsyncClient, candidate_id: str, *scores: int) -> None:
    for day, score in enumerate(scores, start=1):
        response = await training.post(
            f"/candidates/{candidate_id}/daily-scores",
            json={"day": f"2026-05-{day:02d}", "score": score},
        )
        assert response.status_code == 200, response.text


async def test_early_warning_lists_members_below_the_daily_target(
    training: httpx.AsyncClient, enrol: Enrol
) -> None:
    cohort = await open_cohort(training)
    on_track, recovered, struggling, silent, outsider = [await enrol() for _ in range(5)]
    for candidate_id in (on_track, recovered, struggling, silent):
        assert (await assign(training, cohort["cohort_id"], candidate_id)).status_code == 201
    await post_scores(training, on_track, 80, 85, 90)
    await post_scores(training, recovered, 40, 40, 85, 85, 85, 85, 85)
    await post_scores(training, struggling, 70, 75, 90)
    await post_scores(training, outsider, 10, 10)

    warning = (await training.get(f"/cohorts/{cohort['cohort_id']}/early-warning")).json()
    assert (warning["target"], warning["window"]) == (80, 5)
    assert warning["below_target"] == [{"candidate_id": struggling, "average": 78.33, "scores": 3}]
    assert warning["without_scores"] == [silent]

    replaced = await training.post(
        f"/candidates/{struggling}/daily-scores", json={"day": "2026-05-02", "score": 95}
    )
    assert replaced.json()["replaced"] is True
    scores = (await training.get(f"/candidates/{struggling}/daily-scores")).json()
    assert [s["score"] for s in scores] == [70, 95, 90]
    warning = (await training.get(f"/cohorts/{cohort['cohort_id']}/early-warning")).json()
    assert warning["below_target"] == []

    out_of_range = await training.post(
        f"/candidates/{on_track}/daily-scores", json={"day": "2026-05-04", "score": 101}
    )
    assert out_of_range.status_code == 422
    unknown = await training.post(
        f"/candidates/{uuid.uuid4()}/daily-scores", json={"day": "2026-05-04", "score": 80}
    )
    assert unknown.json()["error"] == "candidate_not_enrolled"


async def test_a_days_scores_of_the_class_and_who_sits_in_a_cohort(
    training: httpx.AsyncClient, enrol: Enrol
) -> None:
    cohort = await open_cohort(training)
    scored, unscored, elsewhere = [await enrol() for _ in range(3)]
    for candidate_id in (scored, unscored):
        assert (await assign(training, cohort["cohort_id"], candidate_id)).status_code == 201
    await post_scores(training, scored, 70, 88)
    await post_scores(training, elsewhere, 60)

    day = (await training.get(f"/cohorts/{cohort['cohort_id']}/daily-scores?day=2026-05-02")).json()
    assert (day["cohort_id"], day["day"]) == (cohort["cohort_id"], "2026-05-02")
    assert [(s["candidate_id"], s["score"]) for s in day["scores"]] == [(scored, 88)]
    none = await training.get(f"/cohorts/{cohort['cohort_id']}/daily-scores?day=2026-04-01")
    assert none.json()["scores"] == []
    undated = await training.get(f"/cohorts/{cohort['cohort_id']}/daily-scores")
    assert undated.status_code == 422

    listed = {c["candidate_id"]: c["cohort_id"] for c in (await training.get("/candidates")).json()}
    assert (listed[scored], listed[unscored], listed[elsewhere]) == (
        cohort["cohort_id"],
        cohort["cohort_id"],
        None,
    )


def withdrawn(candidate_id: str) -> CandidateWithdrawn:
    return CandidateWithdrawn(
        agency="kaltim",
        journey_id=uuid.uuid4(),
        candidate_id=uuid.UUID(candidate_id),
        reason=WithdrawalReason.FAMILY,
        withdrawn_on=date(2026, 5, 20),
    )


async def test_a_withdrawn_candidate_leaves_the_cohort_and_nothing_more_is_recorded(
    training: httpx.AsyncClient, enrol: Enrol, publish: Publish
) -> None:
    cohort = await open_cohort(training, capacity=2)
    leaving, staying = await enrol(), await enrol()
    for candidate_id in (leaving, staying):
        assert (await assign(training, cohort["cohort_id"], candidate_id)).status_code == 201

    await publish(withdrawn(leaving))

    async def is_withdrawn() -> bool:
        view = (await training.get(f"/candidates/{leaving}")).json()
        return bool(view["status"] == "withdrawn")

    await eventually(is_withdrawn)
    view = (await training.get(f"/candidates/{leaving}")).json()
    assert (view["withdrawn_on"], view["withdrawal_reason"], view["cohort_id"]) == (
        "2026-05-20",
        "family",
        None,
    )
    after = (await training.get(f"/cohorts/{cohort['cohort_id']}")).json()
    assert members(after) == [staying]
    assert after["seats_left"] == 1
    assert after["former_members"][0]["left_reason"] == "withdrawn"

    refusals = [
        await training.post(
            f"/candidates/{leaving}/results",
            json={"test": "JLPT", "level": "N4", "issuer": "JEES", "taken_on": "2026-05-10"},
        ),
        await training.post(
            f"/candidates/{leaving}/daily-scores", json={"day": "2026-05-10", "score": 90}
        ),
        await assign(training, cohort["cohort_id"], leaving),
        await training.put(
            f"/candidates/{leaving}/sector", json={"sector": "caregiver", "reason": "interest"}
        ),
    ]
    assert [(r.status_code, r.json()["error"]) for r in refusals] == [
        (409, "candidate_withdrawn")
    ] * 4
    assert "withdrew on 2026-05-20" in refusals[0].json()["message"]
    assert (await training.get(f"/candidates/{leaving}")).json()["results"] == []


async def test_a_withdrawal_that_overtakes_the_registration_waits_for_it(
    training: httpx.AsyncClient, publish: Publish
) -> None:
    registration = CandidateRegistered(
        agency="kaltim",
        journey_id=uuid.uuid4(),
        candidate_id=uuid.uuid4(),
        track=Track.TITP,
        preferred_sector="agriculture",
        education="SMA",
        province_code="64",
        registered_on=date(2026, 1, 12),
    )
    candidate_id = str(registration.candidate_id)
    await publish(withdrawn(candidate_id))
    await asyncio.sleep(0.3)
    await publish(registration)

    async def is_withdrawn() -> bool:
        response = await training.get(f"/candidates/{candidate_id}")
        return response.status_code == 200 and response.json()["status"] == "withdrawn"

    await eventually(is_withdrawn)


async def test_a_withdrawal_sent_by_another_agency_is_refused_as_forged(
    training: httpx.AsyncClient, enrol: Enrol, publish: Publish, nats_client: NatsClient
) -> None:
    kept, leaving = await enrol(), await enrol()  # both Kalimantan Timur's
    forged = withdrawn(kept).model_copy(update={"agency": "kota-serang"})
    await publish(forged)
    await publish(withdrawn(leaving))

    async def is_withdrawn() -> bool:
        view = (await training.get(f"/candidates/{leaving}")).json()
        return bool(view["status"] == "withdrawn")

    await eventually(is_withdrawn)
    js = nats_client.jetstream()

    async def reasons() -> list[str]:
        state = (await js.stream_info(DEAD_LETTER.name)).state
        letters = [
            await js.get_msg(DEAD_LETTER.name, seq)
            for seq in range(state.first_seq, state.last_seq + 1 if state.messages else 0)
        ]
        return [(m.headers or {})[DeadLetterHeader.REASON] for m in letters]

    async def dead_lettered() -> bool:
        return any(kept in reason for reason in await reasons())

    await eventually(dead_lettered)
    [reason] = [reason for reason in await reasons() if kept in reason]
    assert reason == (
        f"journey_mismatch: CandidateWithdrawn of candidate {kept} names agency kota-serang but"
        " the candidate was registered by agency kaltim; a forged or broken event, not handled"
    )
    assert (await training.get(f"/candidates/{kept}")).json()["status"] != "withdrawn"
