"""The operators' consoles in a real browser, in Indonesian, on the embedded default: the whole
system runs as processes (`LocalSystem`: Kalimantan Timur's console and Kemnaker's), headless
Chromium (Debian's) does each role's day's work through the consoles' pages, and axe-core checks
every page it opens. Screenshots are kept in test-artifacts/console/. The tests run in order: each
takes up the candidate where the one before left them."""

from __future__ import annotations

import csv
import re
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from jembatan_cli.system import PROCESSES, LocalSystem, console_operators_file, local_issuer
from jembatan_console.operators import add_operator
from jembatan_kit.issuers import issue_token
from jembatan_kit.testing.browser import CHROMIUM_ARGS

from .browsing import LAPTOP, PHONE, accessible, today

pytestmark = pytest.mark.e2e

AGENCY = "kaltim"
PASSWORD = "kata-sandi-petugas"
WAIT_MS = 60_000
BUDI = {
    "nik": "6471051506040001",
    "full_name": "Budi Santoso",
    "birth_date": "2004-06-15",
    "sex": "M",
    "education": "SMK",
    "track": "TITP",
    "preferred_sector": "automotive",
}


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalSystem]:
    local = LocalSystem.on_free_ports(
        tmp_path_factory.mktemp("console-system"), names=PROCESSES, console_agency=AGENCY
    )
    operators = console_operators_file(local.data_dir, AGENCY)
    add_operator(
        operators,
        "petugas",
        PASSWORD,
        ["registrar", "trainer", "placement-officer", "loan-officer"],
        "Dewi Lestari",
    )
    add_operator(operators, "rina", PASSWORD, ["registrar"], "Rina Wati")
    add_operator(
        console_operators_file(local.data_dir, "kemnaker"),
        "hendra",
        PASSWORD,
        ["placement-officer", "loan-officer"],
        "Hendra Gunawan",
    )
    with local:
        yield local


@pytest.fixture(scope="module")
def console(system: LocalSystem) -> str:
    return system.services["console"].url


@pytest.fixture(scope="module")
def national_console(system: LocalSystem) -> str:
    return system.services["console-kemnaker"].url


def national(system: LocalSystem, service: str, method: str, path: str, **kwargs: Any) -> Any:
    """A call as Kemnaker, for what happens outside the kaltim console (the job order comes
    from the Japanese side through Kemnaker's placement office) and to check its effects."""
    token = issue_token(local_issuer(system.data_dir, "kemnaker"), "checker", [])
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
def state() -> dict[str, Any]:
    return {}


