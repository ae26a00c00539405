"""A trainer's day in the console, in a real browser, in Indonesian, on the embedded default
(registration, the identity index, training and Kalimantan Timur's console as processes):
a cohort of 16 with its free seats, two members, a day's scores for the class by keyboard in
one save, a test centre's results file with one bad row answered row by row, the refused row
given back as a file, fixed and sent again, each member's readiness and what is missing, and
training's penjurusan suggestions with their reasons, one applied. axe-core checks every page
it opens; screenshots are kept in test-artifacts/console/. The tests run in order: each takes
up the class where the one before left it."""

from __future__ import annotations

import base64
import csv
import io
import re
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from jembatan_cli.system import LocalSystem, console_operators_file, local_issuer
from jembatan_console.operators import add_operator
from jembatan_kit.issuers import issue_token
from jembatan_kit.testing.browser import CHROMIUM_ARGS

from .browsing import LAPTOP, accessible, today

pytestmark = pytest.mark.e2e

AGENCY = "kaltim"
PASSWORD = "kata-sandi-pelatih"
WAIT_MS = 60_000
TAKEN_ON = (today() - timedelta(days=10)).isoformat()
CLASS = {
    "Siti Aminah": {
        "nik": "6471054506010003",
        "birth_date": "2001-06-05",
        "sex": "F",
        "track": "SSW",
        "preferred_sector": "caregiver",
    },
    "Budi Santoso": {
        "nik": "6471051506040001",
        "birth_date": "2004-06-15",
        "sex": "M",
        "track": "TITP",
        "preferred_sector": "automotive",
    },
}


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalSystem]:
    local = LocalSystem.on_free_ports(
        tmp_path_factory.mktemp("console-training"),
        names=("identity", "registration", "training", "console"),
        console_agency=AGENCY,
    )
    add_operator(
        console_operators_file(local.data_dir, AGENCY),
        "pelatih",
        PASSWORD,
        ["trainer"],
        "Dewi Lestari",
    )
    with local:
        yield local


def as_registrar(system: LocalSystem, service: str, method: str, path: str, **kwargs: Any) -> Any:
    """A call as a Kalimantan Timur registrar: the class is registered at the desk, which is
    not the trainer's screen."""
    token = issue_token(local_issuer(system.data_dir, AGENCY), "rina", ["registrar"])
    response = httpx.request(
        method,
        f"{system.services[service].url}{path}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
        **kwargs,
    )
    assert response.status_code < 300, f"{service} {path}: {response.text}"
    return response.json()


@pytest.fixture(scope="module")
def class_list(system: LocalSystem) -> dict[str, str]:
    """The class, registered and enrolled in training: candidate id by name."""
    ids = {}
    for name, fields in CLASS.items():
        registered = as_registrar(
            system,
            "registration",
            "POST",
            "/candidates",
            json={"agency": AGENCY, "full_name": name, "education": "SMK", **fields},
        )
        ids[name] = registered["candidate_id"]
    for candidate_id in ids.values():
        for _ in range(120):
            try:
                as_registrar(system, "training", "GET", f"/candidates/{candidate_id}")
                break
            except AssertionError:
                time.sleep(0.5)
        else:
            pytest.fail(f"training never enrolled {candidate_id}")
    return ids


@pytest.fixture(scope="module")
def trainer(chromium: Path, system: LocalSystem) -> Iterator[Page]:
    with sync_playwright() as playwright:
        browser: Browser = playwright.chromium.launch(
            executable_path=str(chromium), args=CHROMIUM_ARGS
        )
        context = browser.new_context(base_url=system.services["console"].url, **LAPTOP)
        page = context.new_page()
        page.goto("/")
        page.get_by_label("Nama pengguna").fill("pelatih")
        page.get_by_label("Kata sandi").fill(PASSWORD)
        page.get_by_role("button", name="Masuk").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("Selamat datang")
        yield page
        browser.close()


@pytest.fixture(scope="module")
def state() -> dict[str, Any]:
    return {}


