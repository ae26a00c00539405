"""The `jembatan` commands an operator uses, through typer's runner against the running system."""

from __future__ import annotations

import asyncio
import json
import re
import time
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest
from typer.testing import CliRunner

from jembatan_cli.main import app
from jembatan_cli.scenarios.programmes import SCENARIOS
from jembatan_cli.system import LocalSystem, local_issuers
from jembatan_contracts import ALL_STREAMS
from jembatan_kit.issuers import LocalIssuer, issue_token
from jembatan_kit.nats_server import free_port

pytestmark = pytest.mark.e2e

runner = CliRunner()


@pytest.fixture(scope="module")
def run_output(scenario_system: LocalSystem, base_port: int) -> dict[str, Any]:
    """One scenario run through the command, its JSON summary kept for the tests below."""
    result = runner.invoke(
        app,
        [
            "scenario",
            "run",
            "kemnaker-joe",
            "--seed",
            "41",
            "--size",
            "6",
            "--json",
            "--base-port",
            str(base_port),
            "--data-dir",
            str(scenario_system.data_dir),
        ],
    )
    assert result.exit_code == 0, result.output
    summary: dict[str, Any] = json.loads(result.stdout)
    return summary


def national_get(
    urls: dict[str, str], issuers: dict[str, LocalIssuer], service: str, path: str
) -> Any:
    # A NIK reader, so the candidate's view holds the birth date the journey must not show.
    token = issue_token(issuers["kemnaker"], "checker", ["nik-reader"])
    response = httpx.get(
        f"{urls[service]}{path}", headers={"authorization": f"Bearer {token}"}, timeout=10
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_scenario_list_names_every_programme() -> None:
    result = runner.invoke(app, ["scenario", "list"])
    assert result.exit_code == 0
    for name, scenario in SCENARIOS.items():
        assert name in result.stdout
        assert scenario.title in result.stdout


def test_scenario_run_prints_a_summary_the_services_confirm(
    run_output: dict[str, Any], urls: dict[str, str], issuers: dict[str, LocalIssuer]
) -> None:
    assert run_output["scenario"] == "kemnaker-joe"
    assert run_output["applicants"] == 6
    for candidate_id in run_output["candidate_ids"]:
        candidate = national_get(urls, issuers, "registration", f"/candidates/{candidate_id}")
        assert candidate["agency"] == "kemnaker"
    assert len(run_output["candidate_ids"]) == run_output["registered"]
    loans = [
        national_get(urls, issuers, "financing", f"/loans/{loan_id}")
        for loan_id in run_output["loan_ids"]
    ]
    assert len(loans) == run_output["loans_opened"]
    # JOE Cooperative and Kemnaker subsidise the training of every participant.
    subsidies = SCENARIOS["kemnaker-joe"].subsidies
    for loan in loans:
        assert {s["provider"] for s in loan["subsidies"]} == {plan.provider for plan in subsidies}
        assert loan["owed_idr"] == loan["principal_idr"] - sum(p.amount_idr for p in subsidies)


def test_a_scenario_run_twice_with_one_seed_says_to_change_the_seed(
    run_output: dict[str, Any], scenario_system: LocalSystem, base_port: int
) -> None:
    result = runner.invoke(
        app,
        [
            "scenario",
            "run",
            "kemnaker-joe",
            "--seed",
            "41",
            "--size",
            "6",
            "--base-port",
            str(base_port),
            "--data-dir",
            str(scenario_system.data_dir),
        ],
    )
    assert result.exit_code == 1
    assert "has already run" in result.output
    assert "--seed 42" in result.output


def test_scenario_run_against_no_system_says_how_to_start_it(scenario_system: LocalSystem) -> None:
    result = runner.invoke(
        app,
        [
            "scenario",
            "run",
            "boyolali",
            "--base-port",
            str(free_port()),
            "--data-dir",
            str(scenario_system.data_dir),
        ],
    )
    assert result.exit_code == 1
    assert "start it with ./dev run" in result.output


def test_an_unknown_scenario_lists_the_known_ones() -> None:
    result = runner.invoke(app, ["scenario", "run", "atlantis"])
    assert result.exit_code == 2
    assert "kota-serang" in result.output


def test_journey_shows_the_stages_without_personal_data(
    run_output: dict[str, Any],
    scenario_system: LocalSystem,
    base_port: int,
    urls: dict[str, str],
    issuers: dict[str, LocalIssuer],
) -> None:
    loan = national_get(urls, issuers, "financing", f"/loans/{run_output['loan_ids'][0]}")
    candidate = national_get(urls, issuers, "registration", f"/candidates/{loan['candidate_id']}")
    result = runner.invoke(
        app,
        [
            "journey",
            candidate["journey_id"],
            "--base-port",
            str(base_port),
            "--data-dir",
            str(scenario_system.data_dir),
        ],
    )
    assert result.exit_code == 0, result.output
    output = result.stdout
    assert candidate["nik_masked"] in output
    for stage in ("registered by kemnaker", "enrolled", "ready for placement", "departed"):
        assert stage in output
    assert f"loan {loan['loan_id']} opened" in output
    assert "first of" in output and "announced as due" in output
    for personal in (*candidate["full_name"].split(), candidate["birth_date"]):
        assert personal not in output
    assert not re.search(r"(?<!\d)\d{16}(?!\d)", output)


def test_journey_of_an_unknown_id_says_what_to_check(
    scenario_system: LocalSystem, base_port: int
) -> None:
    result = runner.invoke(
        app,
        [
            "journey",
            "00000000-0000-0000-0000-000000000000",
            "--base-port",
            str(base_port),
            "--data-dir",
            str(scenario_system.data_dir),
        ],
    )
    assert result.exit_code == 1
    assert "check the id" in result.output


def test_health_reports_services_streams_consumers_and_dead_letters(
    run_output: dict[str, Any], scenario_system: LocalSystem, base_port: int
) -> None:
    result = runner.invoke(
        app, ["health", "--base-port", str(base_port), "--nats-url", scenario_system.nats_url]
    )
    assert result.exit_code == 0, result.output
    for name in scenario_system.services:
        assert re.search(rf"^{name}\s+ok\s+nats=connected", result.stdout, re.M)
    for stream in ALL_STREAMS:
        assert f"stream {stream.name}" in result.stdout
    for durable in ("training-candidate-registered", "financing-departed"):
        assert re.search(rf"consumer {durable}\s+pending\s+\d+", result.stdout)
    assert "dead letters: none" in result.stdout


def test_health_without_nats_says_how_to_start_it(base_port: int) -> None:
    result = runner.invoke(
        app,
        ["health", "--base-port", str(base_port), "--nats-url", f"nats://127.0.0.1:{free_port()}"],
    )
    assert result.exit_code == 1
    assert "start the system with ./dev run" in result.output


def test_health_counts_dead_letters_per_consumer_and_fails(
    scenario_system: LocalSystem, base_port: int
) -> None:
    """A message no consumer can read (its schema is invalid) is dead-lettered at once."""

    async def publish_unreadable() -> None:
        client = await nats.connect(scenario_system.nats_url)
        try:
            await client.jetstream().publish(
                "jembatan.kaltim.registration.candidate.registered.v1", b'{"not": "an event"}'
            )
        finally:
            await client.close()

    asyncio.run(publish_unreadable())
    command = ["health", "--base-port", str(base_port), "--nats-url", scenario_system.nats_url]
    dead_lettered_by_training = re.compile(r"^  training-candidate-registered\s+1$", re.M)
    result = runner.invoke(app, command)
    deadline = time.monotonic() + 30
    while not dead_lettered_by_training.search(result.stdout) and time.monotonic() < deadline:
        time.sleep(0.3)
        result = runner.invoke(app, command)
    assert dead_lettered_by_training.search(result.stdout), result.stdout
    assert result.exit_code == 1, result.output
    assert "dead-lettered" in result.stdout


def test_a_scenario_with_another_systems_keys_says_what_to_give(
    scenario_system: LocalSystem, base_port: int, tmp_path: Path
) -> None:
    another_system = tmp_path / "another-system"
    local_issuers(another_system, scenario_system.agencies(), create=True)
    result = runner.invoke(
        app,
        [
            "scenario",
            "run",
            "kaltim",
            "--seed",
            "77",
            "--base-port",
            str(base_port),
            "--data-dir",
            str(another_system),
        ],
    )
    assert result.exit_code == 1
    assert "(401)" in result.output
    assert "not a key of its issuer 'urn:jembatan:agency:kaltim'" in result.output
    assert "give --data-dir of the running `jembatan up`" in result.output


def test_a_scenario_without_keys_says_where_it_looked(base_port: int, tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        ["scenario", "run", "kaltim", "--base-port", str(base_port), "--data-dir", str(tmp_path)],
    )
    assert result.exit_code == 1
    assert f"No signing keys: {tmp_path / 'issuers'} holds none" in result.output
    assert not (tmp_path / "issuers").exists()


def test_another_province_cannot_follow_the_journey(
    run_output: dict[str, Any], scenario_system: LocalSystem, base_port: int
) -> None:
    result = runner.invoke(
        app,
        [
            "journey",
            run_output["journey_ids"][0],
            "--agency",
            "kaltim",
            "--base-port",
            str(base_port),
            "--data-dir",
            str(scenario_system.data_dir),
        ],
    )
    assert result.exit_code == 1
    assert "is visible to this token" in result.output
    assert "--agency" in result.output
    assert run_output["candidate_ids"][0] not in result.output