@pytest.fixture(scope="module")
def browser(chromium: Path) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def signed_in(browser: Browser, console: str, login: str, device: dict[str, Any]) -> Page:
    context: BrowserContext = browser.new_context(base_url=console, **device)
    page = context.new_page()
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login"))
    page.get_by_label("Nama pengguna").fill(login)
    page.get_by_label("Kata sandi").fill(PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Selamat datang")
    return page


@pytest.fixture(scope="module")
def officer(browser: Browser, console: str) -> Iterator[Page]:
    page = signed_in(browser, console, "petugas", LAPTOP)
    yield page
    page.context.close()


def test_sign_in_shows_only_the_screens_of_the_operators_roles(
    browser: Browser, console: str, axe_source: str
) -> None:
    page = signed_in(browser, console, "rina", LAPTOP)
    expect(page.locator("html")).to_have_attribute("lang", "id")
    expect(page.get_by_test_id("screen-registration")).to_contain_text("Meja pendaftaran")
    expect(page.get_by_test_id("screen-candidates")).to_be_visible()
    expect(page.get_by_test_id("screen-loans")).to_have_count(0)
    expect(page.get_by_test_id("screen-placement")).to_have_count(0)
    accessible(page, axe_source, "01-beranda-pendaftar")
    page.goto("/loans")
    expect(page.get_by_test_id("refusal")).to_contain_text("untuk peran loan-officer")
    page.context.close()


def test_registration_desk_registers_and_explains_eligibility(
    officer: Page, axe_source: str, system: LocalSystem, state: dict[str, Any]
) -> None:
    page = officer
    page.get_by_test_id("screen-registration").click()
    accessible(page, axe_source, "02-meja-pendaftaran")
    form = page.get_by_test_id("register-form")
    form.get_by_label("NIK (16 angka)").fill(BUDI["nik"])
    form.get_by_label("Nama lengkap").fill(BUDI["full_name"])
    form.get_by_label("Tanggal lahir").fill(BUDI["birth_date"])
    form.get_by_label("Jenis kelamin").select_option("M")
    form.get_by_label("Pendidikan").select_option("SMK")
    form.get_by_label("Program").select_option("TITP")
    form.get_by_label("Bidang pilihan").fill("automotive")
    form.get_by_role("button", name="Daftarkan").click()
    done = page.get_by_test_id("registered")
    expect(done).to_contain_text("Calon terdaftar: Budi Santoso")
    expect(done).to_contain_text("6471************")
    checks = page.get_by_test_id("checks")
    expect(checks).to_contain_text("Lulus")
    assert checks.locator("tbody tr").count() >= 1
    accessible(page, axe_source, "03-calon-terdaftar")
    href = page.get_by_test_id("open-journey").get_attribute("href")
    assert href is not None
    state["candidate_id"] = href.rsplit("/", 1)[1]
    registered = national(system, "registration", "GET", href)
    assert registered["agency"] == AGENCY and registered["full_name"] == "Budi Santoso"


def test_a_duplicate_registration_is_refused_in_the_services_words(
    officer: Page, axe_source: str
) -> None:
    page = officer
    page.goto("/registration")
    form = page.get_by_test_id("register-form")
    form.get_by_label("NIK (16 angka)").fill(BUDI["nik"])
    form.get_by_label("Nama lengkap").fill("Budi S.")
    form.get_by_label("Tanggal lahir").fill(BUDI["birth_date"])
    form.get_by_label("Bidang pilihan").fill("automotive")
    form.get_by_role("button", name="Daftarkan").click()
    refusal = page.get_by_test_id("refusal")
    expect(refusal).to_contain_text("Ditolak oleh layanan registration")
    expect(refusal.locator("code").first).not_to_be_empty()
    expect(page.get_by_label("Nama lengkap")).to_have_value("Budi S.")  # kept to correct
    accessible(page, axe_source, "04-pendaftaran-ganda-ditolak")


def test_the_registration_desk_checks_the_nik_while_the_operator_types(
    officer: Page, axe_source: str
) -> None:
    """Registration's own check, asked as the NIK is typed: a refusal with the rule's words
    appears before the form is sent, a disagreement with the declaration is a warning, and
    nothing is registered."""
    page = officer
    page.goto("/registration")
    form = page.get_by_test_id("register-form")
    form.get_by_label("Nama lengkap").fill("Rudi Hartono")
    form.get_by_label("Tanggal lahir").fill("2004-06-15")
    form.get_by_label("Jenis kelamin").select_option("F")
    form.get_by_label("Bidang pilihan").fill("automotive")
    nik = form.get_by_label("NIK (16 angka)")
    nik.press_sequentially("6471053506040002", delay=20)  # day 35: no one's birth date
    found = page.get_by_test_id("nik-check")
    expect(found.get_by_test_id("nik-refusal")).to_contain_text(
        "Angka ke-7 sampai ke-12 NIK bukan tanggal lahir yang nyata"
    )
    expect(found).to_contain_text("nik_birth_date")
    accessible(page, axe_source, "04a-nik-ditolak-saat-diketik")
    nik.fill("")
    nik.press_sequentially("6471051506040002", delay=20)  # a man's NIK, declared a woman
    expect(found.get_by_test_id("nik-refusal")).to_have_count(0)
    expect(found.get_by_test_id("nik-ok")).to_contain_text("NIK terbaca")
    expect(found.get_by_test_id("nik-warnings")).to_contain_text("NIK tidak cocok")
    expect(found).to_contain_text("NIK encodes sex male, declared female")
    form.get_by_label("Jenis kelamin").select_option("M")
    expect(found.get_by_test_id("nik-warnings")).to_have_count(0)
    accessible(page, axe_source, "04b-nik-diperiksa-saat-diketik")
    expect(page.get_by_test_id("registered")).to_have_count(0)  # nothing was sent


def test_class_list_upload_answers_each_row_and_gives_back_the_refused_ones(
    officer: Page, axe_source: str, tmp_path: Path
) -> None:
    page = officer
    page.goto("/registration")
    class_list = tmp_path / "daftar-kelas.csv"
    with class_list.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["nik", "full_name", "birth_date", "sex", "education", "track", "preferred_sector"]
        )
        writer.writerow(
            ["6471054506010003", "Siti Aminah", "2001-06-05", "F", "SMK", "SSW", "caregiver"]
        )
        writer.writerow(["12345", "Salah Ketik", "2001-06-05", "F", "SMK", "SSW", "caregiver"])
    page.locator("#f-file").set_input_files(class_list)
    page.get_by_role("button", name="Unggah").click()
    result = page.get_by_test_id("upload-result")
    expect(result).to_contain_text("1 baris diterima, 1 ditolak.")
    expect(result.locator("tr.bad")).to_contain_text("ditolak")
    link = page.get_by_test_id("refused-file").get_attribute("href")
    assert link is not None and link.startswith("data:text/csv")
    accessible(page, axe_source, "05-unggah-daftar-kelas")


