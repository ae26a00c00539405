"""Withdrawal, correction and bulk upload through the API, against real NATS and both databases."""

from __future__ import annotations

import time
from datetime import date, timedelta

import httpx
from nats.aio.client import Client as NatsClient

from jembatan_kit.testing.helpers import (
    events_on,
    wait_for_events,
)

SITI = {
    "agency": "kaltim",
    "nik": "6471054506040003",
    "full_name": "Siti Rahmawati",
    "birth_date": "2004-06-05",
    "sex": "F",
    "education": "SMK",
    "track": "TITP",
    "preferred_sector": "caregiver",
}


async def test_a_withdrawn_candidate_may_register_again(
    client: httpx.AsyncClient, nats_client: NatsClient
) -> None:
    first = (await client.post("/candidates", json=SITI)).json()
    withdrawn = await client.post(
        f"/candidates/{first['candidate_id']}/withdrawal",
        json={"reason": "family", "note": "mother is ill"},
    )
    assert withdrawn.status_code == 200, withdrawn.text
    again = await client.post(
        f"/candidates/{first['candidate_id']}/withdrawal", json={"reason": "family"}
    )
    assert again.status_code == 409 and again.json()["error"] == "already_withdrawn"

    second = await client.post("/candidates", json=SITI | {"agency": "kota-serang"})
    assert second.status_code == 201, second.text
    assert second.json()["candidate_id"] != first["candidate_id"]

    events = await wait_for_events(
        nats_client, "REGISTRATION", lambda e: e["event_type"] == "CandidateWithdrawn"
    )
    assert events[0]["candidate_id"] == first["candidate_id"]
    assert events[0]["reason"] == "family"
    assert "ill" not in str(events)


async def test_a_correction_is_checked_and_published_without_personal_values(
    client: httpx.AsyncClient, nats_client: NatsClient
) -> None:
    candidate_id = (await client.post("/candidates", json=SITI)).json()["candidate_id"]
    refused = await client.patch(f"/candidates/{candidate_id}", json={"nik": "6471059906040003"})
    assert refused.status_code == 422
    assert refused.json()["error"] == "correction_refused"
    assert "digits 7-12" in refused.json()["message"]

    corrected = await client.patch(
        f"/candidates/{candidate_id}",
        json={"full_name": "Siti Rahmawati Putri", "education": "D3"},
    )
    assert corrected.status_code == 200, corrected.text
    view = (await client.get(f"/candidates/{candidate_id}")).json()
    assert (view["full_name"], view["education"]) == ("Siti Rahmawati Putri", "D3")

    events = await wait_for_events(
        nats_client, "REGISTRATION", lambda e: e["event_type"] == "CandidateDataCorrected"
    )
    assert events[0]["corrected_fields"] == ["education", "full_name"]
    assert events[0]["education"] == "D3"
    assert "Putri" not in str(events)


def csv_of(rows: list[dict[str, str]]) -> bytes:
    columns = ["nik", "full_name", "birth_date", "sex", "education", "track", "preferred_sector"]
    lines = [",".join(columns)] + [",".join(row[c] for c in columns) for row in rows]
    return ("\n".join(lines) + "\n").encode()


def person(serial: int, **overrides: str) -> dict[str, str]:
    born = date(2000, 1, 1) + timedelta(days=serial % 2000)
    row = {
        "nik": f"336701{born:%d%m%y}{serial:04d}",
        "full_name": f"Peserta {serial}",
        "birth_date": born.isoformat(),
        "sex": "M",
        "education": "SMK",
        "track": "SSW",
        "preferred_sector": "agriculture",
    }
    return row | overrides


async def upload(
    client: httpx.AsyncClient, content: bytes, agency: str = "boyolali"
) -> httpx.Response:
    return await client.post(
        "/candidates/bulk",
        params={"agency": agency},
        content=content,
        headers={"content-type": "text/csv"},
    )


async def test_bulk_upload_refuses_bad_rows_without_blocking_good_ones_and_is_idempotent(
    client: httpx.AsyncClient, nats_client: NatsClient
) -> None:
    rows = [
        person(1),
        person(2, nik="3367010101000000"),  # serial 0000
        person(3, birth_date="2000-13-01"),
        person(4, track="MAGANG"),
        person(5, preferred_sector="railway", track="TITP"),
        person(1),  # the same person twice in one file
        person(6),
    ]
    first = await upload(client, csv_of(rows))
    assert first.status_code == 200, first.text
    summary = first.json()
    assert (summary["accepted"], summary["refused"], summary["replayed"]) == (2, 5, False)
    outcome = {row["line"]: row for row in summary["rows"]}
    assert outcome[2]["status"] == "accepted" and outcome[8]["status"] == "accepted"
    assert outcome[3]["errors"][0]["rule"] == "nik_serial"
    assert outcome[4]["errors"][0]["message"].startswith("birth_date: '2000-13-01' is not a date")
    assert outcome[5]["errors"][0]["message"] == "track: 'MAGANG' must be TITP or SSW"
    assert outcome[6]["errors"][0]["rule"] == "sector_for_track"
    assert outcome[7]["errors"][0]["rule"] == "one_active_registration"
    assert all(row["nik_masked"] is None or "*" in row["nik_masked"] for row in summary["rows"])

    replay = (await upload(client, csv_of(rows))).json()
    assert replay["replayed"] is True
    assert replay["upload_id"] == summary["upload_id"]
    assert len((await client.get("/candidates", params={"agency": "boyolali"})).json()) == 2
    await wait_for_events(
        nats_client, "REGISTRATION", lambda e: e["event_type"] == "CandidateRegistered", count=2
    )
    registered = [
        e
        for e in await events_on(nats_client, "REGISTRATION")
        if e["event_type"] == "CandidateRegistered"
    ]
    assert len(registered) == 2


async def test_a_bulk_row_with_a_sector_longer_than_a_code_is_refused(
    client: httpx.AsyncClient,
) -> None:
    summary = (await upload(client, csv_of([person(1, preferred_sector="x" * 41)]))).json()
    assert (summary["accepted"], summary["refused"]) == (0, 1)
    [error] = summary["rows"][0]["errors"]
    assert error["message"] == "preferred_sector: is longer than 40 characters"


async def test_a_file_without_the_required_columns_registers_nobody(
    client: httpx.AsyncClient,
) -> None:
    response = await upload(client, b"nik,name\n3367010101000001,Budi\n")
    assert response.status_code == 422
    assert response.json()["error"] == "bulk_header"
    assert "full_name" in response.json()["message"]
    assert (await client.get("/candidates")).json() == []


async def test_a_thousand_rows_complete_in_seconds(client: httpx.AsyncClient) -> None:
    content = csv_of([person(serial) for serial in range(1, 1001)])
    started = time.perf_counter()
    response = await upload(client, content)
    elapsed = time.perf_counter() - started
    assert response.status_code == 200
    assert response.json()["accepted"] == 1000
    # Not a benchmark: a generous ceiling that only catches a pathological slowdown.
    assert elapsed < 30, f"1,000 rows took {elapsed:.1f}s"
