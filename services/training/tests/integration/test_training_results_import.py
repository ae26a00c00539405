"""Bulk result import and penjurusan against a real nats-server and both databases: the rows
go through the single-result use case, so the same events come out, once."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

import httpx
from nats.aio.client import Client as NatsClient

from jembatan_contracts import CandidateWithdrawn, Event, Track, WithdrawalReason
from jembatan_kit.testing.helpers import events_on, eventually, wait_for_events

Enrol = Callable[..., Awaitable[str]]  # the `enrol` fixture of conftest.py
Publish = Callable[[Event], Awaitable[None]]  # the `publish` fixture

COLUMNS = ("candidate_id", "test", "level", "score", "sector", "issuer", "taken_on", "passed")


def csv_of(*rows: dict[str, str]) -> bytes:
    lines = [",".join(COLUMNS)] + [",".join(row.get(c, "") for c in COLUMNS) for row in rows]
    return ("\n".join(lines) + "\n").encode()


def result(candidate_id: str, test: str, **cells: str) -> dict[str, str]:
    row = {"candidate_id": candidate_id, "test": test, "issuer": "Japan Foundation"}
    return row | {"taken_on": "2026-05-15"} | cells


async def import_csv(training: httpx.AsyncClient, content: bytes) -> dict[str, Any]:
    response = await training.post(
        "/results/bulk", content=content, headers={"content-type": "text/csv"}
    )
    assert response.status_code == 200, response.text
    summary: dict[str, Any] = response.json()
    return summary


def of(event_type: str, candidate_id: str) -> Callable[[dict[str, Any]], bool]:
    return lambda e: e["event_type"] == event_type and e["candidate_id"] == candidate_id


async def test_a_results_file_records_good_rows_refuses_bad_ones_and_replays_once(
    training: httpx.AsyncClient, nats_client: NatsClient, enrol: Enrol, publish: Publish
) -> None:
    titp = await enrol(Track.TITP, "automotive")
    ssw = await enrol(Track.SSW, "agriculture")
    gone = await enrol(Track.TITP, "automotive")
    await publish(
        CandidateWithdrawn(
            agency="kaltim",
            journey_id=uuid.uuid4(),
            candidate_id=uuid.UUID(gone),
            reason=WithdrawalReason.HEALTH,
            withdrawn_on=date(2026, 5, 1),
        )
    )

    async def gone_is_withdrawn() -> bool:
        return bool((await training.get(f"/candidates/{gone}")).json()["status"] == "withdrawn")

    await eventually(gone_is_withdrawn)

    content = csv_of(
        result(titp, "JLPT", level="N4"),  # line 2
        result(titp, "JLPT", level="N4"),  # 3: the same result twice
        result(ssw, "JFT_BASIC", score="215"),  # 4
        result(ssw, "SSW_SKILL", sector="agriculture", passed="true"),  # 5
        result(titp, "JFT_BASIC", score="abc"),  # 6
        result(ssw, "JFT_BASIC", score="260"),  # 7
        result(str(uuid.uuid4()), "JLPT", level="N3"),  # 8: never enrolled
        result("not-an-id", "JLPT", level="N3"),  # 9
        result(gone, "JLPT", level="N3"),  # 10: withdrawn
        result(titp, "TOEFL", score="500"),  # 11
        result(ssw, "NURSING_CARE_JAPANESE", passed="maybe"),  # 12
        result(titp, "JLPT", level="N3"),  # 13
    )
    summary = await import_csv(training, content)
    assert (summary["accepted"], summary["refused"], summary["replayed"]) == (4, 8, False)
    rows = {row["line"]: row for row in summary["rows"]}
    assert [line for line, row in rows.items() if row["status"] == "accepted"] == [2, 4, 5, 13]
    assert [rows[line]["became_ready"] for line in (2, 4, 5, 13)] == [True, False, True, False]
    refused = {
        line: [(e["rule"], e["column"]) for e in row["errors"]]
        for line, row in rows.items()
        if row["status"] == "refused"
    }
    assert refused == {
        3: [("result_already_recorded", None)],
        6: [("bulk_row", "score")],
        7: [("jft_basic_score", "score")],
        8: [("candidate_not_enrolled", "candidate_id")],
        9: [("bulk_row", "candidate_id")],
        10: [("candidate_withdrawn", "candidate_id")],
        11: [("bulk_row", "test")],
        12: [("bulk_row", "passed")],
    }

    replay = await import_csv(training, content)
    assert replay["replayed"] is True
    assert replay["import_id"] == summary["import_id"]
    assert replay["rows"] == summary["rows"]

    # A later single result: once its event is on the stream, everything before it is too.
    marker = await training.post(
        f"/candidates/{titp}/results",
        json={"test": "JLPT", "level": "N2", "issuer": "JEES", "taken_on": "2026-05-20"},
    )
    assert marker.status_code == 201, marker.text
    await wait_for_events(
        nats_client,
        "TRAINING",
        lambda e: e["event_type"] == "CertificatePassed" and e.get("level") == "N2",
    )
    stream = await events_on(nats_client, "TRAINING")
    assert len([e for e in stream if of("CertificatePassed", titp)(e)]) == 3
    assert len([e for e in stream if of("CertificatePassed", ssw)(e)]) == 2
    assert len([e for e in stream if of("CandidateReadyForPlacement", titp)(e)]) == 1
    ready = [e for e in stream if of("CandidateReadyForPlacement", ssw)(e)]
    assert len(ready) == 1 and ready[0]["sector"] == "agriculture"
    assert not [e for e in stream if e["candidate_id"] == gone]
    view = (await training.get(f"/candidates/{titp}")).json()
    assert sorted(r["level"] for r in view["results"]) == ["N2", "N3", "N4"]

    bad_header = await training.post(
        "/results/bulk", content=b"id,exam\n1,JLPT\n", headers={"content-type": "text/csv"}
    )
    assert (bad_header.status_code, bad_header.json()["error"]) == (422, "bulk_header")


async def put_sector(
    training: httpx.AsyncClient, candidate_id: str, sector: str, reason: str
) -> httpx.Response:
    return await training.put(
        f"/candidates/{candidate_id}/sector", json={"sector": sector, "reason": reason}
    )


async def test_penjurusan_judges_ssw_readiness_on_the_new_sector(
    training: httpx.AsyncClient, nats_client: NatsClient, enrol: Enrol
) -> None:
    candidate_id = await enrol(Track.SSW, "automotive")
    for body in (
        {"test": "JFT_BASIC", "score": 215},
        {"test": "SSW_SKILL", "sector": "agriculture", "passed": True},
    ):
        response = await training.post(
            f"/candidates/{candidate_id}/results",
            json=body | {"issuer": "Prometric", "taken_on": "2026-05-15"},
        )
        assert response.json()["became_ready"] is False

    to_caregiver = (await put_sector(training, candidate_id, "caregiver", "wants care work")).json()
    assert to_caregiver["became_ready"] is False
    assert [r["rule"] for r in to_caregiver["readiness"]["missing"]] == [
        "ssw_skill_sector",
        "nursing_care_japanese",
    ]
    no_reason = await put_sector(training, candidate_id, "agriculture", " ")
    assert no_reason.status_code == 422
    assert no_reason.json()["error"] == "sector_change_refused"

    to_agriculture = await put_sector(
        training, candidate_id, "Agriculture", "strong practical scores in the farm module"
    )
    assert to_agriculture.status_code == 200, to_agriculture.text
    assert to_agriculture.json()["became_ready"] is True

    ready = await wait_for_events(
        nats_client, "TRAINING", of("CandidateReadyForPlacement", candidate_id)
    )
    assert ready[0]["sector"] == "agriculture"
    assert "SSW skill test (agriculture)" in ready[0]["satisfied_rules"][1]

    view = (await training.get(f"/candidates/{candidate_id}")).json()
    assert view["sector"] == "agriculture"
    assert [(h["previous_sector"], h["sector"], h["reason"]) for h in view["sector_history"]] == [
        (None, "automotive", "preferred sector at registration"),
        ("automotive", "caregiver", "wants care work"),
        ("caregiver", "agriculture", "strong practical scores in the farm module"),
    ]
    after_ready = await put_sector(training, candidate_id, "automotive", "changed their mind")
    assert (after_ready.status_code, after_ready.json()["error"]) == (
        409,
        "sector_change_after_ready",
    )
