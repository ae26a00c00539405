"""Candidate-ready events flow from the provinces to Kemnaker's placement, and nowhere else."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date

import nats
import nats.errors
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StreamConfig

from jembatan_contracts import CandidateReadyForPlacement, CertificatePassed, Track
from jembatan_contracts.events import TestKind
from jembatan_contracts.streams import TRAINING

from .conftest import Client, Federation, dev_password, topology

READY = CandidateReadyForPlacement
DURABLE = "placement-candidate-ready"


def ready_event(agency: str) -> CandidateReadyForPlacement:
    return CandidateReadyForPlacement(
        agency=agency,
        journey_id=uuid.uuid4(),
        candidate_id=uuid.uuid4(),
        track=Track.TITP,
        sector="automotive",
        language_level="N4",
        satisfied_rules=["language_n4"],
    )


async def open_province_training(client: Client) -> None:
    """What the training service does at start: its own stream, in its own domain."""
    await client.nc.jetstream().add_stream(
        StreamConfig(
            name=TRAINING.name,
            subjects=list(TRAINING.subjects),
            duplicate_window=15 * 60,
        )
    )


async def publish(client: Client, event: CandidateReadyForPlacement | CertificatePassed) -> None:
    await client.nc.jetstream().publish(
        event.subject,
        event.model_dump_json().encode(),
        headers={"Nats-Msg-Id": str(event.event_id)},
        timeout=5,
    )


async def placement_subscription(client: Client):  # type: ignore[no-untyped-def]
    return await client.nc.jetstream().pull_subscribe(
        READY.subject_any_agency(),
        durable=DURABLE,
        stream=TRAINING.name,
        config=ConsumerConfig(
            durable_name=DURABLE,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
        ),
    )


async def drain_until(subscription, expected: set[str], timeout_s: float = 30.0) -> list[str]:  # type: ignore[no-untyped-def]
    """Every event id delivered, in order, repeats included, until all expected have come."""
    received: list[str] = []
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not expected <= set(received) and asyncio.get_running_loop().time() < deadline:
        try:
            batch = await subscription.fetch(100, timeout=0.5)
        except TimeoutError:  # nats-py raises a bare one when the deadline is already spent
            continue
        for msg in batch:
            received.append(READY.model_validate_json(msg.data).event_id.hex)
            await msg.ack()
    # anything arriving late would be a repeat
    try:
        for msg in await subscription.fetch(100, timeout=1.0):
            received.append(READY.model_validate_json(msg.data).event_id.hex)
            await msg.ack()
    except TimeoutError:
        pass
    return received


async def test_placement_at_the_hub_consumes_every_provinces_ready_events(
    federation: Federation, closing: list[Client]
) -> None:
    await federation.create_hub_streams()
    published: dict[str, set[str]] = {}
    for province in ("kaltim", "boyolali"):
        training = await federation.connect(province, "training")
        closing.append(training)
        await open_province_training(training)
        events = [ready_event(province) for _ in range(5)]
        for event in events:
            await publish(training, event)
        published[province] = {event.event_id.hex for event in events}
        certificate = CertificatePassed(
            agency=province,
            journey_id=uuid.uuid4(),
            candidate_id=uuid.uuid4(),
            certificate_id=uuid.uuid4(),
            test=TestKind.JLPT,
            level="N4",
            issuer="Japan Foundation",
            passed_on=date(2026, 11, 20),
        )
        await publish(training, certificate)
        # an event the hub consumes nothing of stays in the province
        await training.nc.jetstream().publish(
            f"jembatan.{province}.training.class.scheduled.v1", b"{}", timeout=5
        )

    placement = await federation.connect(topology.HUB_AGENCY, "placement")
    closing.append(placement)
    subscription = await placement_subscription(placement)
    expected = published["kaltim"] | published["boyolali"]
    received = await drain_until(subscription, expected)

    assert sorted(received) == sorted(expected)
    hub_training = await placement.nc.jetstream().stream_info(TRAINING.name)
    # five ready events and one certificate from each province; the scheduling events stayed home
    assert hub_training.state.messages == 12
    assert placement.denied == []


async def test_a_province_can_neither_read_nor_speak_for_another_agency(
    federation: Federation, closing: list[Client]
) -> None:
    kaltim = await federation.connect("kaltim", "training")
    closing.append(kaltim)
    await open_province_training(kaltim)
    boyolali_ready = ready_event("boyolali")

    await kaltim.nc.publish(boyolali_ready.subject, boyolali_ready.model_dump_json().encode())
    await kaltim.nc.publish(ready_event("kemnaker").subject, b"{}")
    await kaltim.nc.subscribe("jembatan.boyolali.>")
    await kaltim.nc.subscribe("jembatan.*.training.>")
    await kaltim.nc.publish("$JS.boyolali.API.STREAM.INFO.TRAINING", b"")
    await kaltim.nc.publish("$JS.kemnaker.API.CONSUMER.CREATE.TRAINING", b"")
    await kaltim.nc.flush()
    await asyncio.sleep(0.3)

    assert kaltim.errors
    assert all("permissions violation" in error.lower() for error in kaltim.errors)
    assert kaltim.denied_subjects("publish") == {
        boyolali_ready.subject,
        ready_event("kemnaker").subject,
        "$js.boyolali.api.stream.info.training",
        "$js.kemnaker.api.consumer.create.training",
    }
    assert kaltim.denied_subjects("subscription") == {
        "jembatan.boyolali.>",
        "jembatan.*.training.>",
    }

    boyolali = await federation.connect("boyolali", "training")
    closing.append(boyolali)
    await open_province_training(boyolali)
    stored = await boyolali.nc.jetstream().stream_info(TRAINING.name, subjects_filter=">")
    assert not any(
        subject.startswith("jembatan.kaltim.") for subject in stored.state.subjects or {}
    )


async def test_a_leaf_account_cannot_be_used_by_a_client(federation: Federation) -> None:
    password = dev_password(topology.password_var("kaltim", "leaf"))
    try:
        client = await asyncio.wait_for(
            nats.connect(
                f"nats://127.0.0.1:{federation.hub_port}",
                user="kaltim-leaf",
                password=password,
                allow_reconnect=False,
                max_reconnect_attempts=0,
            ),
            timeout=5,
        )
    except nats.errors.Error as exc:
        assert "authorization" in str(exc).lower()
        return
    await client.close()
    raise AssertionError("the hub accepted a client connection as kaltim's leaf user")


async def test_a_province_keeps_working_through_a_hub_outage_and_nothing_is_lost_or_doubled(
    fresh_federation: Federation, closing: list[Client]
) -> None:
    federation = fresh_federation
    await federation.create_hub_streams()
    training = await federation.connect("kaltim", "training")
    closing.append(training)
    await open_province_training(training)

    before = [ready_event("kaltim") for _ in range(20)]
    for event in before:
        await publish(training, event)
    placement = await federation.connect(topology.HUB_AGENCY, "placement")
    subscription = await placement_subscription(placement)
    first = await drain_until(subscription, {e.event_id.hex for e in before})
    await placement.nc.close()
    assert sorted(first) == sorted(e.event_id.hex for e in before)

    federation.stop_hub()
    during = [ready_event("kaltim") for _ in range(200)]
    for event in during:
        await publish(training, event)
    # the outbox relay restarting and sending again: the same Nats-Msg-Id
    for event in during[:25]:
        await publish(training, event)
    federation.start_hub()

    placement = await federation.connect(topology.HUB_AGENCY, "placement")
    closing.append(placement)
    subscription = await placement_subscription(placement)
    expected = {e.event_id.hex for e in during}
    second = await drain_until(subscription, expected, timeout_s=60)

    assert set(second) == expected
    assert len(second) == len(expected), "an event reached placement twice"