def test_the_journey_page_waits_for_training_to_enrol_the_candidate(
    officer: Page, axe_source: str, state: dict[str, Any]
) -> None:
    page = officer
    page.goto(f"/candidates/{state['candidate_id']}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Perjalanan Budi Santoso")
    # Pending until training's enrolment lands; htmx asks again until it does.
    expect(page.get_by_test_id("readiness")).to_have_text("Belum siap", timeout=WAIT_MS)
    expect(page.get_by_test_id("part-training").get_by_test_id("pending")).to_have_count(0)
    expect(page.get_by_test_id("events")).to_contain_text("CandidateRegistered")
    accessible(page, axe_source, "06-perjalanan-terdaftar")


def test_a_registrar_corrects_the_candidate_on_the_journey_page(
    officer: Page, axe_source: str, system: LocalSystem, state: dict[str, Any]
) -> None:
    """A correction refused is said in words, rule by rule; one made is recorded at once. The
    national check's standing is shown in words."""
    page = officer
    page.goto(f"/candidates/{state['candidate_id']}")
    registration = page.get_by_test_id("part-registration")
    expect(registration.get_by_test_id("national-check")).to_have_text("tuntas")
    registration.locator("summary", has_text="Koreksi data calon").click()
    form = page.get_by_test_id("correct-form")
    form.get_by_label("Tanggal lahir").fill("2015-06-15")
    form.get_by_role("button", name="Simpan koreksi").click()
    refusal = registration.get_by_test_id("refusal")
    expect(refusal).to_contain_text("Koreksi tidak memenuhi aturan")
    expect(registration.get_by_test_id("failed-rules")).to_contain_text(
        "Calon belum mencapai usia minimum program."
    )
    accessible(page, axe_source, "06c-koreksi-ditolak")
    form = page.get_by_test_id("correct-form")
    form.get_by_label("Tanggal lahir").fill("")
    form.get_by_label("Nomor telepon (tidak wajib)").fill("+6281234567890")
    form.get_by_role("button", name="Simpan koreksi").click()
    expect(registration.get_by_test_id("corrected")).to_contain_text("Koreksi tercatat")
    expect(registration.get_by_test_id("refusal")).to_have_count(0)
    accessible(page, axe_source, "06d-koreksi-tercatat")
    budi = national(system, "registration", "GET", f"/candidates/{state['candidate_id']}")
    assert budi["age_years"] >= 18, "the refused correction changed nothing"


