"""A malformed message and an oversized one (as large as the server accepts) at the head of a
stream, then the consuming services restarted: they start and serve HTTP, the two messages are
dead-lettered (the large one kept by reference) and nothing else is, and journeys go through."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator

import nats
import pytest
from chaos import ChaosSystem, journeys_under_fault, running

pytestmark = [pytest.mark.e2e, pytest.mark.faults, pytest.mark.timeout(360)]

SUBJECT = "jembatan.kaltim.registration.candidate.registered.v1"
CONSUMERS = {"training-candidate-registered", "dashboard-candidate-registered"}


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChaosSystem]:
    yield from running(tmp_path_factory.mktemp("poison"))


async def test_poison_at_the_head_of_a_stream_stops_no_service(system: ChaosSystem) -> None:
    for name in ("training", "dashboard"):
        system.kill(name)
    client = await nats.connect(system.nats_url)
    js = client.jetstream()
    await js.publish(SUBJECT, b'{"event_id": "not json', headers={"Nats-Msg-Id": "poison-1"})
    # As large as the server accepts: its headers and body 200 bytes short of max_payload, so
    # whatever a dead-letter path adds to it, as is, goes over.
    padding = client.max_payload - 200
    oversized = json.dumps({"event_id": str(uuid.uuid4()), "sector": "x" * padding}).encode()
    await js.publish(SUBJECT, oversized, headers={"Nats-Msg-Id": "poison-2"})
    await client.close()

    began = time.monotonic()
    for name in ("training", "dashboard"):
        system.restart(name, timeout_s=30)
    print(f"\ntraining and dashboard answered {time.monotonic() - began:.1f} s after restart")

    outcome = await journeys_under_fault(
        system,
        60,
        timeout_s=120,
        tolerated=lambda violation: violation.invariant == "no-dead-letters",
    )
    print(f"after poison: {outcome.summary()}")
    assert outcome.journeys == 60, outcome.summary()
    others = [v for v in outcome.violations if v.invariant != "no-dead-letters"]
    assert others == []
    dead = {v.detail.split()[3]: len(v.ids) for v in outcome.violations}
    assert dead == dict.fromkeys(CONSUMERS, 2)
