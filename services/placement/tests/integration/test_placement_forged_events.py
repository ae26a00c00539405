"""Placement makes ready only candidates it has heard of, through its real consumers, against a
real nats-server and both databases: a readiness waits for the candidate's certificate (it may
be behind), kept by placement however long that takes, and is refused at once when the
certificates placement holds are another agency's; a candidate never made ready cannot be
placed."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from nats.aio.client import Client as NatsClient
from sqlalchemy import select

from jembatan_contracts import (
    DEAD_LETTER,
    CandidateReadyForPlacement,
    DeadLetterHeader,
    Event,
    Track,
)
from jembatan_kit.runtime import ServiceRuntime
from jembatan_kit.testing.helpers import (
    eventually,
    language_certificate,
    running_app,
    token_for,
    trust_file_for_tests,
)
from jembatan_placement.adapters.orm import waiting_readiness
from jembatan_placement.adapters.repository import SqlPlacementRepository
from jembatan_placement.bootstrap import build_app
from jembatan_placement.config import PlacementSettings
from jembatan_placement.domain.readiness import Certificate

FORMER_ATTEMPTS_S = 2.0
"""Past the attempts a readiness waiting on the bus had (tried again after 0.1, 0.3 and 1 s,
then dead-lettered)."""


@pytest.fixture
def app(database_url: str, nats_url: str) -> FastAPI:
    settings = PlacementSettings(
        database_url=database_url,
        nats_url=nats_url,
        auth_trust_file=trust_file_for_tests(),
        consumer_max_deliver=4,
        consumer_batch_timeout_s=0.05,
        waiting_readiness_interval_s=0.2,
    )
    return build_app(settings)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with running_app(app) as client:
        yield client


async def waiting(app: FastAPI, candidate_id: uuid.UUID) -> bool:
    """Placement keeps the candidate's readiness, waiting for a certificate."""
    runtime: ServiceRuntime = app.state.runtime
    async with runtime.sessions() as session:
        kept = await session.scalar(
            select(waiting_readiness.c.candidate_id).where(
                waiting_readiness.c.candidate_id == candidate_id
            )
        )
    return kept is not None


async def holds_a_certificate(app: FastAPI, candidate_id: uuid.UUID) -> bool:
    runtime: ServiceRuntime = app.state.runtime
    async with runtime.sessions() as session:
        held = await SqlPlacementRepository(session).certificates_of({candidate_id})
    return bool(held)


async def known(client: httpx.AsyncClient, candidate_id: uuid.UUID) -> bool:
    return (await client.get(f"/ready-candidates/{candidate_id}")).status_code == 200


def readiness(agency: str = "kaltim", **fields: object) -> CandidateReadyForPlacement:
    values: dict[str, object] = {
        "agency": agency,
        "journey_id": uuid.uuid4(),
        "candidate_id": uuid.uuid4(),
        "track": Track.TITP,
        "sector": "caregiver",
        "language_level": "N4",
        "satisfied_rules": ["japanese_n4"],
    }
    return CandidateReadyForPlacement(**(values | fields))  # type: ignore[arg-type]


async def publish(nats_client: NatsClient, event: Event) -> None:
    await nats_client.jetstream().publish(
        event.subject,
        event.model_dump_json().encode(),
        headers={"Nats-Msg-Id": str(event.event_id)},
    )


async def dead_letter_reason(nats_client: NatsClient, event: Event) -> str | None:
    js = nats_client.jetstream()
    state = (await js.stream_info(DEAD_LETTER.name)).state
    for seq in range(state.first_seq, state.last_seq + 1 if state.messages else 0):
        headers = (await js.get_msg(DEAD_LETTER.name, seq)).headers or {}
        if headers.get(DeadLetterHeader.ORIGINAL_MSG_ID) == str(event.event_id):
            return headers[DeadLetterHeader.REASON]
    return None


async def reason_of(nats_client: NatsClient, event: Event) -> str:
    async def dead_lettered() -> bool:
        return await dead_letter_reason(nats_client, event) is not None

    await eventually(dead_lettered)
    return await dead_letter_reason(nats_client, event) or ""