def test_a_service_that_is_down_is_waited_for_and_the_page_fills_in_when_it_returns(
    officer: Page, axe_source: str, system: LocalSystem
) -> None:
    """Training is stopped while a candidate is registered: the journey page shows the rest,
    says in training's part that it cannot be reached and keeps asking; once training is back
    and has taken the registration's event from the stream, the part fills in by itself."""
    training = system.services["training"]
    training.process.terminate()
    training.process.wait(timeout=30)
    page = officer
    try:
        page.goto("/registration")
        form = page.get_by_test_id("register-form")
        form.get_by_label("NIK (16 angka)").fill("6471055203030002")
        form.get_by_label("Nama lengkap").fill("Ani Rahmawati")
        form.get_by_label("Tanggal lahir").fill("2003-03-12")
        form.get_by_label("Jenis kelamin").select_option("F")
        form.get_by_label("Bidang pilihan").fill("automotive")
        form.get_by_role("button", name="Daftarkan").click()
        expect(page.get_by_test_id("registered")).to_contain_text("Ani Rahmawati")
        page.get_by_test_id("open-journey").click()
        part = page.get_by_test_id("part-training")
        expect(part.get_by_test_id("unavailable")).to_contain_text(
            "Layanan training tidak dapat dihubungi"
        )
        expect(part).to_have_attribute("hx-trigger", "every 2s")
        expect(page.get_by_test_id("part-registration")).to_contain_text("6471************")
        accessible(page, axe_source, "06a-pelatihan-tidak-dapat-dihubungi")
    finally:
        system.services["training"] = system.spawn("training")
        system.wait_healthy(60)
    expect(part.get_by_test_id("readiness")).to_have_text("Belum siap", timeout=WAIT_MS)
    expect(part.get_by_test_id("unavailable")).to_have_count(0)


def test_a_withdrawal_is_recorded_with_its_reason_and_reaches_training(
    officer: Page, axe_source: str
) -> None:
    """Ani, registered while training was down, withdraws; training learns of it through the
    bus, and its part waits for that and then shows it, without a reload."""
    page = officer
    registration = page.get_by_test_id("part-registration")
    registration.locator("summary", has_text="Catat pengunduran diri").click()
    form = page.get_by_test_id("withdraw-form")
    form.get_by_label("Alasan").select_option("family")
    form.get_by_role("button", name="Catat pengunduran diri").click()
    expect(page.get_by_test_id("withdrawn")).to_be_visible()
    expect(registration).to_contain_text("mengundurkan diri")
    accessible(page, axe_source, "06b-pengunduran-diri")
    expect(page.get_by_test_id("enrolment-status")).to_contain_text(
        "mengundurkan diri", timeout=WAIT_MS
    )
    expect(page.get_by_test_id("part-training").get_by_test_id("pending")).to_have_count(0)


def test_penjurusan_records_the_training_sector_with_its_reason(
    officer: Page, axe_source: str, system: LocalSystem
) -> None:
    [siti] = [
        candidate
        for candidate in national(system, "registration", "GET", "/candidates")
        if candidate["full_name"] == "Siti Aminah"
    ]
    page = officer
    page.goto(f"/candidates/{siti['candidate_id']}")
    training = page.get_by_test_id("part-training")
    expect(training.get_by_test_id("readiness")).to_be_visible(timeout=WAIT_MS)
    training.get_by_text("Penjurusan (bidang pelatihan)").click()
    form = page.get_by_test_id("sector-form")
    form.get_by_label("Bidang").fill("agriculture")
    form.get_by_label("Alasan").fill("nilai praktik kuat; minat pada mesin pertanian")
    form.get_by_role("button", name="Simpan").click()
    expect(page.get_by_test_id("sector-changed")).to_have_text("Bidang pelatihan kini agriculture.")
    expect(page.get_by_test_id("sector-history")).to_contain_text(
        "caregiver → agriculture: nilai praktik kuat"
    )
    accessible(page, axe_source, "07a-penjurusan")


