"""Every training record is the candidate's agency's (or Kemnaker's) to see and change; a cohort
is its owning agency's."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx

from jembatan_contracts import Track
from jembatan_kit.testing.helpers import token_for

Enrol = Callable[..., Awaitable[str]]  # the `enrol` fixture of conftest.py
KALTIM, BOYOLALI = token_for("kaltim"), token_for("boyolali")
RESULT = {"test": "JLPT", "level": "N4", "issuer": "Japan Foundation", "taken_on": "2026-05-15"}
STAGES = [{"centre": "BPVP Samarinda", "starts_on": "2026-01-05", "ends_on": "2026-04-03"}]


async def test_a_province_sees_and_changes_only_its_own_candidates(
    training: httpx.AsyncClient, enrol: Enrol
) -> None:
    ours = await enrol(Track.TITP, "automotive", agency="kaltim")
    theirs = await enrol(Track.TITP, "automotive", agency="boyolali")

    assert (await training.get(f"/candidates/{ours}", headers=KALTIM)).status_code == 200
    refused = await training.get(f"/candidates/{theirs}", headers=KALTIM)
    assert refused.status_code == 403
    assert refused.json()["error"] == "agency_scope"
    assert f"candidate {theirs} belongs to agency boyolali" in refused.json()["message"]
    for method, path, body in [
        ("POST", "results", RESULT),
        ("PUT", "sector", {"sector": "agriculture", "reason": "interest"}),
        ("POST", "daily-scores", {"day": "2026-02-02", "score": 85}),
        ("GET", "daily-scores", None),
    ]:
        answer = await training.request(
            method, f"/candidates/{theirs}/{path}", json=body, headers=KALTIM
        )
        assert answer.status_code == 403, (method, path, answer.text)

    listed = (await training.get("/candidates", headers=KALTIM)).json()
    assert [c["candidate_id"] for c in listed] == [ours]
    assert (await training.get("/candidates?agency=boyolali", headers=KALTIM)).status_code == 403
    assert {c["candidate_id"] for c in (await training.get("/candidates")).json()} == {
        ours,
        theirs,
    }

    csv = f"candidate_id,test,issuer,taken_on,level\n{theirs},JLPT,JF,2026-05-15,N4\n"
    imported = await training.post(
        "/results/bulk", content=csv.encode(), headers=KALTIM | {"content-type": "text/csv"}
    )
    assert imported.status_code == 403
    assert imported.json()["details"]["lines"] == [2]


async def test_a_cohort_belongs_to_the_agency_that_opened_it(
    training: httpx.AsyncClient, enrol: Enrol
) -> None:
    ours = await enrol(Track.TITP, "automotive", agency="kaltim")
    theirs = await enrol(Track.TITP, "automotive", agency="boyolali")
    body = {"training_centre": "BPVP Samarinda", "name": "A", "mode": "offline", "stages": STAGES}
    opened = await training.post("/cohorts", json=body, headers=KALTIM)
    assert opened.status_code == 201, opened.text
    cohort = opened.json()
    assert cohort["agency"] == "kaltim"
    members = f"/cohorts/{cohort['cohort_id']}/members"

    assert (
        await training.post(members, json={"candidate_id": ours}, headers=KALTIM)
    ).status_code == 201
    foreign_member = await training.post(members, json={"candidate_id": theirs}, headers=KALTIM)
    assert foreign_member.status_code == 403
    assert (
        await training.get(f"/cohorts/{cohort['cohort_id']}", headers=BOYOLALI)
    ).status_code == 403
    assert (
        await training.post(members, json={"candidate_id": theirs}, headers=BOYOLALI)
    ).status_code == 403
    assert (await training.get("/cohorts", headers=BOYOLALI)).json() == []
    assert len((await training.get("/cohorts")).json()) == 1
    for_another = await training.post(
        "/cohorts", json=body | {"agency": "kaltim"}, headers=BOYOLALI
    )
    assert for_another.status_code == 403


async def test_a_call_without_a_token_gets_401(training: httpx.AsyncClient) -> None:
    for path in ["/candidates", "/cohorts"]:
        answer = await training.get(path, headers={"authorization": ""})
        assert answer.status_code == 401
        assert "Authorization: Bearer" in answer.json()["message"]