async def not_placeable(client: httpx.AsyncClient, candidate_id: uuid.UUID) -> None:
    """Unknown to placement: not listed, not matched, and a placement of them is refused."""
    assert (await client.get(f"/ready-candidates/{candidate_id}")).status_code == 404
    listed = (await client.get("/ready-candidates", params={"limit": 500})).json()
    assert str(candidate_id) not in {row["candidate_id"] for row in listed}
    order = await client.post(
        "/job-orders",
        json={
            "employer": "Sakura Kaigo K.K.",
            "supervising_organisation": "IM Japan",
            "prefecture": "Aichi",
            "sector": "caregiver",
            "track": "TITP",
            "slots": 2,
            "monthly_wage_jpy": 200_000,
            "contract_months": 36,
        },
    )
    assert order.status_code == 201, order.text
    placing = await client.post(
        f"/job-orders/{order.json()['id']}/placements", json={"candidate_id": str(candidate_id)}
    )
    assert placing.status_code in (404, 409, 422), placing.text
    assert str(candidate_id) in placing.json()["message"]


async def test_a_readiness_for_a_candidate_placement_never_heard_of_waits_unplaced(
    app: FastAPI, client: httpx.AsyncClient, nats_client: NatsClient
) -> None:
    unheard = readiness()
    await publish(nats_client, unheard)
    await eventually(lambda: waiting(app, unheard.candidate_id))
    await asyncio.sleep(FORMER_ATTEMPTS_S)

    assert await dead_letter_reason(nats_client, unheard) is None
    assert await waiting(app, unheard.candidate_id)
    await not_placeable(client, unheard.candidate_id)


async def test_a_readiness_naming_another_agency_than_the_candidates_certificates_is_refused(
    app: FastAPI, client: httpx.AsyncClient, nats_client: NatsClient
) -> None:
    genuine = readiness("kaltim")
    await publish(nats_client, language_certificate(genuine))
    await eventually(lambda: holds_a_certificate(app, genuine.candidate_id))
    # Kota Serang's readiness (its own subject and payload agree) for Kalimantan Timur's
    # candidate, whose certificate placement holds.
    forged = readiness("kota-serang", candidate_id=genuine.candidate_id)
    await publish(nats_client, forged)
    assert await reason_of(nats_client, forged) == (
        f"journey_mismatch: CandidateReadyForPlacement of candidate {forged.candidate_id} names"
        f" agency kota-serang and journey {forged.journey_id}, but every certificate placement"
        " holds for the candidate is of another (agency kaltim); a forged or broken event, not"
        " handled"
    )
    await not_placeable(client, forged.candidate_id)


async def test_a_readiness_that_overtakes_its_certificate_waits_for_it(
    app: FastAPI, client: httpx.AsyncClient, nats_client: NatsClient
) -> None:
    ready = readiness("boyolali")
    await publish(nats_client, ready)
    await eventually(lambda: waiting(app, ready.candidate_id))
    await asyncio.sleep(FORMER_ATTEMPTS_S)
    asked = await client.get(f"/ready-candidates/{ready.candidate_id}")
    assert asked.status_code == 404
    assert asked.json()["error"] == "waiting_for_certificate"
    assert asked.json()["message"].endswith(
        f"placement waits for a certificate of theirs (CertificatePassed of agency boyolali,"
        f" journey {ready.journey_id})"
    )
    other = await client.get(
        f"/ready-candidates/{ready.candidate_id}", headers=token_for("kota-serang")
    )
    assert other.status_code == 403  # another agency's candidate, waiting or not
    await publish(nats_client, language_certificate(ready))

    await eventually(lambda: known(client, ready.candidate_id))
    view = (await client.get(f"/ready-candidates/{ready.candidate_id}")).json()
    assert (view["agency"], view["certificates"]) == ("boyolali", ["JLPT"])
    assert not await waiting(app, ready.candidate_id)
    assert await dead_letter_reason(nats_client, ready) is None


async def test_a_readiness_and_its_certificate_that_crossed_are_made_ready(
    app: FastAPI, client: httpx.AsyncClient, nats_client: NatsClient
) -> None:
    ready = readiness("kaltim")
    await publish(nats_client, ready)
    await eventually(lambda: waiting(app, ready.candidate_id))
    # The certificate kept as a transaction at the same moment as the readiness's keeps it,
    # seeing no readiness waiting.
    runtime: ServiceRuntime = app.state.runtime
    async with runtime.sessions() as session, session.begin():
        repo = SqlPlacementRepository(session)
        repo.add_certificates([Certificate.passed(language_certificate(ready))])
        await repo.save()

    await eventually(lambda: known(client, ready.candidate_id))
    assert not await waiting(app, ready.candidate_id)
