"""What registration's answers tell about a NIK: the masked form, the birth date and sex (digits
7-12 of the NIK) only to nik-readers and logged, and the refusal of a NIK registered with another
agency, logged and limited. Through the API, against real NATS and both databases."""

from __future__ import annotations

from datetime import date

import httpx

from jembatan_kit.auth import NIK_READER
from jembatan_kit.testing.helpers import token_for
from jembatan_registration.domain.duplicates import (
    DUPLICATE_REFUSALS_PER_DAY,
    REFUSED_ELSEWHERE,
)

SITI = {
    "agency": "kaltim",
    "nik": "6471054506040003",
    "full_name": "Siti Rahmawati",
    "birth_date": "2004-06-05",
    "sex": "F",
    "education": "SMK",
    "track": "TITP",
    "preferred_sector": "caregiver",
}
CSV_HEADER = "nik,full_name,birth_date,sex,education,track,preferred_sector\n"


def csv_of(*niks: str) -> bytes:
    """Women born 2004-06-05, as their NIKs say."""
    return (
        CSV_HEADER
        + "".join(f"{nik},Person {nik},2004-06-05,F,SMK,TITP,caregiver\n" for nik in niks)
    ).encode()


async def test_only_a_nik_reader_sees_the_birth_date_and_sex_and_that_read_is_logged(
    client: httpx.AsyncClient,
) -> None:
    clerk = token_for("kaltim", "clerk")
    officer = token_for("kaltim", "officer", [NIK_READER])
    declared = SITI | {"birth_date": "2004-06-15"}  # the NIK says 2004-06-05: a warning
    registered = await client.post("/candidates", json=declared, headers=clerk)
    assert registered.status_code == 201, registered.text
    assert registered.json()["nik_masked"] == "6471************"
    candidate = f"/candidates/{registered.json()['candidate_id']}"
    today = date.today()
    age = today.year - 2004 - ((today.month, today.day) < (6, 15))

    seen_by_clerk = [
        (await client.get(candidate, headers=clerk)).json(),
        *(await client.get("/candidates", headers=clerk)).json(),
    ]
    for view in seen_by_clerk:
        assert view["nik_masked"] == "6471************"
        assert (view["birth_date"], view["sex"], view["age_years"]) == (None, None, age)
        assert view["warnings"] == ["the NIK's birth date differs from the declared birth date"]
        assert "06-05" not in str(view) and "06-15" not in str(view)
    correction = await client.patch(candidate, json={"education": "SMA"}, headers=clerk)
    assert correction.status_code == 200, correction.text
    assert "06-05" not in str(correction.json())
    assert (await client.get(f"{candidate}/nik-reads")).json() == [], "the clerk read nothing"

    seen_by_officer = [
        (await client.get(candidate, headers=officer)).json(),
        *(await client.get("/candidates", headers=officer)).json(),
    ]
    for view in seen_by_officer:
        assert view["nik_masked"] == "6471************"
        assert (view["birth_date"], view["sex"], view["age_years"]) == ("2004-06-15", "F", age)
        assert view["warnings"] == ["NIK encodes birth date 2004-06-05, declared 2004-06-15"]
    log = (await client.get(f"{candidate}/nik-reads", headers=clerk)).json()
    assert [(entry["reader"], entry["reason"]) for entry in log] == [
        ("officer (kaltim)", "birth date and sex shown in the candidate view"),
        ("officer (kaltim)", "birth date and sex shown in the candidate list"),
    ]

    upload = await client.post(
        "/candidates/bulk?agency=kaltim",
        content=csv_of("6471054506040004", "12345"),
        headers=clerk | {"content-type": "text/csv"},
    )
    assert [row["nik_masked"] for row in upload.json()["rows"]] == ["6471************", None]


async def test_a_nik_registered_elsewhere_is_refused_saying_only_that_logged_and_limited(
    client: httpx.AsyncClient,
) -> None:
    taken = [f"647105450604{serial:04d}" for serial in range(1, DUPLICATE_REFUSALS_PER_DAY + 3)]
    registered = await client.post(
        "/candidates/bulk?agency=kaltim",
        content=csv_of(*taken),
        headers={"content-type": "text/csv"},
    )
    assert registered.json()["accepted"] == len(taken), registered.text
    kaltim_ids = [row["candidate_id"] for row in registered.json()["rows"]]
    prober = token_for("kota-serang", "prober")
    serang = {"agency": "kota-serang", "region_code": "3673"}

    refused = await client.post(
        "/candidates", json=SITI | serang | {"nik": taken[0]}, headers=prober
    )
    assert refused.status_code == 409
    assert refused.json()["error"] == "one_active_registration"
    assert "another agency" in refused.json()["message"]
    assert "kaltim" not in refused.text and kaltim_ids[0] not in refused.text
    log = (await client.get(f"/candidates/{kaltim_ids[0]}/nik-reads")).json()
    assert [(entry["reader"], entry["reason"]) for entry in log] == [
        ("prober (kota-serang)", REFUSED_ELSEWHERE)
    ]

    own = await client.post(
        "/candidates", json=SITI | serang | {"nik": "3673054506040001"}, headers=prober
    )
    assert own.status_code == 201, own.text
    moved = await client.patch(
        f"/candidates/{own.json()['candidate_id']}", json={"nik": taken[1]}, headers=prober
    )
    assert moved.status_code == 409 and "kaltim" not in moved.text
    assert len((await client.get(f"/candidates/{kaltim_ids[1]}/nik-reads")).json()) == 1

    # A file of guessed NIKs: once the day's refusals are spent, every row is refused alike,
    # the free NIK as the registered ones, so the answers no longer tell them apart.
    left = DUPLICATE_REFUSALS_PER_DAY - 2
    probe = await client.post(
        "/candidates/bulk?agency=kota-serang",
        content=csv_of(*taken[2:], "3673054506040002"),
        headers=prober | {"content-type": "text/csv"},
    )
    assert probe.status_code == 200, probe.text
    rules = [row["errors"][0]["rule"] for row in probe.json()["rows"]]
    assert rules == ["one_active_registration"] * left + ["registration_paused"] * 3
    assert probe.json()["accepted"] == 0
    for paused_nik in (taken[0], "3673054506040003"):
        again = await client.post(
            "/candidates", json=SITI | serang | {"nik": paused_nik}, headers=prober
        )
        assert again.status_code == 429
        assert again.json()["error"] == "registration_paused"
    for kaltim_id in kaltim_ids[2 : 2 + left]:
        log = (await client.get(f"/candidates/{kaltim_id}/nik-reads")).json()
        assert [entry["reader"] for entry in log] == ["prober (kota-serang)"]
    for kaltim_id in kaltim_ids[2 + left :]:
        assert (await client.get(f"/candidates/{kaltim_id}/nik-reads")).json() == []

    colleague = token_for("kota-serang", "clerk")
    free = await client.post(
        "/candidates", json=SITI | serang | {"nik": "3673054506040003"}, headers=colleague
    )
    assert free.status_code == 201, "the pause is the prober's, not the agency's"