def test_a_cohort_of_sixteen_takes_the_class_and_a_days_scores_in_one_save(
    trainer: Page, axe_source: str, class_list: dict[str, str], state: dict[str, Any]
) -> None:
    page = trainer
    page.get_by_test_id("screen-training").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Pusat pelatihan")
    form = page.get_by_test_id("cohort-form")
    form.get_by_label("Nama", exact=True).fill("Kelas Jepang 2026-B")
    form.get_by_label("Pusat pelatihan").fill("BPVP Samarinda")
    form.get_by_label("Mulai").fill(today().isoformat())
    form.get_by_label("Selesai").fill((today() + timedelta(days=90)).isoformat())
    form.get_by_role("button", name="Buka").click()
    expect(page.get_by_test_id("seats-left")).to_have_text("16")
    action = page.get_by_test_id("member-form").get_attribute("action")
    assert action is not None
    state["cohort_url"] = action.removesuffix("/members")
    for name in CLASS:
        member = page.get_by_test_id("member-form")
        member.get_by_label("Calon").select_option(value=class_list[name])
        member.get_by_role("button", name="Tambah").click()
        expect(page.get_by_test_id("refusal")).to_have_count(0)
    expect(page.get_by_test_id("seats-left")).to_have_text("14")

    # The whole class by keyboard: a score, Tab to the next row, a score, Enter saves.
    page.get_by_label("Siti Aminah", exact=True).fill("72")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Budi Santoso", exact=True)).to_be_focused()
    page.keyboard.type("91")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("scores-saved")).to_have_text("2 nilai tersimpan.")
    siti = page.get_by_test_id("member-row").filter(has_text="Siti Aminah")
    expect(siti).to_have_class(re.compile("below"))
    expect(siti).to_contain_text("Di bawah target harian (80)")
    budi = page.get_by_test_id("member-row").filter(has_text="Budi Santoso")
    expect(budi).not_to_have_class(re.compile("below"))
    # The grid shows the day's scores as training keeps them; another day, its own.
    expect(page.get_by_label("Siti Aminah", exact=True)).to_have_value("72")
    expect(page.get_by_label("Budi Santoso", exact=True)).to_have_value("91")
    page.get_by_label("Lihat nilai tanggal").fill((today() - timedelta(days=1)).isoformat())
    page.get_by_role("button", name="Tampilkan").click()
    expect(page.get_by_label("Siti Aminah", exact=True)).to_have_value("")
    expect(page.get_by_label("Tanggal", exact=True)).to_have_value(
        (today() - timedelta(days=1)).isoformat()
    )
    accessible(page, axe_source, "t01-kelas-nilai-harian")


def test_a_results_file_is_answered_row_by_row_and_the_refused_row_comes_back(
    trainer: Page, axe_source: str, class_list: dict[str, str], tmp_path: Path
) -> None:
    page = trainer
    page.goto("/training")
    siti, budi = class_list["Siti Aminah"], class_list["Budi Santoso"]
    results = tmp_path / "hasil-ujian.csv"
    results.write_text(
        "candidate_id,test,issuer,taken_on,level,score,sector,passed\n"
        f"{siti},JLPT,Japan Foundation,{TAKEN_ON},N4,,,\n"
        f"{siti},SSW_SKILL,Prometric,{TAKEN_ON},,,agriculture,lulus\n"
        f"{budi},JLPT,Japan Foundation,{TAKEN_ON},N7,,,\n"
    )
    page.locator("#f-results-file").set_input_files(results)
    page.get_by_role("button", name="Impor hasil").click()
    answer = page.get_by_test_id("results-result")
    expect(answer).to_contain_text("2 hasil tercatat, 1 ditolak.")
    bad = answer.locator("tr.bad")
    expect(bad).to_have_count(1)
    expect(bad).to_contain_text("Budi Santoso")
    expect(bad).to_contain_text("JLPT N7")
    expect(bad).to_contain_text("jlpt_level")
    expect(bad).to_contain_text("kolom level")
    expect(answer.locator("tr.ok").first).to_contain_text("lulus")
    accessible(page, axe_source, "t02-impor-hasil-ujian")

    link = page.get_by_test_id("refused-results-file").get_attribute("href")
    assert link is not None and link.startswith("data:text/csv")
    refused = list(csv.DictReader(io.StringIO(base64.b64decode(link.split(",", 1)[1]).decode())))
    assert [(row["candidate_id"], row["level"]) for row in refused] == [(budi, "N7")]
    assert "jlpt_level" in refused[0]["errors"]

    # Fixed and sent again: only the corrected row, recorded this time.
    fixed = tmp_path / "hasil-diperbaiki.csv"
    with fixed.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(refused[0]))
        writer.writeheader()
        writer.writerow(refused[0] | {"level": "N4", "errors": ""})
    page.locator("#f-results-file").set_input_files(fixed)
    page.get_by_role("button", name="Impor hasil").click()
    expect(page.get_by_test_id("results-result")).to_contain_text("1 hasil tercatat, 0 ditolak.")
    expect(page.get_by_test_id("results-result")).to_contain_text("Siap ditempatkan")
    expect(page.get_by_test_id("refused-results-file")).to_have_count(0)


