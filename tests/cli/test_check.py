"""`jembatan check` without a system: its subject matching, and the errors a person sees for
bad arguments, a database it cannot read or NATS not answering (exit 2, never a traceback)."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from jembatan_cli.check import (
    SERVICES,
    Bus,
    CheckUnavailable,
    Records,
    async_url,
    evaluate,
    read_bus,
    subject_matches,
)
from jembatan_cli.main import app
from jembatan_kit.nats_server import free_ports


@pytest.mark.parametrize(
    ("pattern", "subject", "matches"),
    [
        (
            "jembatan.*.financing.repayment.due.v1",
            "jembatan.kaltim.financing.repayment.due.v1",
            True,
        ),
        (
            "jembatan.*.financing.repayment.due.v1",
            "jembatan.kaltim.financing.loan.opened.v1",
            False,
        ),
        ("jembatan.*.registration.>", "jembatan.jatim.registration.candidate.registered.v1", True),
        ("jembatan.*.registration.>", "jembatan.jatim.registration", False),
        ("jembatan.*", "jembatan.kaltim.extra", False),
    ],
)
def test_subjects_match_as_nats_matches_them(pattern: str, subject: str, matches: bool) -> None:
    assert subject_matches(pattern, subject) is matches


def test_database_urls_get_the_asynchronous_driver() -> None:
    assert async_url("postgresql://db/financing") == "postgresql+asyncpg://db/financing"
    assert async_url("postgresql+psycopg://db/f") == "postgresql+asyncpg://db/f"
    assert async_url("sqlite:///var/training.db") == "sqlite+aiosqlite:///var/training.db"
    with pytest.raises(ValueError, match="sqlite or postgresql"):
        async_url("mysql://db/x")


def test_a_database_url_must_name_a_service(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["check", "--database-url", "payroll=sqlite:///x.db"])
    assert result.exit_code == 2
    assert "service=URL" in result.output


def test_a_missing_data_folder_is_named(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["check", "--data-dir", str(tmp_path / "nowhere")])
    assert result.exit_code == 2
    assert "no database at" in result.output


def test_an_unreadable_database_is_reported_not_raised(tmp_path: Path) -> None:
    urls = [f"--database-url={name}=postgresql://postgres@127.0.0.1:1/none" for name in SERVICES]
    result = CliRunner().invoke(app, ["check", *urls])
    assert result.exit_code == 2
    assert "cannot read its database" in result.output


async def test_nats_not_answering_is_named_at_once() -> None:
    [closed] = free_ports(1)
    async with asyncio.timeout(15):  # nats-py's own connect kept trying for as long as let
        with pytest.raises(
            CheckUnavailable, match=f"NATS does not answer at nats://127.0.0.1:{closed}"
        ):
            await read_bus(f"nats://127.0.0.1:{closed}")


def one_journey() -> tuple[dict[str, Records], Bus]:
    """The records of one candidate from registration to the first RepaymentDue, all in order."""
    candidate, journey, placement, loan = (str(uuid.uuid4()) for _ in range(4))
    registered, placed = str(uuid.uuid4()), str(uuid.uuid4())
    subject = "jembatan.kaltim.{}.v1".format

    def outbox(event_id: str, suffix: str, **body: str) -> dict[str, Any]:
        payload = json.dumps({"event_id": event_id, "journey_id": journey, **body})
        return {"event_id": event_id, "subject": subject(suffix), "payload": payload, "sent_at": 1}

    records = {
        "registration": Records(
            {
                "candidates": [{"id": candidate, "status": "active"}],
                "outbox": [
                    outbox(registered, "registration.candidate.registered", candidate_id=candidate)
                ],
                "inbox": [],
            }
        ),
        "training": Records(
            {
                "enrolments": [{"candidate_id": candidate, "journey_id": journey}],
                "outbox": [],
                "inbox": [{"consumer": "training-candidate-registered", "event_id": registered}],
            }
        ),
        "placement": Records(
            {
                "placements": [{"id": placement, "candidate_id": candidate, "status": "departed"}],
                "steps": [
                    {"placement_id": placement, "status": status}
                    for status in ("placed", "coe_issued", "visa_issued", "departed")
                ],
                "outbox": [outbox(placed, "placement.candidate.placed", placement_id=placement)],
                "inbox": [],
            }
        ),
        "financing": Records(
            {
                "loans": [{"id": loan, "placement_id": placement, "schedule_fixed_at": 1}],
                "instalments": [
                    {
                        "loan_id": loan,
                        "number": number,
                        "due_date": f"2099-0{number}-01",
                        "announced_at": 1 if number == 1 else None,
                        "superseded_at": None,
                    }
                    for number in (1, 2)
                ],
                "outbox": [],
                "inbox": [{"consumer": "financing-candidate-placed", "event_id": placed}],
            }
        ),
        "dashboard": Records(
            {
                "candidates": [
                    {
                        "candidate_id": candidate,
                        "registered_on": 1,
                        "placed_on": 1,
                        "departed_on": 1,
                    }
                ],
                "loans": [{"loan_id": loan}],
                "repayments_due": [{"loan_id": loan, "instalment_number": 1}],
                "outbox": [],
                "inbox": [],
            }
        ),
    }
    bus = Bus(
        repayments_due=[{"loan_id": loan, "instalment_number": 1}],
        consumers=[
            (
                "REGISTRATION",
                "training-candidate-registered",
                ["jembatan.*.registration.candidate.registered.v1"],
            ),
            (
                "PLACEMENT",
                "financing-candidate-placed",
                ["jembatan.*.placement.candidate.placed.v1"],
            ),
        ],
        dead_letters=[],
    )
    return records, bus


def test_a_sound_journey_violates_nothing() -> None:
    assert evaluate(*one_journey()) == []


def test_each_kind_of_fault_is_named_with_its_ids() -> None:
    records, bus = one_journey()
    loan = records["financing"].rows("loans")[0]["id"]
    placed = records["placement"].rows("outbox")[0]
    bus.repayments_due.append({"loan_id": loan, "instalment_number": 1})  # announced twice
    bus.dead_letters.append((7, "placement-candidate-ready"))
    placed["sent_at"] = None  # never sent
    records["financing"].tables["inbox"] = []  # handled, but the record of it lost
    records["training"].tables["enrolments"] = []  # the enrolment lost

    found = {(v.invariant, v.ids) for v in evaluate(records, bus)}

    candidate = records["registration"].rows("candidates")[0]["id"]
    assert found >= {
        ("repayments-announced-once", (f"{loan}:1",)),
        ("no-dead-letters", ("7",)),
        ("outbox-sent", (placed["event_id"],)),
        ("registrations-enrolled", (candidate,)),
        ("inbox-effects", (records["registration"].rows("outbox")[0]["event_id"],)),
    }
