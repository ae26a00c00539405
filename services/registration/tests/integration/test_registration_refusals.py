"""What a careless or dishonest caller cannot get through registration's API: a selection date
picked at will, fields the API does not know, a service started with one NIK key of two."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet
from pydantic import ValidationError

from jembatan_kit.auth import NIK_READER
from jembatan_kit.testing.helpers import token_for
from jembatan_registration.bootstrap import build_app
from jembatan_registration.config import RegistrationSettings


async def service_today(client: httpx.AsyncClient) -> date:
    return datetime.fromisoformat((await client.get("/health")).json()["now"]).date()


def years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def applicant(born: date, track: str, serial: int = 3, **overrides: Any) -> dict[str, Any]:
    """A man of Samarinda born on `born`, as his NIK says."""
    return {
        "agency": "kaltim",
        "nik": f"647105{born:%d%m%y}{serial:04d}",
        "full_name": f"Peserta {serial}",
        "birth_date": born.isoformat(),
        "sex": "M",
        "education": "SMK",
        "track": track,
        "preferred_sector": "agriculture",
    } | overrides


def auditors_cases(today: date) -> list[dict[str, Any]]:
    """A 30-year-old for TITP "selected in 2019" (then 23 or so), and a 16-year-old for SSW
    "selected in 2030" (then 19 or so): each eligible on the date named, neither today."""
    return [
        applicant(years_before(today, 30), "TITP", 1, selection_date="2019-06-01"),
        applicant(years_before(today, 16), "SSW", 2, selection_date="2030-06-01"),
    ]


async def test_a_selection_date_picked_at_will_is_refused_naming_the_window(
    client: httpx.AsyncClient,
) -> None:
    today = await service_today(client)
    earliest = today - timedelta(days=90)
    for body in auditors_cases(today):
        response = await client.post("/candidates", json=body)
        assert response.status_code == 422, response.text
        refusal = response.json()
        assert refusal["error"] == "registration_refused"
        [failed] = [check for check in refusal["details"]["checks"] if not check["passed"]]
        assert failed["rule"] == "selection_date_window"
        assert f"from {earliest.isoformat()} to today ({today.isoformat()})" in refusal["message"]
        assert "never in the future, at most 90 days back" in refusal["message"]
    assert (await client.get("/candidates")).json() == []


async def test_a_selection_date_in_the_window_is_judged_on_and_kept(
    client: httpx.AsyncClient,
) -> None:
    today = await service_today(client)
    selected = today - timedelta(days=90)
    # 27 today, 26 on the selection day.
    body = applicant(years_before(selected, 27) + timedelta(days=1), "TITP", 4)
    refused_today = await client.post("/candidates", json=body)
    assert refused_today.status_code == 422
    assert "maximum_age" in refused_today.text

    response = await client.post("/candidates", json=body | {"selection_date": str(selected)})
    assert response.status_code == 201, response.text
    view = (await client.get(f"/candidates/{response.json()['candidate_id']}")).json()
    assert view["selection_date"] == selected.isoformat()

    a_day_earlier = body | {"nik": body["nik"][:-4] + "0005"}
    too_early = await client.post(
        "/candidates", json=a_day_earlier | {"selection_date": str(selected - timedelta(days=1))}
    )
    assert too_early.status_code == 422
    assert "selection_date_window" in too_early.text


async def test_a_csv_row_with_a_selection_date_picked_at_will_is_refused(
    client: httpx.AsyncClient,
) -> None:
    today = await service_today(client)
    rows = auditors_cases(today)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=[k for k in rows[0] if k != "agency"])
    writer.writeheader()
    writer.writerows([{k: v for k, v in row.items() if k != "agency"} for row in rows])

    response = await client.post(
        "/candidates/bulk",
        params={"agency": "kaltim"},
        content=buffer.getvalue().encode(),
        headers={"content-type": "text/csv"},
    )

    assert response.status_code == 200, response.text
    summary = response.json()
    assert (summary["accepted"], summary["refused"]) == (0, 2)
    for row in summary["rows"]:
        [error] = row["errors"]
        assert error["rule"] == "selection_date_window"
        assert "at most 90 days back" in error["message"]


SITI = applicant(date(2004, 6, 5), "TITP", 3) | {
    "nik": "6471054506040003",
    "full_name": "Siti Rahmawati",
    "sex": "F",
}


async def test_a_field_the_api_does_not_know_is_refused_on_every_command(
    client: httpx.AsyncClient,
) -> None:
    unknown = {"salary_deduction": True}
    refused = await client.post("/candidates", json=SITI | unknown)
    assert_unknown_field(refused, "salary_deduction")
    assert (await client.get("/candidates")).json() == []

    candidate_id = (await client.post("/candidates", json=SITI)).json()["candidate_id"]
    url = f"/candidates/{candidate_id}"
    assert_unknown_field(
        await client.patch(url, json={"phone": "+62812000999", "track": "SSW"}), "track"
    )
    assert_unknown_field(
        await client.post(f"{url}/nik", json={"reason": "visa", "copy_to": "x"}, headers=reader()),
        "copy_to",
    )
    assert_unknown_field(
        await client.post(f"{url}/withdrawal", json={"reason": "other", "refund": 1}), "refund"
    )
    view = (await client.get(url)).json()
    assert view["status"] == "active" and view["track"] == "TITP"


def reader() -> dict[str, str]:
    return token_for("kaltim", "officer", [NIK_READER])


def assert_unknown_field(response: httpx.Response, field: str) -> None:
    assert response.status_code == 422, response.text
    refusal = response.json()
    assert refusal["error"] == "unknown_field"
    assert refusal["details"]["unknown_fields"] == [field]
    assert refusal["message"].startswith(f"{field}: is not a field of this request")


def test_one_nik_key_without_the_other_refuses_to_start(tmp_path: Path) -> None:
    hash_key = "a" * 64
    encryption_key = Fernet.generate_key().decode()
    for given, missing in (
        ({"NIK_HASH_KEY": hash_key}, "NIK_ENCRYPTION_KEY"),
        ({"NIK_ENCRYPTION_KEY": encryption_key}, "NIK_HASH_KEY"),
        ({"NIK_ENCRYPTION_KEY": encryption_key, "NIK_HASH_KEY": ""}, "NIK_HASH_KEY"),
    ):
        with pytest.raises(ValidationError, match=f"but {missing} is not"):
            RegistrationSettings(
                **{name.lower(): value for name, value in given.items()},
                secrets_file=tmp_path / "secrets.json",
            )
    assert not (tmp_path / "secrets.json").exists(), "no key was generated in their place"


def test_the_service_process_stops_at_start_naming_the_missing_key(tmp_path: Path) -> None:
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("NIK_")
    } | {
        "NIK_HASH_KEY": "a" * 64,
        "SECRETS_FILE": str(tmp_path / "secrets.json"),
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'registration.db'}",
    }
    started = subprocess.run(
        [sys.executable, "-c", "from jembatan_registration.entrypoints.main import run; run()"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert started.returncode != 0
    assert "NIK_HASH_KEY is set but NIK_ENCRYPTION_KEY is not" in started.stderr
    assert not (tmp_path / "secrets.json").exists()


def test_an_encryption_key_that_is_no_fernet_key_refuses_to_start(tmp_path: Path) -> None:
    settings = RegistrationSettings(
        nik_encryption_key="not-a-key",
        nik_hash_key="a" * 64,
        secrets_file=tmp_path / "secrets.json",
    )
    with pytest.raises(ValueError, match="NIK_ENCRYPTION_KEY is not a Fernet key"):
        build_app(settings)
