"""The registration desk and the registration part of the journey page against registration's
real HTTP API (in process, on SQLite and a real nats-server; the other services not running):
the checks as the operator types, which ask registration's own check and keep nothing; a
correction, refused or made; the national check's standing in words. Findings and refusals are
said in Bahasa Indonesia, with the service's words beneath."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from jembatan_console.app import build_app as build_console
from jembatan_console.config import ConsoleSettings
from jembatan_console.operators import add_operator
from jembatan_kit.sealed_nik import IndexKeys
from jembatan_kit.testing.helpers import issuer_for_tests, running_app, trust_file_for_tests
from jembatan_registration.bootstrap import build_app as build_registration
from jembatan_registration.config import RegistrationSettings

PASSWORD = "kata-sandi-petugas"
HTMX = {"hx-request": "true"}
SITI = {
    "nik": "6471054506040003",
    "full_name": "Siti Rahmawati",
    "birth_date": "2004-06-05",
    "sex": "F",
    "education": "SMK",
    "track": "TITP",
    "preferred_sector": "caregiver",
}


class OnlyRegistration(httpx.AsyncBaseTransport):
    """The services as the console reaches them here: registration, in process, while `up`;
    the others cannot be reached."""

    def __init__(self, registration: httpx.AsyncBaseTransport) -> None:
        self.registration = registration
        self.up = True

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == "registration" and self.up:
            return await self.registration.handle_async_request(request)
        raise httpx.ConnectError("not running here", request=request)


@dataclass
class Desk:
    console: httpx.AsyncClient
    registration: httpx.AsyncClient
    services: OnlyRegistration


@pytest.fixture
async def desk(nats_url: str, tmp_path: Path) -> AsyncIterator[Desk]:
    # The index's key is known but the index is not running: registrations are provisional.
    IndexKeys.generate().write_public_key(tmp_path / "index.pub")
    registration_app = build_registration(
        RegistrationSettings(
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'registration.db'}",
            nats_url=nats_url,
            secrets_file=tmp_path / "secrets.json",
            auth_trust_file=trust_file_for_tests(),
            identity_public_key_file=tmp_path / "index.pub",
            identity_timeout_s=0.5,
        )
    )
    issuer_for_tests("kaltim").save(tmp_path / "kaltim.json")
    add_operator(tmp_path / "operators.json", "rina", PASSWORD, ["registrar"], "Rina Wati")
    console_app = build_console(
        ConsoleSettings(
            console_agency="kaltim",
            console_issuer_file=tmp_path / "kaltim.json",
            console_operators_file=tmp_path / "operators.json",
            console_secret_file=tmp_path / "secret",
            console_trace_url="http://traces.test/search?journey={journey_id}&start={start_us}",
            service_urls={
                name: f"http://{name}"
                for name in ("registration", "training", "placement", "financing")
            },
        )
    )
    services = OnlyRegistration(httpx.ASGITransport(app=registration_app))
    async with (
        running_app(registration_app) as registration,
        console_app.router.lifespan_context(console_app),
        httpx.AsyncClient(transport=services) as to_services,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=console_app), base_url="http://console.test"
        ) as console,
    ):
        console_app.state.http = to_services
        signed = await console.post("/login", data={"login": "rina", "password": PASSWORD})
        assert signed.status_code == 303
        yield Desk(console, registration, services)


async def test_a_nik_that_cannot_be_is_refused_while_typing_in_the_rules_words(
    desk: Desk,
) -> None:
    typed = SITI | {"nik": "6471053506041000"}  # day 35: no one's birth date

    fragment = await desk.console.post("/registration/check", data=typed, headers=HTMX)

    assert fragment.status_code == 200
    text = fragment.text
    assert 'data-testid="nik-refusal"' in text
    assert "Angka ke-7 sampai ke-12 NIK bukan tanggal lahir yang nyata" in text
    assert "<code>nik_birth_date</code>" in text  # the rule, and the service's words
    assert "are not a real date of birth" in text
    sent = await desk.console.post("/registration", data=typed)
    assert sent.status_code == 422 and "nik_birth_date" in sent.text, "the same refusal"
    assert (await desk.registration.get("/candidates")).json() == []


async def test_a_nik_that_disagrees_with_the_declaration_is_a_warning_and_nothing_is_kept(
    desk: Desk,
) -> None:
    typed = SITI | {"birth_date": "2004-06-07", "sex": "M", "region_code": "3201"}

    fragment = await desk.console.post("/registration/check", data=typed, headers=HTMX)

    text = fragment.text
    assert 'data-testid="nik-refusal"' not in text
    assert 'NIK terbaca: <span lang="en">issued in Kalimantan Timur, regency 6471</span>' in text
    assert "NIK tidak cocok dengan yang diisi" in text
    assert "NIK encodes birth date 2004-06-05, declared 2004-06-07" in text
    assert "NIK encodes sex female, declared male" in text
    assert (await desk.registration.get("/candidates")).json() == []
    english = await desk.console.post("/registration/check?lang=en", data=typed, headers=HTMX)
    assert "The NIK disagrees with what was filled in" in english.text


async def test_the_check_waits_for_the_birth_date_and_leaves_empty_fields_to_the_operator(
    desk: Desk,
) -> None:
    no_birth_date = await desk.console.post(
        "/registration/check", data=SITI | {"birth_date": ""}, headers=HTMX
    )
    assert "Isi tanggal lahir" in no_birth_date.text
    not_yet_named = await desk.console.post(
        "/registration/check", data=SITI | {"full_name": "", "preferred_sector": ""}, headers=HTMX
    )
    text = not_yet_named.text
    assert 'data-testid="nik-refusal"' not in text, "empty fields are not yet refused"
    assert "NIK terbaca" in text and "Aturan lain diperiksa" in text
    nothing = await desk.console.post("/registration/check", data={"nik": ""}, headers=HTMX)
    assert nothing.status_code == 200 and nothing.text.strip() == ""


async def test_while_registration_cannot_be_reached_the_check_says_so_and_waits(
    desk: Desk,
) -> None:
    desk.services.up = False

    fragment = await desk.console.post("/registration/check", data=SITI, headers=HTMX)

    assert fragment.status_code == 200, "a check that cannot be made is no error page"
    assert "Layanan registration tidak dapat memeriksa sekarang" in fragment.text
    assert 'data-testid="nik-refusal"' not in fragment.text


async def test_the_agencys_own_registration_of_the_nik_is_refused_while_typing(
    desk: Desk,
) -> None:
    assert (await desk.console.post("/registration", data=SITI)).status_code == 200

    fragment = await desk.console.post("/registration/check", data=SITI, headers=HTMX)

    assert "NIK ini sudah punya pendaftaran aktif" in fragment.text
    assert "<code>one_active_registration</code>" in fragment.text


async def registered(desk: Desk) -> str:
    answer = await desk.console.post("/registration", data=SITI)
    assert answer.status_code == 200
    [candidate] = (await desk.registration.get("/candidates")).json()
    return str(candidate["candidate_id"])


async def test_the_journey_says_the_national_check_and_what_the_officer_can_do(
    desk: Desk,
) -> None:
    candidate_id = await registered(desk)

    page = await desk.console.get(f"/candidates/{candidate_id}")

    assert page.status_code == 200
    text = page.text
    assert 'data-testid="national-check">sementara<' in text
    assert "indeks identitas nasional di Kemnaker tidak dapat ditanya" in text
    assert "Yang dapat Anda lakukan:" in text
    # Waiting for the index: the part asks again, and so does the list of events.
    registration_part = text[text.index('id="part-registration"') :].split(">", 1)[0]
    assert 'hx-trigger="every 2s"' in registration_part
    events = text[text.index('id="journey-events"') :].split(">", 1)[0]
    assert f'hx-get="/candidates/{candidate_id}/events"' in events
    assert 'hx-trigger="every 2s"' in events
    listed = await desk.console.get(f"/candidates/{candidate_id}/events", headers=HTMX)
    assert "CandidateRegistered" in listed.text and 'hx-trigger="every 2s"' in listed.text
    journey_id = (await desk.registration.get(f"/candidates/{candidate_id}")).json()["journey_id"]
    assert f'href="http://traces.test/search?journey={journey_id}&amp;start=' in listed.text


async def test_a_correction_is_refused_in_words_or_made_and_the_page_follows(
    desk: Desk,
) -> None:
    candidate_id = await registered(desk)
    url = f"/candidates/{candidate_id}/correction"

    too_young = await desk.console.post(
        url, data={"correct_birth_date": "2015-06-05"}, headers=HTMX
    )
    assert too_young.status_code == 200  # htmx swaps only 2xx answers: the refusal is the part
    assert "Koreksi tidak memenuhi aturan" in too_young.text
    assert "<code>correction_refused</code>" in too_young.text
    assert "Calon belum mencapai usia minimum program." in too_young.text
    assert "<details open>" in too_young.text, "the correction stays open to fix"
    nothing = await desk.console.post(url, data={"correct_full_name": ""}, headers=HTMX)
    assert "Koreksi ini tidak mengubah apa pun." in nothing.text

    made = await desk.console.post(
        url, data={"correct_full_name": "Siti Rahmawati Putri"}, headers=HTMX
    )
    assert 'data-testid="corrected"' in made.text
    assert "Koreksi tercatat" in made.text
    assert 'id="journey-events"' in made.text and 'hx-swap-oob="true"' in made.text
    view = (await desk.registration.get(f"/candidates/{candidate_id}")).json()
    assert view["full_name"] == "Siti Rahmawati Putri"
