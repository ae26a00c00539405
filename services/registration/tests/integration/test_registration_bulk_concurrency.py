"""Bulk uploads sent at the same moment: one person, one active registration, however the files
overlap. Against real NATS and both databases."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import httpx


def person(serial: int) -> str:
    born = date(2000, 1, 1) + timedelta(days=serial)
    return f"336701{born:%d%m%y}{serial:04d},Peserta {serial},{born},M,SMK,SSW,agriculture"


def csv_of(rows: list[str]) -> bytes:
    header = "nik,full_name,birth_date,sex,education,track,preferred_sector"
    return "\n".join([header, *rows, ""]).encode()


async def upload(client: httpx.AsyncClient, content: bytes) -> httpx.Response:
    return await client.post(
        "/candidates/bulk",
        params={"agency": "boyolali"},
        content=content,
        headers={"content-type": "text/csv"},
    )


async def test_overlapping_files_uploaded_at_once_register_each_person_once(
    client: httpx.AsyncClient,
) -> None:
    shared = [person(serial) for serial in range(1, 21)]
    files = [
        csv_of([*shared, person(100 + index)]) for index in range(3)
    ]  # each file also has one person of its own

    answers = await asyncio.gather(*(upload(client, content) for content in files))

    summaries = [answer.json() for answer in answers]
    assert [answer.status_code for answer in answers] == [200, 200, 200], summaries
    assert sum(summary["accepted"] for summary in summaries) == 20 + 3
    refusals = {
        error["rule"]
        for summary in summaries
        for row in summary["rows"]
        for error in row.get("errors", [])
    }
    assert refusals == {"one_active_registration"}
    listed = (await client.get("/candidates", params={"limit": 500})).json()
    assert len(listed) == 23