def test_training_centre_opens_a_cohort_and_saves_a_days_scores(
    officer: Page, axe_source: str, state: dict[str, Any]
) -> None:
    page = officer
    page.goto("/training")
    form = page.get_by_test_id("cohort-form")
    form.get_by_label("Nama", exact=True).fill("Kelas Jepang 2026-A")
    form.get_by_label("Pusat pelatihan").fill("BPVP Samarinda")
    form.get_by_label("Mulai").fill(today().isoformat())
    form.get_by_label("Selesai").fill((today() + timedelta(days=90)).isoformat())
    form.get_by_role("button", name="Buka").click()
    expect(page.get_by_test_id("seats-left")).to_have_text("16")
    member = page.get_by_test_id("member-form")
    member.get_by_label("Calon").select_option(value=state["candidate_id"])
    member.get_by_role("button", name="Tambah").click()
    expect(page.get_by_test_id("seats-left")).to_have_text("15")
    page.get_by_label("Budi Santoso").fill("60")
    page.get_by_role("button", name="Simpan nilai kelas").click()
    expect(page.get_by_test_id("scores-saved")).to_have_text("1 nilai tersimpan.")
    row = page.get_by_test_id("member-row").filter(has_text="Budi Santoso")
    expect(row).to_have_class(re.compile("below"))
    expect(row).to_contain_text("Di bawah target harian")
    accessible(page, axe_source, "07b-nilai-harian-kelas")
    page.goto("/training")
    expect(page.get_by_test_id("cohorts")).to_contain_text("Kelas Jepang 2026-A")
    accessible(page, axe_source, "08-pusat-pelatihan")


def test_a_certificate_makes_the_candidate_ready_and_the_page_waits_for_placement(
    officer: Page, axe_source: str, state: dict[str, Any]
) -> None:
    page = officer
    page.goto(f"/candidates/{state['candidate_id']}")
    form = page.get_by_test_id("result-form")
    form.get_by_label("Ujian", exact=True).select_option("JLPT")
    form.get_by_label("Tingkat").fill("N4")
    form.get_by_label("Tanggal ujian").fill((today() - timedelta(days=15)).isoformat())
    form.get_by_role("button", name="Simpan").click()
    expect(page.get_by_test_id("result-recorded")).to_contain_text("siap ditempatkan")
    expect(page.get_by_test_id("readiness")).to_have_text("Siap ditempatkan")
    # Placement learns of the readiness through the bus; the part waits for it.
    expect(page.get_by_test_id("part-placement")).to_contain_text(
        "Siap ditempatkan:", timeout=WAIT_MS
    )
    accessible(page, axe_source, "09-perjalanan-siap")


def test_a_job_order_a_provinces_console_may_not_open_is_refused_in_words(
    officer: Page, axe_source: str
) -> None:
    page = officer
    page.goto("/placement")
    form = page.get_by_test_id("job-order-form")
    form.get_by_label("Pemberi kerja").fill("Toyota Tsusho Parts Kyushu")
    form.get_by_label("Lembaga pengawas").fill("IM Japan")
    form.get_by_label("Prefektur").fill("Fukuoka")
    form.get_by_label("Bidang").fill("automotive")
    form.get_by_label("Jumlah tempat").fill("2")
    form.get_by_label("Gaji bulanan (JPY)").fill("180.000")
    form.get_by_role("button", name="Buka").click()
    refusal = page.get_by_test_id("refusal")
    expect(refusal).to_contain_text("Ditolak oleh layanan placement")
    expect(refusal).to_contain_text("agency_scope")
    accessible(page, axe_source, "10-lowongan-ditolak")


