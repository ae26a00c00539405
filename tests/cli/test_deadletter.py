"""`jembatan deadletter` and the dead-letter part of `jembatan health`, against a real
nats-server and a real consumer on a real SQLite database."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import nats
import pytest
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext
from nats.js.errors import ObjectNotFoundError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from typer.testing import CliRunner, Result

from jembatan_cli.main import app
from jembatan_contracts import (
    DEAD_LETTER,
    DEAD_LETTER_BODIES,
    REPLAY_FOR_HEADER,
    CandidateRegistered,
    DeadLetterHeader,
    dead_letter_subject,
)
from jembatan_kit.broker import ensure_streams, make_broker
from jembatan_kit.consumer import BatchConsumer, ConsumerOptions, EventHandler, Unprocessable
from jembatan_kit.db import create_engine, create_session_factory
from jembatan_kit.nats_server import NatsServerProcess, free_ports
from jembatan_kit.testing.effects import count_effects, create_tables, record_effect, registered
from jembatan_kit.testing.helpers import eventually

DURABLE = "test-candidate-registered"
OTHER = "other-candidate-registered"
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


class Refusing:
    """The consumer's handler: refuses every event (Unprocessable) until the cause is fixed."""

    def __init__(self) -> None:
        self.fixed = False

    async def __call__(self, session: AsyncSession, event: CandidateRegistered) -> None:
        if not self.fixed:
            raise Unprocessable("no training place for sector yet")
        await record_effect(session, event)


