"""Events are checked against who sent them, against a real nats-server and a real database: the
agency in the subject must be the event's, and one the deployment knows, or the event is
dead-lettered with the reason, unhandled and never retried, without holding up the others."""

from __future__ import annotations

from nats.aio.client import Client as NatsClient
from sqlalchemy.ext.asyncio import AsyncEngine

from jembatan_contracts import CandidateRegistered, DeadLetterHeader
from jembatan_kit.broker import ensure_streams
from jembatan_kit.consumer import ConsumerOptions, sender_problem, subject_agency
from jembatan_kit.settings import SHIPPED_AGENCIES
from jembatan_kit.testing.effects import (
    ConsumingService,
    count_effects,
    dead_letters,
    drained,
    registered,
)

DURABLE = "sender-candidate-registered"


async def test_an_event_whose_subject_and_payload_name_other_agencies_is_dead_lettered(
    engine: AsyncEngine, nats_url: str, nats_client: NatsClient
) -> None:
    js = nats_client.jetstream()
    await ensure_streams(js)
    # Published under Kalimantan Timur's prefix, claiming to be Kota Serang's.
    forged = registered(agency="kota-serang")
    kaltim_subject = CandidateRegistered.subject_for("kaltim")
    await js.publish(kaltim_subject, forged.model_dump_json().encode())
    # An agency no configuration created, consistent with itself.
    atlantis = registered(agency="atlantis")
    await js.publish(atlantis.subject, atlantis.model_dump_json().encode())
    good = registered(agency="kota-serang")
    await js.publish(good.subject, good.model_dump_json().encode())

    options = ConsumerOptions(batch_size=10, batch_timeout_s=0.05, max_deliver=3)
    async with ConsumingService(engine, nats_url, DURABLE, options):
        await drained(js, DURABLE)

    assert await count_effects(engine, good.candidate_id) == 1
    assert await count_effects(engine, forged.candidate_id) == 0
    assert await count_effects(engine, atlantis.candidate_id) == 0
    dead = {msg.headers[DeadLetterHeader.ORIGINAL_SUBJECT]: msg for msg in await dead_letters(js)}
    assert sorted(dead) == sorted([kaltim_subject, atlantis.subject])
    assert dead[kaltim_subject].headers[DeadLetterHeader.REASON] == (
        f"agency_mismatch: the subject {kaltim_subject} is agency 'kaltim''s but the event says"
        " agency 'kota-serang'; a forged or broken event, not handled"
    )
    assert dead[kaltim_subject].data == forged.model_dump_json().encode()
    assert dead[atlantis.subject].headers[DeadLetterHeader.REASON] == (
        "unknown_agency: 'atlantis' is not an agency this deployment knows (KNOWN_AGENCIES:"
        " boyolali, kaltim, kemnaker, kota-serang); not handled"
    )


async def test_an_agency_the_deployment_adds_is_handled(
    engine: AsyncEngine, nats_url: str, nats_client: NatsClient
) -> None:
    js = nats_client.jetstream()
    await ensure_streams(js)
    jabar = registered(agency="jabar")
    await js.publish(jabar.subject, jabar.model_dump_json().encode())
    options = ConsumerOptions(
        batch_size=10,
        batch_timeout_s=0.05,
        known_agencies=frozenset((*SHIPPED_AGENCIES, "jabar")),
    )
    async with ConsumingService(engine, nats_url, DURABLE, options):
        await drained(js, DURABLE)
    assert await count_effects(engine, jabar.candidate_id) == 1
    assert await dead_letters(js) == []


def test_the_subject_agency_is_its_second_token() -> None:
    assert subject_agency("jembatan.kota-serang.training.candidate.ready.v1") == "kota-serang"
    assert subject_agency("other.kaltim.training.candidate.ready.v1") is None
    assert subject_agency("jembatan") is None
    known = frozenset(SHIPPED_AGENCIES)
    event = registered(agency="kaltim")
    assert sender_problem(event.subject, event, known) is None
    assert (sender_problem("elsewhere.x", event, known) or "").startswith("agency_mismatch: ")
