"""No NIK, name or phone number leaves registration: not in events, log records or spans."""

from __future__ import annotations

import json
import logging

import httpx
import pytest
from nats.aio.client import Client as NatsClient
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from jembatan_kit.telemetry import setup_telemetry
from jembatan_kit.testing.helpers import (
    events_on,
    wait_for_events,
)

PEOPLE = [
    ("3309015506040001", "Sri Lestari Wulandari", "2004-06-15", "F", "+6281311112222"),
    ("3309011506040002", "Joko Prasetyo Nugroho", "2004-06-15", "M", "+6281333334444"),
]
SPANS = InMemorySpanExporter()


@pytest.fixture(scope="module", autouse=True)
def capture_spans() -> None:
    provider = setup_telemetry("registration", "kemnaker")
    assert isinstance(provider, TracerProvider), "tracing must be on for this test"
    provider.add_span_processor(SimpleSpanProcessor(SPANS))


async def test_personal_data_is_in_no_event_log_record_or_span(
    client: httpx.AsyncClient, nats_client: NatsClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    SPANS.clear()
    nik, name, born, sex, phone = PEOPLE[0]
    single = await client.post(
        "/candidates",
        json={
            "agency": "boyolali",
            "nik": nik,
            "full_name": name,
            "birth_date": born,
            "sex": sex,
            "education": "SMK",
            "track": "SSW",
            "preferred_sector": "caregiver",
            "phone": phone,
        },
    )
    assert single.status_code == 201, single.text
    nik2, name2, born2, sex2, phone2 = PEOPLE[1]
    csv = (
        "nik,full_name,birth_date,sex,education,track,preferred_sector,phone\n"
        f"{nik2},{name2},{born2},{sex2},SMK,SSW,agriculture,{phone2}\n"
    )
    bulk = await client.post(
        "/candidates/bulk",
        params={"agency": "boyolali"},
        content=csv.encode(),
        headers={"content-type": "text/csv"},
    )
    assert bulk.json()["accepted"] == 1, bulk.text
    candidate_id = single.json()["candidate_id"]
    await client.patch(f"/candidates/{candidate_id}", json={"full_name": name + " Putri"})
    await client.post(f"/candidates/{candidate_id}/withdrawal", json={"reason": "health"})
    await wait_for_events(
        nats_client, "REGISTRATION", lambda e: e["event_type"] == "CandidateWithdrawn"
    )

    events = json.dumps(await events_on(nats_client, "REGISTRATION"))
    spans = json.dumps(
        [
            {
                "name": span.name,
                "attributes": dict(span.attributes or {}),
                "events": [(e.name, dict(e.attributes or {})) for e in span.events],
            }
            for span in SPANS.get_finished_spans()
        ],
        default=str,
    )
    assert len(SPANS.get_finished_spans()) > 10, "the requests must have been traced"
    for nik_, name_, _born, _sex, phone_ in PEOPLE:
        for value in (nik_, name_, name_.split()[0], phone_):
            assert value not in events, f"{value} leaked into an event"
            assert value not in caplog.text, f"{value} leaked into a log record"
            assert value not in spans, f"{value} leaked into a span"