def test_kemnakers_placement_office_opens_the_job_order(
    browser: Browser, national_console: str, axe_source: str
) -> None:
    """Job orders come from the Japanese side through Kemnaker's placement office: its own
    console, signed in with Kemnaker's issuer."""
    page = signed_in(browser, national_console, "hendra", LAPTOP)
    expect(page.get_by_test_id("screen-registration")).to_have_count(0)
    page.get_by_test_id("screen-placement").click()
    form = page.get_by_test_id("job-order-form")
    form.get_by_label("Pemberi kerja").fill("Toyota Tsusho Parts Kyushu")
    form.get_by_label("Lembaga pengawas").fill("IM Japan")
    form.get_by_label("Prefektur").fill("Fukuoka")
    form.get_by_label("Bidang").fill("automotive")
    form.get_by_label("Program").select_option("TITP")
    form.get_by_label("Jumlah tempat").fill("2")
    form.get_by_label("Gaji bulanan (JPY)").fill("180.000")
    form.get_by_role("button", name="Buka").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Toyota Tsusho Parts Kyushu")
    expect(page.get_by_test_id("matches")).to_contain_text("Budi Santoso")
    accessible(page, axe_source, "11-lowongan-dibuka-kemnaker")
    page.context.close()


def test_placement_office_takes_a_placement_to_departure(
    officer: Page, axe_source: str, state: dict[str, Any]
) -> None:
    page = officer
    page.goto("/placement")
    page.get_by_role("link", name="Toyota Tsusho Parts Kyushu").click()
    matches = page.get_by_test_id("matches")
    expect(matches).to_contain_text("Budi Santoso")
    accessible(page, axe_source, "12-lowongan-dan-calon-cocok")
    matches.get_by_role("button", name="Masukkan daftar pendek: Budi Santoso").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Jalur penempatan: Budi Santoso")
    for step, reached in (
        ("interview_pass", "Lulus wawancara"),
        ("offer", "Tawaran kerja"),
        ("contract", "Kontrak ditandatangani"),
        ("certificate-of-eligibility", "CoE terbit"),
        ("visa", "Visa terbit"),
        ("departure", "Berangkat"),
    ):
        page.get_by_test_id(f"step-{step}").click()
        expect(page.get_by_test_id("step-recorded")).to_be_visible()
        expect(page.locator("ol.path li.current")).to_contain_text(reached)
    expect(page.get_by_text("Jalur ini sudah selesai.")).to_be_visible()
    # The loan opens on the contract's event; the part waits for it.
    loan = page.get_by_test_id("part-financing").get_by_role("link")
    expect(loan).to_contain_text("Pinjaman", timeout=WAIT_MS)
    accessible(page, axe_source, "13-jalur-penempatan-berangkat")
    href = loan.get_attribute("href")
    assert href is not None
    state["loan_id"] = href.rsplit("/", 1)[1]


def test_loan_officer_records_a_transfer_after_seeing_the_new_balance(
    officer: Page, axe_source: str, system: LocalSystem, state: dict[str, Any]
) -> None:
    page = officer
    page.goto(f"/loans/{state['loan_id']}")
    expect(page.locator("main")).to_contain_text("dalam cicilan")  # financing's `repaying`
    accessible(page, axe_source, "14-pinjaman")
    before = national(system, "financing", "GET", f"/loans/{state['loan_id']}")["balance_idr"]
    assert before > 1_000_000
    form = page.get_by_test_id("transfer-form")
    form.get_by_label("Referensi transfer").fill("TRF-2026-0001")
    form.get_by_label("Jumlah (Rp)").fill("1.000.000")
    form.get_by_role("button", name="Periksa dulu").click()
    confirm = page.get_by_test_id("confirm")
    expect(confirm).to_contain_text(f"menjadi {rupiah(before - 1_000_000)}")
    assert national(system, "financing", "GET", f"/loans/{state['loan_id']}")["paid_idr"] == 0
    accessible(page, axe_source, "15-konfirmasi-transfer")
    page.get_by_test_id("confirm-save").click()
    expect(page.get_by_test_id("transfer-saved")).to_contain_text(
        f"Sisa pinjaman kini {rupiah(before - 1_000_000)}"
    )
    after = national(system, "financing", "GET", f"/loans/{state['loan_id']}")
    assert after["paid_idr"] == 1_000_000
    assert after["balance_idr"] == before - 1_000_000
    state["statement_link"] = page.get_by_test_id("statement-link").get_attribute("href")


