"""`jembatan check` on a real run: journeys end to end pass it; each planted violation (an unsent
outbox row, a deleted enrolment, an instalment announced twice) is reported by id, by
`check_system` and by the command, which exits non-zero."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import nats
import pytest
from chaos import ChaosSystem, journeys_under_fault, running, violations_of

from jembatan_cli.check import INVARIANTS, Violation

pytestmark = [pytest.mark.e2e, pytest.mark.faults]


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChaosSystem]:
    yield from running(tmp_path_factory.mktemp("check"))


def jembatan_check(system: ChaosSystem) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            str(Path(sys.executable).parent / "jembatan"),
            "check",
            f"--data-dir={system.data_dir}",
            f"--nats-url={system.nats_url}",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def ids_of(violations: list[Violation], invariant: str) -> set[str]:
    return {i for v in violations if v.invariant == invariant for i in v.ids}


async def test_journeys_end_to_end_pass_every_invariant(system: ChaosSystem) -> None:
    # Well under the test's timeout: journeys still running at their deadline are reported.
    outcome = await journeys_under_fault(system, 40, timeout_s=60)
    print(outcome.summary())
    assert outcome.journeys == 40
    assert outcome.violations == []
    checked = jembatan_check(system)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.count("ok  ") == len(INVARIANTS)
    assert f"{len(INVARIANTS)} of {len(INVARIANTS)} invariants hold" in checked.stdout


async def test_planted_violations_are_reported_by_id(system: ChaosSystem) -> None:
    assert await violations_of(system) == [], "the module's journeys should have left it sound"
    # An outbox row not sent: registration is stopped first, so its relay cannot send it again.
    system.kill("registration")
    with sqlite3.connect(system.data_dir / "registration.db") as db:
        (unsent,) = db.execute("SELECT event_id FROM outbox ORDER BY id LIMIT 1").fetchone()
        db.execute("UPDATE outbox SET sent_at = NULL WHERE event_id = ?", (unsent,))
    # An enrolment lost.
    with sqlite3.connect(system.data_dir / "training.db") as db:
        (lost,) = db.execute("SELECT candidate_id FROM enrolments LIMIT 1").fetchone()
        db.execute("DELETE FROM enrolments WHERE candidate_id = ?", (lost,))
    # An instalment announced a second time, under a new event id.
    client = await nats.connect(system.nats_url)
    js = client.jetstream()
    first = await js.get_last_msg("FINANCING", "jembatan.*.financing.repayment.due.v1")
    again = json.loads(first.data or b"{}")
    again["event_id"] = str(uuid.uuid4())
    await js.publish(first.subject or "", json.dumps(again).encode())
    await client.close()
    twice = f"{uuid.UUID(again['loan_id'])}:{again['instalment_number']}"

    found = await violations_of(system)

    assert ids_of(found, "outbox-sent") == {str(uuid.UUID(str(unsent)))}
    assert str(uuid.UUID(str(lost))) in ids_of(found, "registrations-enrolled")
    assert ids_of(found, "inbox-effects") != set()
    assert ids_of(found, "repayments-announced-once") == {twice}
    checked = jembatan_check(system)
    assert checked.returncode == 1
    for invariant in ("outbox-sent", "registrations-enrolled", "repayments-announced-once"):
        assert f"FAIL  {invariant}" in checked.stdout
    assert twice in checked.stdout
    assert "Peserta" not in checked.stdout  # ids only, never a name
