"""A replayed message (`REPLAY_FOR_HEADER`) reaches one durable: the one it names handles it as
any message, its inbox deciding; every other durable of the subject acknowledges it unhandled."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from nats.aio.client import Client as NatsClient
from sqlalchemy.ext.asyncio import AsyncEngine

from jembatan_contracts import REPLAY_FOR_HEADER
from jembatan_kit.broker import ensure_streams
from jembatan_kit.db import create_engine
from jembatan_kit.testing.effects import (
    ConsumingService,
    count_effects,
    create_tables,
    dead_letters,
    drained,
    registered,
)

NAMED = "replayed-candidate-registered"
OTHER = "other-candidate-registered"


@pytest.fixture
async def engines(tmp_path: Path) -> AsyncIterator[tuple[AsyncEngine, AsyncEngine]]:
    """Each durable with its own database, as each service has."""
    named, other = (create_engine(f"sqlite+aiosqlite:///{tmp_path / f'{n}.db'}") for n in "ab")
    for engine in (named, other):
        await create_tables(engine)
    yield named, other
    for engine in (named, other):
        await engine.dispose()


async def test_a_replay_is_handled_by_the_durable_it_names_only(
    engines: tuple[AsyncEngine, AsyncEngine], nats_url: str, nats_client: NatsClient
) -> None:
    named_db, other_db = engines
    js = nats_client.jetstream()
    await ensure_streams(js)
    handled_by_both, lost_by_named = registered(), registered()
    await js.publish(handled_by_both.subject, handled_by_both.model_dump_json().encode())

    async def replay(event, durable: str) -> None:
        # A fresh message id, as `jembatan deadletter replay` sends it: never taken for a
        # duplicate by the stream, so the inbox decides.
        await js.publish(
            event.subject,
            event.model_dump_json().encode(),
            headers={"Nats-Msg-Id": f"replay-{uuid.uuid4()}", REPLAY_FOR_HEADER: durable},
        )

    async with (
        ConsumingService(named_db, nats_url, NAMED) as named,
        ConsumingService(other_db, nats_url, OTHER) as other,
    ):
        await replay(handled_by_both, NAMED)  # the named one's inbox drops it
        await replay(lost_by_named, NAMED)  # the named one handles it, the other never does
        await drained(js, NAMED)
        await drained(js, OTHER)
        assert named.consumer.processed == 2
        assert other.consumer.processed == 1

    assert await count_effects(named_db, handled_by_both.candidate_id) == 1
    assert await count_effects(named_db, lost_by_named.candidate_id) == 1
    assert await count_effects(other_db, handled_by_both.candidate_id) == 1
    assert await count_effects(other_db, lost_by_named.candidate_id) == 0
    assert await dead_letters(js) == []
