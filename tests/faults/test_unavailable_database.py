"""A database unavailable for longer than the consumers' back-off is a resource failure, not a
handling failure: consumers pause and resume by themselves, nothing is dead-lettered, the HTTP
API answers 503 with Retry-After meanwhile, and every journey completes. Two ways it happens:

- an exclusive lock on SQLite held by another connection. A transaction waits up to 30 s for
  the lock (`jembatan_kit.db.BUSY_TIMEOUT_S`) before it fails, and a service's transactions take
  turns, so a lock of 70 s makes a few transactions fail after waiting;
- a full disk: every write of the service fails at once (its file size limit, RLIMIT_FSIZE, set
  to one byte: the kernel refuses each write with EFBIG, SQLite reports a disk I/O error), for
  20 s. Before issue #12 each failed transaction counted as a delivery attempt: with
  CONSUMER_MAX_DELIVER=3 the old path dead-letters a message after 1 + 2 s of retries.
"""

from __future__ import annotations

import asyncio
import resource
import sqlite3
import time
from collections.abc import Iterator

import httpx
import pytest
from chaos import ChaosSystem, Fault, Run, journeys_under_fault, registered, running, token_for

pytestmark = [pytest.mark.e2e, pytest.mark.faults, pytest.mark.timeout(360)]

LOCKED_S = 70.0
FULL_S = 20.0
ANSWER_WITHIN_S = 40.0


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChaosSystem]:
    yield from running(tmp_path_factory.mktemp("locked"), CONSUMER_MAX_DELIVER="3")


def lock_database(name: str, seconds: float, answers: list[httpx.Response | str]) -> Fault:
    """Hold an exclusive lock on the service's SQLite database for `seconds`, asking its API
    for a write meanwhile (the answer, or why there was none, kept in `answers`)."""

    async def fault(run: Run) -> None:
        database = sqlite3.connect(
            run.system.data_dir / f"{name}.db",
            timeout=30,
            isolation_level=None,
            check_same_thread=False,  # locked from a worker thread: it may wait for a writer
        )
        try:
            await asyncio.to_thread(database.execute, "BEGIN EXCLUSIVE")
            locked_at = time.monotonic()
            async with httpx.AsyncClient(
                base_url=run.system.services[name].url,
                headers={"authorization": f"Bearer {token_for(run.system)}"},
                timeout=ANSWER_WITHIN_S,
            ) as client:
                try:
                    answers.append(
                        await client.post(
                            "/results/bulk",
                            content=b"candidate_id,test,level,issuer,taken_on\n",
                            headers={"content-type": "text/csv"},
                        )
                    )
                except httpx.TimeoutException:
                    answers.append(f"no answer within {ANSWER_WITHIN_S:.0f} s")
            await asyncio.sleep(max(0.0, seconds - (time.monotonic() - locked_at)))
        finally:
            if database.in_transaction:
                database.execute("ROLLBACK")
            database.close()
        run.notes.append(f"{name}.db locked for {seconds:.0f} s")

    return fault


async def test_a_database_locked_longer_than_the_back_off_dead_letters_nothing(
    system: ChaosSystem,
) -> None:
    answers: list[httpx.Response | str] = []
    outcome = await journeys_under_fault(
        system, 150, lock_database("training", LOCKED_S, answers), registered(50)
    )
    print(f"\ntraining.db locked for {LOCKED_S:.0f} s: {outcome.summary()}")
    assert outcome.journeys == 150, outcome.summary()
    assert outcome.violations == []
    (during,) = answers
    assert isinstance(during, httpx.Response), f"training while its database was locked: {during}"
    assert during.status_code == 503, during.text
    assert "retry-after" in during.headers


def fill_disk(name: str, seconds: float) -> Fault:
    """Every write of the service's process fails for `seconds`, as on a full disk."""

    async def fault(run: Run) -> None:
        pid = run.system.services[name].process.pid
        resource.prlimit(pid, resource.RLIMIT_FSIZE, (1, resource.RLIM_INFINITY))
        try:
            await asyncio.sleep(seconds)
        finally:
            resource.prlimit(pid, resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY,) * 2)
        run.notes.append(f"{name}'s disk full for {seconds:.0f} s")

    return fault


async def test_a_full_disk_for_longer_than_the_back_off_dead_letters_nothing(
    system: ChaosSystem,
) -> None:
    outcome = await journeys_under_fault(
        system,
        150,
        fill_disk("training", FULL_S),
        registered(50),
        first_candidate=150,
    )
    print(f"\ntraining's disk full for {FULL_S:.0f} s: {outcome.summary()}")
    assert outcome.journeys == 150, outcome.summary()
    assert outcome.violations == []
