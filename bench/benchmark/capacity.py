"""Each service's first consumer draining a backlog published while it was paused, timed from
its resumption to its last inbox row of them: its rate, to be stated as a share of the no-op
consumer's. The dashboard follows every event of a journey, one durable each: each of those
is measured so, and the slowest stated."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, date, datetime
from typing import Any

import nats
from nats.js import JetStreamContext
from opentelemetry import propagate

from jembatan_contracts import (
    ALL_STREAMS,
    REPLAY_FOR_HEADER,
    CandidatePlaced,
    CandidateReadyForPlacement,
    CandidateRegistered,
    Event,
    Track,
)
from jembatan_contracts.ids import new_id
from jembatan_kit.telemetry import journey_context
from jembatan_kit.testing.helpers import language_certificate
from jembatan_kit.testing.journeys import Journey

from .databases import inbox_count, inbox_of
from .system import quiet

CAPACITY_CONSUMERS = {
    "training": "training-candidate-registered",
    "placement": "placement-candidate-ready",
    "financing": "financing-candidate-placed",
}
"""The consumer of each service that the capacity phase loads: its first event of a journey."""


DASHBOARD_CONSUMERS = (
    "dashboard-candidate-registered",
    "dashboard-certificate-passed",
    "dashboard-candidate-ready",
    "dashboard-candidate-placed",
    "dashboard-loan-opened",
    "dashboard-departed",
    "dashboard-schedule-fixed",
    "dashboard-repayment-due",
)
"""The dashboard's consumers of a journey's events, registration to the first RepaymentDue, in
the order a journey passes them."""

HELD_CERTIFICATES = "placement-certificate-passed"
"""The consumer that keeps the certificates placement's readiness consumer requires."""


PAUSED_UNTIL = "2100-01-01T00:00:00Z"
"""A consumer paused for a measurement stays paused until it is resumed."""


def capacity_events(service: str, count: int) -> list[Event]:
    """`count` fresh events of the kind `service`'s capacity consumer handles."""
    today = date.today()
    events: list[Event] = []
    for _ in range(count):
        journey, candidate = new_id(), new_id()  # as the services make them
        if service == "training":
            events.append(
                CandidateRegistered(
                    agency="kaltim",
                    journey_id=journey,
                    candidate_id=candidate,
                    track=Track.TITP,
                    preferred_sector="automotive",
                    education="SMK",
                    province_code="64",
                    registered_on=today,
                )
            )
        elif service == "placement":
            events.append(
                CandidateReadyForPlacement(
                    agency="kaltim",
                    journey_id=journey,
                    candidate_id=candidate,
                    track=Track.TITP,
                    sector="automotive",
                    language_level="N4",
                    satisfied_rules=["japanese_n4"],
                )
            )
        else:
            events.append(
                CandidatePlaced(
                    agency="kaltim",
                    journey_id=journey,
                    placement_id=new_id(),
                    candidate_id=candidate,
                    job_order_id=new_id(),
                    track=Track.TITP,
                    sector="automotive",
                    supervising_organisation="IM Japan",
                    monthly_wage_jpy=180_000,
                    contract_months=36,
                    contract_signed_on=today,
                )
            )
    return events


def journey_events(count: int) -> list[list[Event]]:
    """The events of `count` fresh journeys, registration to the first RepaymentDue, grouped by
    kind in the order of `DASHBOARD_CONSUMERS`."""
    today = date.today()
    journeys = [
        Journey(
            agency="kaltim",
            candidate_id=new_id(),
            journey_id=new_id(),
            placement_id=new_id(),
            loan_id=new_id(),
        )
        .registered(today)
        .certified(today)
        .ready(today)
        .placed(today)
        .departed(today)
        .schedule_fixed(today, first_due=today)
        .due(1, today)
        for _ in range(count)
    ]
    return [list(kind) for kind in zip(*(journey.events for journey in journeys), strict=True)]


async def consumer_capacity(
    nats_url: str, database_urls: dict[str, str], count: int
) -> dict[str, dict[str, Any]]:
    """Each service's consumer draining a backlog, as the no-op consumer drains its own: `count`
    events published while the consumer is paused, then timed from its resumption to its last
    inbox row of them. One service at a time, with the dashboard's consumers paused meanwhile
    (they read the same events), so each has the machine as the no-op consumer had it; the
    dashboard then catches up before the next."""
    client = await nats.connect(nats_url)
    js = client.jetstream(publish_async_max_pending=count + 1)
    rates: dict[str, dict[str, Any]] = {}
    try:
        dashboard = [
            (stream, name) for stream, name in await durables(js) if name.startswith("dashboard-")
        ]
        for service, durable in CAPACITY_CONSUMERS.items():
            await quiet(client, database_urls)
            events = capacity_events(service, count)
            ids = {event.event_id for event in events}
            stream = type(events[0]).stream_name()
            paused = [(stream, durable), *dashboard]
            for paused_stream, name in paused:
                await js.pause_consumer(paused_stream, name, PAUSED_UNTIL)
            try:
                # Placement makes ready only candidates whose certificate it holds: those go
                # first, to its certificate consumer, which is not measured.
                held = [
                    language_certificate(event)
                    for event in events
                    if isinstance(event, CandidateReadyForPlacement)
                ]
                certificates_before = await inbox_count(database_urls[service], HELD_CERTIFICATES)
                futures = [
                    await js.publish_async(
                        event.subject,
                        event.model_dump_json().encode(),
                        headers=published_headers(event),
                    )
                    for event in (*held, *events)
                ]
                await asyncio.gather(*futures)
                deadline = time.perf_counter() + 300
                while (
                    held
                    and await inbox_count(database_urls[service], HELD_CERTIFICATES)
                    < certificates_before + len(held)
                    and time.perf_counter() < deadline
                ):
                    await asyncio.sleep(0.2)
                rate = await _drained_by(js, database_urls[service], stream, durable, ids)
            finally:
                for paused_stream, name in paused:
                    await js.resume_consumer(paused_stream, name)
            rates[service] = rate | {"consumer": durable}
        await quiet(client, database_urls)
        rates["dashboard"] = await dashboard_capacity(
            js, database_urls["dashboard"], [name for _, name in dashboard], count
        )
    finally:
        await client.close()
    return rates


