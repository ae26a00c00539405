"""kill -9 of each service with work in flight, and of nats-server, during journeys through the
HTTP APIs; after recovery every journey reaches its first RepaymentDue and `jembatan check`
finds nothing lost, nothing twice, nothing dead-lettered. Each test prints its recovery time."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import count

import pytest
from chaos import (
    BUSY,
    ChaosSystem,
    journeys_under_fault,
    kill_and_restart,
    kill_nats_and_restart,
    registered,
    running,
    seen,
)

pytestmark = [pytest.mark.e2e, pytest.mark.faults, pytest.mark.timeout(360)]

JOURNEYS = 300
batches = count()


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChaosSystem]:
    """One system for the module: each test's journeys are new candidates on top of the last."""
    yield from running(tmp_path_factory.mktemp("kills"))


@pytest.mark.parametrize(
    "service", ["registration", "training", "placement", "financing", "dashboard"]
)
async def test_a_service_killed_with_work_in_flight_loses_nothing(
    system: ChaosSystem, service: str
) -> None:
    # Registration's work is the uploads; the others' the events they consume, as they flow.
    when = registered(100) if service == "registration" else seen(BUSY[service], JOURNEYS // 4)
    outcome = await journeys_under_fault(
        system,
        JOURNEYS,
        kill_and_restart(service),
        when,
        first_candidate=next(batches) * JOURNEYS,
    )
    print(f"\nkill -9 {service}: {outcome.summary()}")
    assert outcome.journeys == JOURNEYS, outcome.summary()
    assert outcome.violations == []


@pytest.mark.parametrize("down_s", [8.0, 31.0])
async def test_nats_server_killed_and_restarted_on_its_store_loses_nothing(
    system: ChaosSystem, down_s: float
) -> None:
    outcome = await journeys_under_fault(
        system,
        JOURNEYS,
        kill_nats_and_restart(down_s),
        seen("placement.candidate.placed", JOURNEYS // 4),
        first_candidate=next(batches) * JOURNEYS,
    )
    print(f"\nkill -9 nats-server for {down_s:.0f} s: {outcome.summary()}")
    assert outcome.journeys == JOURNEYS, outcome.summary()
    assert outcome.violations == []
