"""A consumer killed with a batch in flight: its messages come back to another consumer within
seconds (the 5 s ack wait), not after the old 30 s, even on a durable created with 30 s."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from pathlib import Path

import nats.errors
import pytest
from nats.aio.client import Client as NatsClient
from nats.js.api import ConsumerConfig, DeliverPolicy

from jembatan_contracts import CandidateRegistered
from jembatan_kit.broker import ensure_streams
from jembatan_kit.consumer import ConsumerOptions
from jembatan_kit.db import create_engine
from jembatan_kit.testing.effects import (
    ConsumingService,
    count_effects,
    create_tables,
    dead_letters,
    drained,
    registered,
)

DURABLE = "crash-candidate-registered"


async def test_a_killed_consumers_batch_comes_back_in_seconds(
    sqlite_url: str, nats_url: str, nats_client: NatsClient
) -> None:
    js = nats_client.jetstream()
    await ensure_streams(js)
    # The durable as the previous release created it: a 30 s ack wait.
    await js.add_consumer(
        "REGISTRATION",
        ConsumerConfig(
            durable_name=DURABLE,
            name=DURABLE,
            filter_subject=CandidateRegistered.subject_any_agency(),
            ack_wait=30,
            max_deliver=-1,
            deliver_policy=DeliverPolicy.ALL,
        ),
    )
    events = [registered() for _ in range(20)]
    for one in events:
        await js.publish(one.subject, one.model_dump_json().encode())

    child = subprocess.Popen(
        [
            sys.executable,
            str(Path(__file__).with_name("consumer_crash.py")),
            sqlite_url,
            nats_url,
            DURABLE,
        ],
        cwd=Path(__file__).parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert child.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(child.stdout.readline), timeout=30)
        assert line.strip() == b"handling", child.stderr.read().decode() if child.stderr else ""
        assert (await js.consumer_info("REGISTRATION", DURABLE)).config.ack_wait == 5
        # Handled for longer than the ack wait, the batch is kept in progress: another instance
        # on the same durable is not handed any of it meanwhile.
        spare = await js.pull_subscribe_bind(durable=DURABLE, stream="REGISTRATION")
        with pytest.raises(nats.errors.TimeoutError):
            await spare.fetch(1, timeout=7)
        await spare.unsubscribe()
        info = await js.consumer_info("REGISTRATION", DURABLE)
        assert info.num_ack_pending == len(events), "the child holds the whole batch"
        child.send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
    finally:
        child.kill()
        child.wait(timeout=10)
        if child.stdout:
            child.stdout.close()
        if child.stderr:
            child.stderr.close()

    engine = create_engine(sqlite_url)
    try:
        options = ConsumerOptions(batch_size=50, batch_timeout_s=0.05, max_deliver=3)
        async with ConsumingService(engine, nats_url, DURABLE, options):
            while not await _all_handled(engine, events):
                assert time.monotonic() - killed_at < 10, "the batch did not come back in 10 s"
                await asyncio.sleep(0.1)
            await drained(js, DURABLE)
    finally:
        await engine.dispose()
    assert await dead_letters(js) == []


async def _all_handled(engine, events) -> bool:
    counts = [await count_effects(engine, one.candidate_id) for one in events]
    assert max(counts) <= 1
    return min(counts) == 1


async def test_a_durable_the_server_will_not_update_is_kept_as_it_is(
    sqlite_url: str, nats_url: str, nats_client: NatsClient, caplog: pytest.LogCaptureFixture
) -> None:
    """Defined by hand to start from the newest message (not editable): the service still
    starts, on the durable as it is, and says so."""
    js = nats_client.jetstream()
    await ensure_streams(js)
    config = ConsumerConfig(
        durable_name=DURABLE,
        name=DURABLE,
        filter_subject=CandidateRegistered.subject_any_agency(),
        ack_wait=30,
        deliver_policy=DeliverPolicy.NEW,
    )
    await js.add_consumer("REGISTRATION", config)
    engine = create_engine(sqlite_url)
    await create_tables(engine)
    try:
        async with ConsumingService(engine, nats_url, DURABLE):
            event = registered()
            await js.publish(event.subject, event.model_dump_json().encode())
            await drained(js, DURABLE)
    finally:
        await engine.dispose()
    assert await count_effects(engine, event.candidate_id) == 1
    kept = (await js.consumer_info("REGISTRATION", DURABLE)).config
    assert (kept.deliver_policy, kept.ack_wait) == (DeliverPolicy.NEW, 30)
    assert "durable kept as it is" in caplog.text
