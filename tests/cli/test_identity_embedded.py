"""The embedded default runs the national identity index too: `jembatan up` makes its keys once
(the private ones for the index alone, 0600), and the one registration service asks it, over the
one server, as every province's does across its leaf link."""

from __future__ import annotations

import asyncio
import hashlib
import stat
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import nats

from jembatan_cli.system import (
    IDENTITY_DIR,
    INDEX_KEYS_FILE,
    INDEX_PUBLIC_KEY_FILE,
    LocalSystem,
    local_issuers,
    nats_passwords,
    with_credentials,
)
from jembatan_contracts.identity import (
    Claim,
    ClaimsReply,
    ClaimsRequest,
    Standing,
    identity_subject,
)
from jembatan_kit.auth import NATIONAL_AGENCY, bearer
from jembatan_kit.issuers import issue_token
from jembatan_kit.sealed_nik import read_public_key, seal_nik

NIK = "6471051506040077"
PERSON = {
    "agency": "kaltim",
    "nik": NIK,
    "full_name": "Budi Santoso",
    "birth_date": "2004-06-15",
    "sex": "M",
    "education": "SMK",
    "track": "TITP",
    "preferred_sector": "automotive",
}


def index_counts(system: LocalSystem, headers: dict[str, str]) -> dict[str, int]:
    response = httpx.get(f"{system.services['identity'].url}/index", headers=headers)
    assert response.status_code == 200, response.text
    counts: dict[str, int] = response.json()["active"]
    return counts


def wait_for(check: Callable[[], bool], timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "not within the time"
        time.sleep(0.2)


def test_up_runs_the_index_and_registration_asks_it(tmp_path: Path) -> None:
    data = tmp_path / "var"
    with LocalSystem.on_free_ports(data, names=("identity", "registration")) as system:
        keys = data / IDENTITY_DIR / INDEX_KEYS_FILE
        assert stat.S_IMODE(keys.stat().st_mode) == 0o600
        assert (data / IDENTITY_DIR / INDEX_PUBLIC_KEY_FILE).read_text().strip()
        issuers = local_issuers(data)
        kaltim = bearer(issue_token(issuers["kaltim"], "officer-1", []))
        kemnaker = bearer(issue_token(issuers["kemnaker"], "analyst-1", []))
        registration = system.services["registration"].url

        registered = httpx.post(f"{registration}/candidates", json=PERSON, headers=kaltim)
        assert registered.status_code == 201, registered.text
        assert registered.json()["national_check"] == "cleared"
        assert index_counts(system, kemnaker) == {"cleared": 1}
        refused = httpx.get(f"{system.services['identity'].url}/index", headers=kaltim)
        assert refused.status_code == 403, "the index's figures are Kemnaker's"

        candidate = registered.json()["candidate_id"]
        withdrawn = httpx.post(
            f"{registration}/candidates/{candidate}/withdrawal",
            json={"reason": "personal"},
            headers=kaltim,
        )
        assert withdrawn.status_code == 200, withdrawn.text
        wait_for(lambda: index_counts(system, kemnaker) == {})

    stored = b"".join(path.read_bytes() for path in data.glob("identity.db*"))
    for form in (NIK, hashlib.sha256(NIK.encode()).hexdigest()):
        assert form.encode() not in stored


async def claimed_without_registering(
    data: Path, nats_url: str, nik: str, ago: timedelta
) -> Standing:
    """What a registration service that stopped between the index's answer and its own commit
    leaves behind: a claim at the index (sent here with the service's own NATS user) for a
    candidate it never stored."""
    user = "registration"
    client = await nats.connect(with_credentials(nats_url, user, nats_passwords(data)[user]))
    try:
        public_key = read_public_key(data / IDENTITY_DIR / INDEX_PUBLIC_KEY_FILE)
        request = ClaimsRequest(
            mode="check",
            claims=[
                Claim(
                    candidate_id=uuid.uuid4(),
                    agency="kaltim",
                    sealed_nik=seal_nik(nik, public_key),
                    registered_at=datetime.now(UTC) - ago,
                )
            ],
        )
        answer = await client.request(
            identity_subject(NATIONAL_AGENCY, "claims"), request.model_dump_json().encode(), 5
        )
    finally:
        await client.close()
    reply = ClaimsReply.model_validate_json(answer.data)
    assert reply.error is None, reply.error
    return reply.answers[0].standing


def test_a_claim_left_by_a_stopped_registration_gives_way_to_its_agency(tmp_path: Path) -> None:
    """Killed after the index recorded its claim and before it committed, registration leaves the
    person claimed for a candidate it never stored. The person sent again is registered: the
    claim left behind gives way to its own agency, and to no other."""
    data = tmp_path / "var"
    with LocalSystem.on_free_ports(data, names=("identity", "registration")) as system:
        issuers = local_issuers(data)
        kaltim = bearer(issue_token(issuers["kaltim"], "officer-1", []))
        boyolali = bearer(issue_token(issuers["boyolali"], "officer-2", []))
        registration = system.services["registration"].url
        left = claimed_without_registering(data, system.nats_url, NIK, timedelta(seconds=1))
        assert asyncio.run(left) == Standing.CLEARED
        elsewhere = {**PERSON, "agency": "boyolali"}
        refused = httpx.post(f"{registration}/candidates", json=elsewhere, headers=boyolali)
        assert refused.status_code == 409, refused.text
        assert "one_active_registration" in refused.text
        registered = httpx.post(f"{registration}/candidates", json=PERSON, headers=kaltim)
        assert registered.status_code == 201, registered.text
        assert registered.json()["national_check"] == "cleared"
        kemnaker = bearer(issue_token(issuers["kemnaker"], "analyst-1", []))
        assert index_counts(system, kemnaker) == {"cleared": 1}