def test_readiness_and_penjurusan_suggestions_with_their_reasons_one_applied(
    trainer: Page, axe_source: str, state: dict[str, Any]
) -> None:
    page = trainer
    page.goto(state["cohort_url"])
    rows = page.get_by_test_id("suggestion-row")
    siti = rows.filter(has_text="Siti Aminah")
    budi = rows.filter(has_text="Budi Santoso")
    # Budi (TITP): his JLPT N4 made him ready; his sector is fixed now.
    expect(budi.get_by_test_id("member-readiness")).to_contain_text("Siap ditempatkan")
    expect(budi).to_contain_text("Bidang tetap: calon sudah dinyatakan siap ditempatkan.")
    expect(budi.get_by_role("button")).to_have_count(0)
    # Siti (SSW, caregiver): what is missing, in Indonesian.
    readiness = siti.get_by_test_id("member-readiness")
    expect(readiness).to_contain_text("Belum siap")
    expect(readiness).to_contain_text("ujian keterampilan SSW di bidangnya")
    expect(readiness).to_contain_text("ujian bahasa Jepang perawatan lansia")
    # Her passed agriculture skill test puts agriculture first, each reason said.
    first = siti.get_by_test_id("suggestion").first
    expect(first).to_contain_text("agriculture · 7 poin")
    expect(first).to_contain_text(f"lulus ujian keterampilan SSW agriculture pada {TAKEN_ON}")
    expect(first).to_contain_text("semua sertifikat SSW untuk agriculture sudah ada")
    caregiver = siti.get_by_test_id("suggestion").filter(has_text="bidang sekarang")
    expect(caregiver).to_contain_text("memilih caregiver saat mendaftar")
    expect(caregiver).to_contain_text("rata-rata nilai harian 72,0 (1 hari), di bawah target 80")
    accessible(page, axe_source, "t03-saran-penjurusan")

    first.get_by_role("button", name="Terapkan agriculture").click()
    expect(page.get_by_test_id("member-sector-changed")).to_contain_text(
        "Bidang pelatihan Siti Aminah kini agriculture."
    )
    expect(page.get_by_test_id("member-sector-changed")).to_contain_text("siap ditempatkan")
    siti = page.get_by_test_id("suggestion-row").filter(has_text="Siti Aminah")
    expect(siti).to_contain_text("agriculture (SSW)")
    expect(siti.get_by_test_id("member-readiness")).to_contain_text("Siap ditempatkan")
    expect(siti.get_by_role("button")).to_have_count(0)
    accessible(page, axe_source, "t04-penjurusan-diterapkan")


def test_the_penjurusan_keeps_the_suggestions_reasons_in_trainings_history(
    system: LocalSystem, class_list: dict[str, str]
) -> None:
    siti = as_registrar(system, "training", "GET", f"/candidates/{class_list['Siti Aminah']}")
    change = siti["sector_history"][-1]
    assert (change["previous_sector"], change["sector"]) == ("caregiver", "agriculture")
    assert change["reason"].startswith("Saran penjurusan: lulus ujian keterampilan SSW")


def test_refusals_over_plain_http_are_pages_in_words(system: LocalSystem) -> None:
    with httpx.Client(base_url=system.services["console"].url, timeout=30) as client:
        signed = client.post("/login", data={"login": "pelatih", "password": PASSWORD})
        assert signed.status_code == 303
        headless = client.post(
            "/training/results", files={"file": ("x.csv", b"nama,nilai\nSiti,80\n", "text/csv")}
        )
        assert headless.status_code == 422
        assert "Ditolak oleh layanan training" in headless.text
        assert "bulk_header" in headless.text
        nobody = client.post(
            f"/training/cohorts/{uuid.uuid4()}/members/{uuid.uuid4()}/sector",
            data={"sector": "agriculture", "reason": "coba"},
        )
        assert nobody.status_code == 404
        assert "Ditolak oleh layanan training" in nobody.text
