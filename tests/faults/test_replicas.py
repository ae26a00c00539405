"""Two replicas of every service on the service's one PostgreSQL database, as Kubernetes runs
them, the second of each killed (kill -9, not restarted) with work in flight: the first carries
on alone, and nothing is published or announced twice, nothing lost (`jembatan check` on
PostgreSQL URLs)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import pytest
from benchmark.system import create_databases, drop_databases
from chaos import QUIET, ReplicatedSystem, Run, journeys_under_fault, seen

from jembatan_cli.system import SERVICES

T = TypeVar("T")

pytestmark = [pytest.mark.e2e, pytest.mark.faults, pytest.mark.timeout(360)]


def outside_the_loop(work: Coroutine[Any, Any, T]) -> T:
    """Run `work` on its own event loop in a thread, clear of the tests' loop."""
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, work).result()


@pytest.fixture(scope="module")
def system(
    tmp_path_factory: pytest.TempPathFactory, postgres_admin: str
) -> Iterator[ReplicatedSystem]:
    suffix = f"faults_{uuid.uuid4().hex[:8]}"
    urls = outside_the_loop(create_databases(postgres_admin, suffix))
    replicated = ReplicatedSystem.on_free_ports(
        tmp_path_factory.mktemp("replicas"), extra_env=QUIET, database_urls=urls
    )
    try:
        replicated.start()
        replicated.start_replicas()
        yield replicated
    finally:
        replicated.stop()
        outside_the_loop(drop_databases(postgres_admin, suffix))


async def kill_second_replicas(run: Run) -> None:
    assert isinstance(run.system, ReplicatedSystem)
    for name in SERVICES:
        run.system.kill_replica(name)
    run.notes.append("the second replica of each service killed")


async def test_the_second_replica_of_each_service_killed_loses_and_doubles_nothing(
    system: ReplicatedSystem,
) -> None:
    outcome = await journeys_under_fault(
        system, 150, kill_second_replicas, seen("placement.candidate.placed", 40)
    )
    print(f"\ntwo replicas on PostgreSQL, one killed: {outcome.summary()}")
    assert outcome.journeys == 150, outcome.summary()
    assert outcome.violations == []