@pytest.fixture
async def engine(sqlite_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(sqlite_url)
    await create_tables(engine)
    yield engine
    await engine.dispose()


@pytest.fixture
async def js(nats_client: NatsClient) -> JetStreamContext:
    js = nats_client.jetstream()
    await ensure_streams(js)
    return js


@pytest.fixture
async def handler(
    engine: AsyncEngine, nats_url: str, js: JetStreamContext
) -> AsyncIterator[Refusing]:
    """A real BatchConsumer of CandidateRegistered, running until the test ends."""
    refusing = Refusing()
    broker = make_broker(nats_url, "deadletter-test")
    BatchConsumer(
        broker,
        EventHandler(CandidateRegistered, DURABLE, refusing),
        create_session_factory(engine),
        ConsumerOptions(batch_size=10, batch_timeout_s=0.05, max_deliver=3),
    ).register()
    await broker.start()
    yield refusing
    await broker.stop()


def cli(*args: str, input: str | None = None) -> Awaitable[Result]:
    """The command, as an operator types it (in a thread: it runs its own event loop)."""
    return asyncio.to_thread(lambda: CliRunner().invoke(app, list(args), input=input))


async def publish_original(js: JetStreamContext, event: CandidateRegistered) -> int:
    """As the outbox relay publishes: the event id as Nats-Msg-Id, with the journey's trace."""
    ack = await js.publish(
        event.subject,
        event.model_dump_json().encode(),
        headers={"Nats-Msg-Id": str(event.event_id), "traceparent": TRACEPARENT},
    )
    return ack.seq


async def dead_letter_by_hand(
    js: JetStreamContext,
    event: CandidateRegistered,
    durable: str = DURABLE,
    reason: str = "sector unknown",
    by_reference: bool = False,
) -> int:
    """A dead letter with every header a consumer writes; its body kept in the object store
    when `by_reference`, as a consumer keeps a body too large to carry."""
    body = event.model_dump_json().encode()
    headers = {
        DeadLetterHeader.REASON: reason,
        DeadLetterHeader.CONSUMER: durable,
        DeadLetterHeader.DEAD_LETTERED_AT: datetime.now(UTC).isoformat(),
        DeadLetterHeader.ORIGINAL_SUBJECT: event.subject,
        DeadLetterHeader.ORIGINAL_STREAM: "REGISTRATION",
        DeadLetterHeader.ORIGINAL_SEQUENCE: "41",
        DeadLetterHeader.ORIGINAL_MSG_ID: str(event.event_id),
        DeadLetterHeader.TRACEPARENT: TRACEPARENT,
    }
    if by_reference:
        store = await js.create_object_store(DEAD_LETTER_BODIES)
        name = f"{durable}.{event.event_id}"
        await store.put(name, body)
        headers[DeadLetterHeader.BODY_OBJECT] = name
        body = b""
    ack = await js.publish(
        dead_letter_subject(durable), body, headers=headers, stream=DEAD_LETTER.name
    )
    return ack.seq


async def dead_letters(js: JetStreamContext) -> int:
    return (await js.stream_info(DEAD_LETTER.name)).state.messages


def sequences_listed(output: str) -> list[int]:
    return [int(line.split()[0]) for line in output.splitlines() if line[:7].strip().isdigit()]


def log_lines(data_dir: Path) -> list[dict[str, Any]]:
    log = data_dir / "logs" / "deadletter-actions.jsonl"
    return [json.loads(line) for line in log.read_text().splitlines()]


async def test_dead_letters_of_a_real_consumer_are_listed_and_filtered(
    handler: Refusing, js: JetStreamContext, nats_url: str
) -> None:
    refused = [registered(), registered()]
    for event in refused:
        await publish_original(js, event)
    await js.publish(refused[0].subject, b'{"agency": "kaltim"}')  # no journey: schema invalid
    await eventually(lambda: _equals(dead_letters(js), 3))
    between = datetime.now(UTC)
    await asyncio.sleep(0.01)
    other = await dead_letter_by_hand(js, registered(), OTHER, "gave up after 8 attempts")

    listed = await cli("deadletter", "list", "--nats-url", nats_url)
    assert listed.exit_code == 0, listed.output
    assert sequences_listed(listed.output) == [1, 2, 3, other]
    for event in refused:
        assert f"CandidateRegistered {event.event_id}" in listed.output
    assert "no training place for sector yet" in listed.output
    assert "schema invalid" in listed.output
    assert "4 dead letter(s)" in listed.output
    assert [line.split() for line in listed.output.splitlines()[-2:]] == [
        [OTHER, "1"],
        [DURABLE, "3"],
    ]

    mine = await cli("deadletter", "list", "--consumer", DURABLE, "--nats-url", nats_url)
    assert sequences_listed(mine.output) == [1, 2, 3]
    schema = await cli("deadletter", "list", "--reason", "SCHEMA INVALID", "--nats-url", nats_url)
    assert sequences_listed(schema.output) == [3]
    moment = between.isoformat()
    later = await cli("deadletter", "list", "--since", moment, "--nats-url", nats_url)
    assert sequences_listed(later.output) == [other]
    earlier = await cli("deadletter", "list", "--until", moment, "--nats-url", nats_url)
    assert sequences_listed(earlier.output) == [1, 2, 3]

    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    none = await cli("deadletter", "list", "--since", tomorrow, "--nats-url", nats_url)
    assert none.exit_code == 1
    assert f"No dead letters match (since {tomorrow}T00:00:00Z)" in none.output
    wildcard = await cli("deadletter", "list", "--consumer", "training.*", "--nats-url", nats_url)
    assert wildcard.exit_code == 2
    assert "'training.*' is not a consumer's name" in wildcard.output
    bad_time = await cli("deadletter", "list", "--since", "yesterday", "--nats-url", nats_url)
    assert bad_time.exit_code == 2
    assert "'yesterday' is not an ISO time" in bad_time.output


async def test_show_prints_every_header_and_the_event_from_the_object_store_too(
    js: JetStreamContext, nats_url: str
) -> None:
    inline, stored = registered(), registered(sector="welder")
    inline_seq = await dead_letter_by_hand(js, inline)
    stored_seq = await dead_letter_by_hand(js, stored, by_reference=True)
    not_an_event = await js.publish(
        dead_letter_subject(DURABLE),
        b'{"event_type": "CandidateRegistered", "event_id": "6471010101900001"}',
        headers={DeadLetterHeader.REASON: "schema invalid: journey_id: Field required"},
    )
    body_gone = await js.publish(
        dead_letter_subject(DURABLE),
        b"",
        headers={DeadLetterHeader.BODY_OBJECT: "removed-by-hand"},
    )

    shown = await cli("deadletter", "show", str(inline_seq), "--nats-url", nats_url)
    assert shown.exit_code == 0, shown.output
    assert f"  {DeadLetterHeader.CONSUMER}: {DURABLE}" in shown.output
    assert f"  {DeadLetterHeader.ORIGINAL_MSG_ID}: {inline.event_id}" in shown.output
    assert f"  traceparent: {TRACEPARENT}" in shown.output
    assert f'    "event_id": "{inline.event_id}",' in shown.output  # pretty JSON

    from_store = await cli("deadletter", "show", str(stored_seq), "--nats-url", nats_url)
    assert from_store.exit_code == 0, from_store.output
    assert f"kept in the object store {DEAD_LETTER_BODIES}" in from_store.output
    assert f'    "event_id": "{stored.event_id}",' in from_store.output
    assert '    "preferred_sector": "welder",' in from_store.output

    # Anything that is not an event shows its field names, never its values.
    odd = await cli("deadletter", "show", str(not_an_event.seq), "--nats-url", nats_url)
    assert odd.exit_code == 0, odd.output
    assert "not a valid CandidateRegistered" in odd.output
    assert "fields: event_id, event_type" in odd.output
    assert "6471010101900001" not in odd.output
    listed = await cli("deadletter", "list", "--nats-url", nats_url)
    assert f"{not_an_event.seq}" in listed.output
    assert "6471010101900001" not in listed.output

    gone = await cli("deadletter", "show", str(body_gone.seq), "--nats-url", nats_url)
    assert gone.exit_code == 1
    assert f"  {DeadLetterHeader.BODY_OBJECT}: removed-by-hand" in gone.output
    assert f"its body 'removed-by-hand' is not in the object store {DEAD_LETTER_BODIES}" in (
        gone.output
    )

    unknown = await cli("deadletter", "show", "999", "--nats-url", nats_url)
    assert unknown.exit_code == 1
    assert "There is no dead letter 999" in unknown.output
    assert "Traceback" not in unknown.output


async def test_a_replay_after_the_fix_has_one_effect_and_escapes_the_duplicate_window(
    handler: Refusing, engine: AsyncEngine, js: JetStreamContext, nats_url: str, tmp_path: Path
) -> None:
    event, stored = registered(), registered()
    original = await publish_original(js, event)
    await eventually(lambda: _equals(dead_letters(js), 1))
    stored_seq = await dead_letter_by_hand(js, stored, by_reference=True)
    handler.fixed = True

    refused = await cli(
        "deadletter", "replay", "1", str(stored_seq), "--nats-url", nats_url, input="n\n"
    )
    assert refused.exit_code == 1
    assert "Replay these 2 dead letter(s) (2 of test-candidate-registered)?" in refused.output
    assert await dead_letters(js) == 2

    replayed = await cli(
        "deadletter", "replay", "1", str(stored_seq), "--yes", "--because", "sector added",
        "--nats-url", nats_url, "--data-dir", str(tmp_path),
    )  # fmt: skip
    assert replayed.exit_code == 0, replayed.output
    # Seconds after the original was published with the event id as Nats-Msg-Id: the replay
    # is a new message of the stream, not a duplicate dropped without a word.
    copy = await js.get_msg("REGISTRATION", seq=original + 1)
    assert copy.headers is not None
    assert copy.headers["Nats-Msg-Id"].startswith("replay:1:")
    assert copy.headers[REPLAY_FOR_HEADER] == DURABLE
    stored_copy = await js.get_msg("REGISTRATION", seq=original + 2)
    assert stored_copy.headers is not None
    assert stored_copy.headers["traceparent"] == TRACEPARENT
    assert CandidateRegistered.model_validate_json(stored_copy.data or b"") == stored
    assert f"replayed 1 for {DURABLE}" in replayed.output

    await eventually(lambda: _equals(count_effects(engine), 2))
    await asyncio.sleep(0.5)  # room for a second effect, if there were to be one
    assert await count_effects(engine, event.candidate_id) == 1
    assert await count_effects(engine, stored.candidate_id) == 1
    assert await dead_letters(js) == 0
    store = await js.object_store(DEAD_LETTER_BODIES)
    with pytest.raises(ObjectNotFoundError):
        await store.get(f"{DURABLE}.{stored.event_id}")

    [logged] = log_lines(tmp_path)
    assert logged["action"] == "replay"
    assert logged["why"] == "sector added"
    assert logged["sequences"] == [1, stored_seq]
    assert logged["consumers"] == [DURABLE]
    assert logged["event_ids"] == [str(event.event_id), str(stored.event_id)]
    assert logged["who"]
    assert datetime.fromisoformat(str(logged["at"])) > datetime.now(UTC) - timedelta(minutes=1)
    assert f"logged in {tmp_path}" in replayed.output

    again = await cli("deadletter", "replay", "1", "--yes", "--nats-url", nats_url)
    assert again.exit_code == 1
    assert "There is no dead letter 1" in again.output


async def test_a_replay_goes_to_the_server_whose_stream_takes_the_subject(
    js: JetStreamContext, nats_url: str, tmp_path: Path
) -> None:
    """As at the hub, whose REGISTRATION only sources the provinces' streams: the dead letter is
    here, the stream that takes the original's subject on another server."""
    event = registered()
    seq = await dead_letter_by_hand(js, event)
    await js.delete_stream("REGISTRATION")
    here = await cli("deadletter", "replay", str(seq), "--yes", "--nats-url", nats_url,
                     "--data-dir", str(tmp_path))  # fmt: skip
    assert here.exit_code == 1
    assert f"no stream on this server takes {event.subject}" in here.output
    assert await dead_letters(js) == 1
    [failed] = log_lines(tmp_path)
    assert failed["sequences"] == []
    [failure] = failed["failed"]
    assert failure["sequence"] == seq
    assert "no stream on this server takes" in failure["error"]

    with NatsServerProcess(store_dir=tmp_path / "province") as province:
        client = await nats.connect(province.url)
        try:
            await ensure_streams(client.jetstream())
            there = await cli(
                "deadletter", "replay", str(seq), "--yes", "--nats-url", nats_url,
                "--publish-nats-url", province.url, "--data-dir", str(tmp_path),
            )  # fmt: skip
            assert there.exit_code == 0, there.output
            copy = await client.jetstream().get_msg("REGISTRATION", seq=1)
        finally:
            await client.close()
    assert copy.headers is not None
    assert copy.headers[REPLAY_FOR_HEADER] == DURABLE
    assert CandidateRegistered.model_validate_json(copy.data or b"") == event
    assert await dead_letters(js) == 0


async def test_discard_removes_and_logs_and_health_turns_green(
    js: JetStreamContext, nats_url: str, tmp_path: Path, services_answering: int
) -> None:
    kept = await dead_letter_by_hand(js, registered(), OTHER)
    stored = [registered(), registered()]
    for event in stored:
        await dead_letter_by_hand(js, event, by_reference=True)

    red = await cli("health", "--base-port", str(services_answering), "--nats-url", nats_url)
    assert red.exit_code == 1, red.output
    assert "3 message(s) were dead-lettered" in red.output
    assert "jembatan deadletter list" in red.output

    unexplained = await cli("deadletter", "discard", "--consumer", DURABLE, "--nats-url", nats_url)
    assert unexplained.exit_code == 2
    assert "--because" in unexplained.output
    nothing = await cli(
        "deadletter", "discard", "--consumer", "nobody", "--because", "x", "--nats-url", nats_url
    )
    assert nothing.exit_code == 1
    assert "No dead letters match (consumer nobody)" in nothing.output
    both = await cli(
        "deadletter", "discard", "2", "--all", "--because", "x", "--nats-url", nats_url
    )
    assert both.exit_code == 2
    assert "name the dead letters one way" in both.output

    discarded = await cli(
        "deadletter", "discard", "--consumer", DURABLE, "--because", "test data", "--yes",
        "--nats-url", nats_url, "--data-dir", str(tmp_path),
    )  # fmt: skip
    assert discarded.exit_code == 0, discarded.output
    left = await cli("deadletter", "list", "--nats-url", nats_url)
    assert sequences_listed(left.output) == [kept]
    store = await js.object_store(DEAD_LETTER_BODIES)
    for event in stored:
        with pytest.raises(ObjectNotFoundError):
            await store.get(f"{DURABLE}.{event.event_id}")
    [logged] = log_lines(tmp_path)
    assert logged["action"] == "discard"
    assert logged["why"] == "test data"
    assert logged["sequences"] == [2, 3]

    still_red = await cli("health", "--base-port", str(services_answering), "--nats-url", nats_url)
    assert still_red.exit_code == 1
    await cli("deadletter", "discard", str(kept), "--because", "x", "--yes", "--nats-url", nats_url,
              "--data-dir", str(tmp_path))  # fmt: skip
    green = await cli("health", "--base-port", str(services_answering), "--nats-url", nats_url)
    assert green.exit_code == 0, green.output
    assert "dead letters: none" in green.output


async def test_nats_not_answering_is_a_message_not_a_traceback() -> None:
    [closed] = free_ports(1)
    for args in (("list",), ("show", "1"), ("replay", "--all", "--yes")):
        result = await cli("deadletter", *args, "--nats-url", f"nats://127.0.0.1:{closed}")
        assert result.exit_code == 1
        assert f"NATS does not answer at nats://127.0.0.1:{closed}" in result.output
        assert "Traceback" not in result.output


@pytest.fixture
def services_answering(services: Any) -> int:
    """The services' /health, answered healthy, so `jembatan health` is red or green for the bus
    alone: the port of the first."""
    return int(services.base_port)


async def _equals(count: Awaitable[int], expected: int) -> bool:
    return await count == expected
