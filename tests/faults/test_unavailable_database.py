"""A database unavailable for longer than the consumers' back-off (an exclusive lock on SQLite held
by another connection) is a resource failure, not a handling failure: consumers pause and resume
by themselves, nothing is dead-lettered, the HTTP API answers 503 with Retry-After meanwhile, and
every journey completes.

The back-off is made short (CONSUMER_MAX_DELIVER=3: dead-lettered after 1 + 2 s of retries before
issue #12) so a lock of 15 s outlasts it several times over within the suite's budget."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Iterator

import httpx
import pytest
from chaos import ChaosSystem, Fault, Run, journeys_under_fault, registered, running, token_for

pytestmark = [pytest.mark.e2e, pytest.mark.faults, pytest.mark.timeout(240)]

LOCKED_S = 15.0


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChaosSystem]:
    yield from running(tmp_path_factory.mktemp("locked"), CONSUMER_MAX_DELIVER="3")


def lock_database(name: str, seconds: float, answers: list[httpx.Response]) -> Fault:
    """Hold an exclusive lock on the service's SQLite database for `seconds`, asking its API
    for a write meanwhile (the answers kept in `answers`)."""

    async def fault(run: Run) -> None:
        database = sqlite3.connect(
            run.system.data_dir / f"{name}.db", timeout=30, isolation_level=None
        )
        try:
            await asyncio.to_thread(database.execute, "BEGIN EXCLUSIVE")
            locked_at = time.monotonic()
            async with httpx.AsyncClient(
                base_url=run.system.services[name].url,
                headers={"authorization": f"Bearer {token_for(run.system)}"},
                timeout=LOCKED_S,
            ) as client:
                answers.append(
                    await client.post(
                        "/results/bulk",
                        content=b"candidate_id,test,level,issuer,taken_on\n",
                        headers={"content-type": "text/csv"},
                    )
                )
            await asyncio.sleep(max(0.0, seconds - (time.monotonic() - locked_at)))
        finally:
            database.execute("ROLLBACK")
            database.close()
        run.notes.append(f"{name}.db locked for {seconds:.0f} s")

    return fault


async def test_a_database_locked_longer_than_the_back_off_dead_letters_nothing(
    system: ChaosSystem,
) -> None:
    answers: list[httpx.Response] = []
    outcome = await journeys_under_fault(
        system, 150, lock_database("training", LOCKED_S, answers), registered(50)
    )
    print(f"\ntraining.db locked for {LOCKED_S:.0f} s: {outcome.summary()}")
    assert outcome.journeys == 150
    assert outcome.violations == []
    (during,) = answers
    assert during.status_code == 503, during.text
    assert "retry-after" in during.headers