async def dashboard_capacity(
    js: JetStreamContext, database_url: str, dashboard: list[str], count: int
) -> dict[str, Any]:
    """Each dashboard consumer of a journey's events draining `count` of them, one consumer at
    a time in a journey's order (each finds the events before its own projected), every other
    dashboard consumer paused meanwhile. The events are published as replays for the one
    dashboard consumer each is meant for, so the services' own consumers acknowledge them
    unhandled (they are not the services' work), and that is done before the first is timed.
    The slowest consumer's rate, with every consumer's."""
    streams = {name: stream for stream, name in await durables(js)}
    for name in dashboard:
        await js.pause_consumer(streams[name], name, PAUSED_UNTIL)
    each: dict[str, dict[str, Any]] = {}
    try:
        kinds = journey_events(count)
        futures = [
            await js.publish_async(
                event.subject,
                event.model_dump_json().encode(),
                headers=published_headers(event) | {REPLAY_FOR_HEADER: durable},
            )
            for durable, events in zip(DASHBOARD_CONSUMERS, kinds, strict=True)
            for event in events
        ]
        await asyncio.gather(*futures)
        await _drained(js, [(s, n) for n, s in streams.items() if n not in dashboard])
        for durable, events in zip(DASHBOARD_CONSUMERS, kinds, strict=True):
            ids = {event.event_id for event in events}
            each[durable] = await _drained_by(js, database_url, streams[durable], durable, ids)
    finally:
        for name in dashboard:
            await js.resume_consumer(streams[name], name)
    slowest = min(each, key=lambda durable: each[durable]["per_second"])
    return each[slowest] | {"consumer": slowest, "each": each}


async def _drained(js: JetStreamContext, consumers: list[tuple[str, str]]) -> None:
    """Wait (up to 300 s) until these consumers have handled all their streams hold."""
    deadline = time.perf_counter() + 300
    while time.perf_counter() < deadline:
        infos = [await js.consumer_info(stream, name) for stream, name in consumers]
        if not any(info.num_pending or info.num_ack_pending for info in infos):
            return
        await asyncio.sleep(0.2)


async def _drained_by(
    js: JetStreamContext, database_url: str, stream: str, durable: str, ids: set[uuid.UUID]
) -> dict[str, float]:
    """Resume the paused `durable` and time it from then to its inbox row of the last of `ids`,
    the events of its backlog (waiting at most 300 s): their count, the seconds, the rate."""
    before = await inbox_count(database_url, durable)
    await js.resume_consumer(stream, durable)
    resumed = datetime.now(UTC)
    deadline = time.perf_counter() + 300
    # Counting is all the polling does: the consumer shares the machine with it.
    while (
        await inbox_count(database_url, durable) < before + len(ids)
        and time.perf_counter() < deadline
    ):
        await asyncio.sleep(0.2)
    moments = [
        processed_at
        for event_id, processed_at in await inbox_of(database_url, durable)
        if event_id in ids
    ]
    span = (max(moments) - resumed).total_seconds() if moments else 0.0
    return {
        "events": len(moments),
        "seconds": span,
        "per_second": len(moments) / span if span else 0.0,
    }


async def durables(js: JetStreamContext) -> list[tuple[str, str]]:
    """(stream, durable) of every durable consumer of the Jembatan streams: the services'.
    Ephemeral ones (the driver's own ordered consumers) are left out: they vanish once their
    subscription ends, and would hold messages nobody is meant to consume."""
    return [
        (spec.name, consumer.name)
        for spec in ALL_STREAMS
        for consumer in await js.consumers_info(spec.name)
        if consumer.name and consumer.config.durable_name
    ]


def published_headers(event: Event) -> dict[str, str]:
    """The headers a service's relay publishes an event with: its id, and the traceparent of
    its journey's trace (here the journey's root), so consumers handle it as they would a real
    one."""
    headers = {"Nats-Msg-Id": str(event.event_id)}
    propagate.inject(headers, context=journey_context(event.journey_id))
    return headers
