"""`jembatan outbox resend` brings back what the bus lost after acknowledging it: the resent
events reach a consumer once more, the lost ones take effect, the others are dropped by the
inbox, each journey's in order."""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

from nats.aio.client import Client as NatsClient
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner

from jembatan_cli.main import app
from jembatan_contracts import CandidateRegistered
from jembatan_kit.broker import ensure_streams, make_broker
from jembatan_kit.consumer import BatchConsumer, ConsumerOptions, EventHandler
from jembatan_kit.db import create_engine, create_session_factory
from jembatan_kit.messaging_tables import outbox_table
from jembatan_kit.outbox import OutboxRelay, add_to_outbox
from jembatan_kit.testing.effects import (
    count_effects,
    create_tables,
    record_effect,
    record_effects,
    registered,
)

STEPS = 10


async def test_resent_events_have_one_effect_each_and_the_lost_ones_come_back(
    tmp_path: Path, nats_url: str, nats_client: NatsClient
) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'registration.db'}")
    await create_tables(engine)
    sessions = create_session_factory(engine)
    js = nats_client.jetstream()
    await ensure_streams(js)
    recent, earlier = [uuid.uuid4(), uuid.uuid4()], uuid.uuid4()
    for step in range(STEPS):
        async with sessions() as session, session.begin():
            await add_to_outbox(
                session,
                *(
                    registered(f"step-{step}").model_copy(update={"journey_id": journey})
                    for journey in (*recent, earlier)
                ),
            )
    async with engine.begin() as connection:  # staged two days ago: outside the window
        await connection.execute(
            update(outbox_table)
            .where(outbox_table.c.journey_id == earlier)
            .values(created_at=datetime.now(UTC) - timedelta(days=2))
        )
    broker = make_broker(nats_url, "registration")
    await broker.connect()
    relay = OutboxRelay(broker, sessions)
    while await relay.relay_once():
        pass
    assert relay.published == 3 * STEPS
    # The bus loses three acknowledged events of the recent journeys.
    lost = {(recent[0], 2), (recent[0], 5), (recent[1], 7)}
    for sequence in range(1, 3 * STEPS + 1):
        stored = CandidateRegistered.model_validate_json(
            (await js.get_msg("REGISTRATION", sequence)).data or b""
        )
        if (stored.journey_id, int(stored.preferred_sector.removeprefix("step-"))) in lost:
            await js.delete_msg("REGISTRATION", sequence)

    consumer = BatchConsumer(
        broker,
        EventHandler(
            CandidateRegistered, "test-resend", record_effect, handle_batch=record_effects
        ),
        sessions,
        ConsumerOptions(batch_size=10, batch_timeout_s=0.05, max_deliver=3),
        lambda: None,
    )
    consumer.register()
    await broker.start()
    try:
        await _until_effects(engine, 3 * STEPS - len(lost))
        since = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
        resent = await asyncio.to_thread(
            CliRunner().invoke,
            app,
            [
                "outbox",
                "resend",
                "--service",
                "registration",
                "--since",
                since,
                "--data-dir",
                str(tmp_path),
                "--nats-url",
                nats_url,
            ],
        )
        assert resent.exit_code == 0, resent.output
        assert "resent 20 event(s) of registration" in resent.output
        await _until_effects(engine, 3 * STEPS)
        await asyncio.sleep(0.5)  # room for a second effect, if there were to be one
        assert await count_effects(engine) == 3 * STEPS, "one effect per event"
        async with sessions() as session:
            stored = await session.execute(
                select(outbox_table.c.event_id, outbox_table.c.traceparent)
            )
            traceparents = {row.event_id: row.traceparent for row in stored}
    finally:
        await broker.stop()
        await engine.dispose()
    assert all(traceparents.values())
    resends = await js.pull_subscribe(
        "jembatan.*.registration.>",
        durable="check-resend",
        config=ConsumerConfig(
            ack_policy=AckPolicy.NONE,
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
            opt_start_seq=3 * STEPS + 1,
        ),
    )
    steps: dict[uuid.UUID, list[int]] = defaultdict(list)
    for message in await resends.fetch(20, timeout=5):
        event = CandidateRegistered.model_validate_json(message.data)
        assert message.headers is not None
        assert message.headers["Nats-Msg-Id"].startswith(f"{event.event_id}:resend:")
        assert message.headers.get("traceparent") == traceparents[event.event_id]
        steps[event.journey_id].append(int(event.preferred_sector.removeprefix("step-")))
    assert steps == {journey: list(range(STEPS)) for journey in recent}


async def _until_effects(engine: AsyncEngine, expected: int) -> None:
    deadline = asyncio.get_running_loop().time() + 20
    while await count_effects(engine) < expected:
        assert asyncio.get_running_loop().time() < deadline, "not all effects in time"
        await asyncio.sleep(0.05)


def test_resend_refuses_what_it_cannot_act_on(tmp_path: Path) -> None:
    def resend(*options: str) -> tuple[int, str]:
        result = CliRunner().invoke(app, ["outbox", "resend", *options])
        return result.exit_code, " ".join(result.output.replace("│", " ").split())

    code, output = resend("--service", "visa", "--since", "2026-12-01")
    assert code == 2 and "must be one of identity, registration, training" in output
    code, output = resend("--service", "training", "--since", "yesterday")
    assert code == 2 and "'yesterday' is not an ISO 8601 time" in output
    code, output = resend(
        "--service", "training", "--since", "2026-12-02", "--until", "2026-12-01T00:00Z"
    )
    assert code == 2 and "must be later than --since" in output
    code, output = resend(
        "--service", "training", "--since", "2026-12-01", "--data-dir", str(tmp_path)
    )
    assert code == 1 and f"No database of training in {tmp_path}" in output