def rupiah(amount: int) -> str:
    return "Rp" + f"{amount:,}".replace(",", ".")


def test_the_participant_reads_their_statement_in_indonesian_through_the_link(
    browser: Browser, axe_source: str, system: LocalSystem, state: dict[str, Any]
) -> None:
    link = state["statement_link"]
    context = browser.new_context(**PHONE)  # the participant: a phone, never signed in
    page = context.new_page()
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("Rincian biaya penempatan Anda")
    balance = national(system, "financing", "GET", f"/loans/{state['loan_id']}")["balance_idr"]
    expect(page.get_by_test_id("statement-balance")).to_have_text(rupiah(balance))
    expect(page.get_by_text("Tidak ada yang dipotong dari gaji")).to_be_visible()
    accessible(page, axe_source, "16-rincian-peserta-ponsel")
    page.get_by_test_id("switch-language").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Statement of your placement costs")
    accessible(page, axe_source, "17-statement-participant-english")
    signed = link.rsplit("/", 1)[1]
    other = page.request.get(link.replace(signed, signed[:-2] + "xx"))
    assert other.status == 404
    assert "does not work" in other.text() or "tidak berlaku" in other.text()
    context.close()


def test_the_lists_of_candidates_and_of_loans_in_arrears(officer: Page, axe_source: str) -> None:
    page = officer
    page.get_by_role("link", name="Calon dan perjalanannya").click()
    table = page.get_by_role("table")
    expect(table).to_contain_text("Budi Santoso")
    expect(table.get_by_role("row").filter(has_text="Ani Rahmawati")).to_contain_text(
        "mengundurkan diri"
    )
    accessible(page, axe_source, "18a-daftar-calon")
    page.get_by_role("link", name="Pinjaman", exact=True).click()
    expect(page.get_by_test_id("loans")).to_contain_text("Budi Santoso")
    expect(page.get_by_label("Status")).to_have_value("repaying")
    page.get_by_label("Status").select_option("")
    page.get_by_label("Tunggakan (Hari lewat jatuh tempo)").select_option("1-30")
    page.get_by_role("button", name="Saring").click()
    expect(page).to_have_url(re.compile(r"bucket=1-30"))
    expect(page.get_by_test_id("loans")).to_contain_text("Tidak ada.")  # nothing due yet
    accessible(page, axe_source, "18b-daftar-pinjaman")


def test_the_journey_page_on_a_phone(
    browser: Browser, console: str, axe_source: str, state: dict[str, Any]
) -> None:
    page = signed_in(browser, console, "petugas", PHONE)
    accessible(page, axe_source, "19-beranda-ponsel")
    page.goto(f"/candidates/{state['candidate_id']}")
    expect(page.get_by_test_id("part-placement")).to_contain_text("Berangkat")
    expect(page.get_by_test_id("events")).to_contain_text("departed")
    accessible(page, axe_source, "20-perjalanan-ponsel")
    page.context.close()


def test_refusals_over_plain_http_are_pages_in_words(console: str) -> None:
    with httpx.Client(base_url=console, timeout=30) as client:
        assert client.get("/candidates").status_code == 303
        signed = client.post("/login", data={"login": "petugas", "password": PASSWORD})
        assert signed.status_code == 303
        unknown = client.get(f"/candidates/{uuid.uuid4()}")
        assert unknown.status_code == 404
        assert "Ditolak oleh layanan registration" in unknown.text
        assert "not_found" in unknown.text
        invalid = client.post(
            "/registration",
            data={**BUDI, "nik": "6471", "full_name": "Nik Pendek"},
        )
        assert invalid.status_code == 422
        assert "Pendaftaran ditolak" in invalid.text
        not_a_loan = client.post(
            f"/loans/{uuid.uuid4()}/transfer",
            data={"reference": "x", "paid_on": today().isoformat(), "amount_idr": "10"},
        )
        assert not_a_loan.status_code == 404
        assert "Ditolak oleh layanan financing" in not_a_loan.text
