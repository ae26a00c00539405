"""The audit trail, through the real apps: each state-changing request leaves one row naming the
caller, the token, the route and the record, in the same transaction as its change; a refusal is
recorded as refused; a read leaves nothing; only Kemnaker reads it; the database refuses to
change or delete a row. Registration's NIK read log is read through the same query."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from sqlalchemy import text

from jembatan_kit.auth import bearer
from jembatan_kit.db import create_engine
from jembatan_kit.issuers import issue_token
from jembatan_kit.testing.helpers import (
    issuer_for_tests,
    running_app,
    token_for,
    trust_file_for_tests,
)
from jembatan_registration.bootstrap import build_app
from jembatan_registration.config import RegistrationSettings

CANDIDATE = {
    "agency": "kaltim",
    "nik": "6471054506010003",
    "full_name": "Sri Lestari",
    "birth_date": "2001-06-05",
    "sex": "F",
    "education": "SMK",
    "track": "SSW",
    "preferred_sector": "caregiver",
}


@pytest.fixture
async def registration(
    database_url: str, nats_url: str, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    # A nats-server: a service refuses callers until it has read the revocation list there.
    settings = RegistrationSettings(
        database_url=database_url,
        nats_url=nats_url,
        secrets_file=tmp_path / "secrets.json",
        auth_trust_file=trust_file_for_tests(),
    )
    async with running_app(build_app(settings)) as client:  # as Kemnaker
        yield client


async def _audit(client: httpx.AsyncClient, **filters: Any) -> list[dict[str, Any]]:
    answer = await client.get("/audit", params=filters)
    assert answer.status_code == 200, answer.text
    entries: list[dict[str, Any]] = answer.json()["entries"]
    return entries


async def test_each_change_is_recorded_once_with_its_caller_route_and_record(
    registration: httpx.AsyncClient,
) -> None:
    token = issue_token(issuer_for_tests("kaltim"), "clerk-1", [])
    clerk = bearer(token)
    registered = await registration.post("/candidates", json=CANDIDATE, headers=clerk)
    assert registered.status_code == 201, registered.text
    candidate_id = registered.json()["candidate_id"]
    [entry] = await _audit(registration)
    assert entry["kind"] == "request"
    assert (entry["user"], entry["agency"], entry["method"], entry["route"]) == (
        "clerk-1",
        "kaltim",
        "POST",
        "/candidates",
    )
    jti = jwt.decode(token, options={"verify_signature": False})["jti"]
    assert entry["token_id"] == jti
    assert entry["status"] == 201
    assert entry["records"] == {}
    assert "Sri" not in str(entry) and CANDIDATE["nik"] not in str(entry)

    # Reads leave nothing.
    shown = await registration.get(f"/candidates/{candidate_id}", headers=clerk)
    assert shown.status_code == 200
    assert (await registration.get("/candidates", headers=clerk)).status_code == 200
    assert len(await _audit(registration)) == 1

    withdrawn = await registration.post(
        f"/candidates/{candidate_id}/withdrawal",
        json={"reason": "personal"},
        headers={**clerk, "X-Request-Id": "req-42"},
    )
    assert withdrawn.status_code == 200, withdrawn.text
    newest, oldest = await _audit(registration)
    assert newest["route"] == "/candidates/{candidate_id}/withdrawal"
    assert newest["records"] == {"candidate_id": candidate_id}
    assert newest["request_id"] == "req-42"
    assert newest["at"] >= oldest["at"]
    assert [e["route"] for e in await _audit(registration, record=candidate_id)] == [
        "/candidates/{candidate_id}/withdrawal"
    ]
    assert await _audit(registration, user="someone-else") == []
    assert len(await _audit(registration, agency="kaltim", limit=1)) == 1
    page = (await registration.get("/audit", params={"limit": 1})).json()
    assert page["next_offset"] == 1
    later = (await registration.get("/audit", params={"limit": 1, "offset": 1})).json()
    assert later["entries"] == [oldest] and later["next_offset"] is None
    assert await _audit(registration, since=datetime.now(UTC).isoformat()) == []


async def test_a_refused_request_is_recorded_as_refused_and_changes_nothing(
    registration: httpx.AsyncClient,
) -> None:
    clerk = token_for("kaltim", "clerk-1")
    assert (
        await registration.post("/candidates", json=CANDIDATE, headers=clerk)
    ).status_code == 201
    # The same NIK again: refused inside the unit of work, which rolls back.
    again = await registration.post("/candidates", json=CANDIDATE, headers=clerk)
    assert again.status_code == 409, again.text
    # Another agency's token on kaltim's registration: refused before any change.
    other = await registration.post(
        "/candidates", json=CANDIDATE, headers=token_for("boyolali", "clerk-9")
    )
    assert other.status_code == 403, other.text
    # No token: nobody to name, not recorded.
    assert await registration.post("/candidates", json=CANDIDATE, headers={"Authorization": ""})
    entries = await _audit(registration)
    assert [(e["user"], e["status"]) for e in entries] == [
        ("clerk-9", 403),
        ("clerk-1", 409),
        ("clerk-1", 201),
    ]
    assert len((await registration.get("/candidates")).json()) == 1


async def test_nik_reveals_are_in_the_audit_trail(registration: httpx.AsyncClient) -> None:
    registered = await registration.post("/candidates", json=CANDIDATE)
    candidate_id = registered.json()["candidate_id"]
    reader = token_for("kaltim", "auditor-3", roles=["nik-reader"])
    assert (
        await registration.get(f"/candidates/{candidate_id}", headers=reader)
    ).status_code == 200
    full = await registration.post(
        f"/candidates/{candidate_id}/nik", json={"reason": "KTP check"}, headers=reader
    )
    assert full.status_code == 200, full.text
    entries = await _audit(registration, user="auditor-3")
    assert [(e["kind"], e["route"], e["detail"]) for e in entries] == [
        ("request", "/candidates/{candidate_id}/nik", None),
        ("nik_read", None, "KTP check"),
        ("nik_read", None, "birth date and sex shown in the candidate view"),
    ]
    assert all(e["agency"] == "kaltim" for e in entries)
    assert all(e["records"] == {"candidate_id": candidate_id} for e in entries)
    assert len(await _audit(registration, record=candidate_id, agency="kaltim")) == 3
    # The read log itself answers as it always did.
    log = await registration.get(f"/candidates/{candidate_id}/nik-reads")
    assert len(log.json()) == 2


async def test_a_province_may_not_read_the_audit_trail(registration: httpx.AsyncClient) -> None:
    refused = await registration.get("/audit", headers=token_for("kaltim"))
    assert refused.status_code == 403
    assert refused.json()["error"] == "audit_national_only"


async def test_the_database_refuses_to_change_or_delete_an_audit_row(
    registration: httpx.AsyncClient, database_url: str
) -> None:
    assert (await registration.post("/candidates", json=CANDIDATE)).status_code == 201
    engine = create_engine(database_url)
    try:
        for statement in ("UPDATE audit_log SET \"user\" = 'nobody'", "DELETE FROM audit_log"):
            with pytest.raises(Exception, match="append-only"):
                async with engine.begin() as connection:
                    await connection.execute(text(statement))
        async with engine.connect() as connection:
            users = (await connection.execute(text('SELECT "user" FROM audit_log'))).all()
    finally:
        await engine.dispose()
    assert [row[0] for row in users] == ["operator"]


SERVICES = ("registration", "training", "placement", "financing", "dashboard")


@pytest.mark.parametrize("service", SERVICES)
async def test_every_service_records_requests_and_shows_them_to_kemnaker_only(
    service: str, sqlite_url: str, nats_url: str, tmp_path: Path
) -> None:
    config = importlib.import_module(f"jembatan_{service}.config")
    settings_class = getattr(config, f"{service.capitalize()}Settings")
    extra = {"secrets_file": tmp_path / "secrets.json"} if service == "registration" else {}
    settings = settings_class(
        database_url=sqlite_url,
        nats_url=nats_url,
        auth_trust_file=trust_file_for_tests(),
        **extra,
    )
    app = importlib.import_module(f"jembatan_{service}.bootstrap").build_app(settings)
    async with running_app(app) as client:
        # Every service has the clock route; on the system clock it refuses to move.
        later = datetime.now(UTC) + timedelta(minutes=1)
        moved = await client.put("/clock", json={"now": later.isoformat()})
        assert moved.status_code == 403, moved.text
        assert (await client.get("/health")).status_code == 200
        [entry] = await _audit(client)
        assert (entry["user"], entry["agency"], entry["route"], entry["status"]) == (
            "operator",
            "kemnaker",
            "/clock",
            403,
        )
        refused = await client.get("/audit", headers=token_for("kaltim"))
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"] == "audit_national_only"
