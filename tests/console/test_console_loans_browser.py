"""A loan officer's day in the console, in Indonesian, in a real browser on the embedded
default (`LocalSystem`: the four services, the bus, Kalimantan Timur's and Kemnaker's
consoles). Three participants are brought to their loans through the services' APIs (their
registration, training and placement are other screens' tests); the officer then works in
the browser only: two loans that need a decision (a contract too short for the wage to carry
the costs) resolved by a subsidy and by the funder's write-off, each followed by the schedule
within the contract; a cost item added, refused and corrected before departure and frozen
after it; the schedule fixed at departure waited for; a transfer; an early return waited for
and the balance restructured; the funders; the participant's statement in Indonesian and
English through the link, which opens no other loan. axe-core checks every page; screenshots
in test-artifacts/console/. The tests run in order."""

from __future__ import annotations

import asyncio
import base64
import re
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from jembatan_cli.system import PROCESSES, LocalSystem, console_operators_file, local_issuer
from jembatan_console.operators import add_operator
from jembatan_contracts.streams import PLACEMENT
from jembatan_kit.issuers import issue_token
from jembatan_kit.testing.browser import CHROMIUM_ARGS

from .browsing import LAPTOP, PHONE, accessible, today

pytestmark = pytest.mark.e2e

AGENCY = "kaltim"
PASSWORD = "kata-sandi-petugas"
WAIT_MS = 60_000
PARTICIPANTS = {
    # key: (NIK, name, birth date, sex, the job order's contract in months)
    "adi": ("6471050101030001", "Adi Nugroho", "2003-01-01", "M", 4),
    "bayu": ("6471050202030002", "Bayu Pratama", "2003-02-02", "M", 4),
    "citra": ("6471054303030003", "Citra Lestari", "2003-03-03", "F", 36),
}


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalSystem]:
    local = LocalSystem.on_free_ports(
        tmp_path_factory.mktemp("console-loans"), names=PROCESSES, console_agency=AGENCY
    )
    add_operator(
        console_operators_file(local.data_dir, AGENCY),
        "sari",
        PASSWORD,
        ["loan-officer"],
        "Sari Wulandari",
    )
    add_operator(
        console_operators_file(local.data_dir, "kemnaker"),
        "hendra",
        PASSWORD,
        ["loan-officer"],
        "Hendra Gunawan",
    )
    with local:
        yield local


def call(system: LocalSystem, service: str, method: str, path: str, **kwargs: Any) -> Any:
    """A call as Kemnaker, for what happens outside the loan officer's screens and to check
    the effects of what they do."""
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


def eventually(check: Callable[[], Any], timeout_s: float = 60) -> Any:
    """The first true answer of `check`, which may raise meanwhile (an event on its way)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            answer = check()
            if answer:
                return answer
        except AssertionError:
            if time.monotonic() > deadline:
                raise
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout_s} s: {check}")
        time.sleep(0.3)


def placed(system: LocalSystem, key: str, orders: dict[int, str]) -> dict[str, Any]:
    """The participant registered, trained to N4, shortlisted and under contract, as the
    other screens would do it; their loan opened by financing."""
    nik, name, birth_date, sex, months = PARTICIPANTS[key]
    candidate = call(
        system,
        "registration",
        "POST",
        "/candidates",
        json={
            "agency": AGENCY,
            "nik": nik,
            "full_name": name,
            "birth_date": birth_date,
            "sex": sex,
            "education": "SMK",
            "track": "TITP",
            "preferred_sector": "automotive",
        },
    )
    c = candidate["candidate_id"]
    eventually(lambda: call(system, "training", "GET", f"/candidates/{c}"))
    call(
        system,
        "training",
        "POST",
        f"/candidates/{c}/results",
        json={
            "test": "JLPT",
            "level": "N4",
            "issuer": "Japan Foundation",
            "taken_on": str(today()),
        },
    )
    if months not in orders:
        orders[months] = call(
            system,
            "placement",
            "POST",
            "/job-orders",
            json={
                "employer": f"Kyushu Parts ({months} bulan)",
                "supervising_organisation": "IM Japan",
                "prefecture": "Fukuoka",
                "sector": "automotive",
                "track": "TITP",
                "slots": 3,
                "monthly_wage_jpy": 180000,
                "contract_months": months,
            },
        )["id"]
    path = eventually(
        lambda: call(
            system,
            "placement",
            "POST",
            f"/job-orders/{orders[months]}/shortlist",
            json={"candidate_id": c},
        )
    )["id"]
    placement = f"/placements/{path}"
    call(system, "placement", "POST", f"{placement}/interview", json={"passed": True})
    call(system, "placement", "POST", f"{placement}/offer", json={})
    call(system, "placement", "POST", f"{placement}/contract", json={})
    [loan] = eventually(
        lambda: call(system, "financing", "GET", "/loans", params={"candidate_id": c})
    )
    return {"candidate_id": c, "placement": placement, "loan_id": loan["loan_id"], "name": name}


def departed(system: LocalSystem, participant: dict[str, Any]) -> None:
    placement = participant["placement"]
    call(system, "placement", "POST", f"{placement}/certificate-of-eligibility", json={})
    call(system, "placement", "POST", f"{placement}/visa", json={})
    departure = {"departure_date": str(today())}
    call(system, "placement", "POST", f"{placement}/departure", json=departure)


def loan(system: LocalSystem, participant: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = call(system, "financing", "GET", f"/loans/{participant['loan_id']}")
    return found


@pytest.fixture(scope="module")
def people(system: LocalSystem) -> dict[str, dict[str, Any]]:
    orders: dict[int, str] = {}
    found = {key: placed(system, key, orders) for key in PARTICIPANTS}
    for key in ("adi", "bayu"):
        departed(system, found[key])

    def waiting_for_a_decision() -> bool:
        statuses = {loan(system, found[key])["status"] for key in ("adi", "bayu")}
        return statuses == {"needs_decision"}

    eventually(waiting_for_a_decision)
    return found


@pytest.fixture(scope="module")
def browser(chromium: Path) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def signed_in(browser: Browser, console: str, login: str, device: dict[str, Any]) -> Page:
    page = browser.new_context(base_url=console, **device).new_page()
    page.goto("/loans")
    page.get_by_label("Nama pengguna").fill(login)
    page.get_by_label("Kata sandi").fill(PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Pinjaman")
    return page


@pytest.fixture(scope="module")
def officer(browser: Browser, system: LocalSystem) -> Iterator[Page]:
    page = signed_in(browser, system.services["console"].url, "sari", LAPTOP)
    yield page
    page.context.close()


@contextmanager
def held_back(system: LocalSystem, consumer: str) -> Iterator[None]:
    """Financing's durable `consumer` of placement's stream paused (JetStream consumer pause):
    the event waits in the stream, as it would on a slow bus, until the block ends."""

    async def pause(until: datetime | None) -> None:
        client = await nats.connect(system.nats_url)
        try:
            js = client.jetstream()
            if until is None:
                await js.resume_consumer(PLACEMENT.name, consumer)
            else:
                stamp = until.isoformat().replace("+00:00", "Z")
                await js.pause_consumer(PLACEMENT.name, consumer, stamp)
        finally:
            await client.close()

    def run(until: datetime | None) -> None:
        # Playwright's sync API keeps an event loop in this thread: NATS gets its own.
        with ThreadPoolExecutor(1) as thread:
            thread.submit(asyncio.run, pause(until)).result()

    run(datetime.now(UTC) + timedelta(minutes=5))
    try:
        yield
    finally:
        run(None)


def rupiah(amount: int) -> str:
    return "Rp" + f"{amount:,}".replace(",", ".")


def test_the_loans_that_need_a_decision_are_listed(
    officer: Page, axe_source: str, people: dict[str, dict[str, Any]]
) -> None:
    page = officer
    page.get_by_test_id("needs-decision-link").click()
    table = page.get_by_test_id("loans")
    for key in ("adi", "bayu"):
        expect(table.get_by_role("row").filter(has_text=people[key]["name"])).to_contain_text(
            "menunggu keputusan"
        )
    expect(table).not_to_contain_text(people["citra"]["name"])
    accessible(page, axe_source, "loans-01-menunggu-keputusan")


def test_a_decision_is_explained_and_resolved_by_a_subsidy_then_the_schedule(
    officer: Page, axe_source: str, system: LocalSystem, people: dict[str, dict[str, Any]]
) -> None:
    adi = people["adi"]
    before = loan(system, adi)
    decision = before["decision"]
    assert decision["shortfall_idr"] > 0
    page = officer
    page.goto("/loans?status=needs_decision")
    page.get_by_role("link", name=adi["name"]).click()
    figures = page.get_by_test_id("decision-figures")
    expect(figures).to_contain_text("¥180.000")
    expect(figures).to_contain_text(rupiah(decision["instalment_cap_idr"]))
    expect(figures).to_contain_text(rupiah(decision["smallest_instalment_idr"]))
    expect(page.get_by_test_id("shortfall")).to_have_text(rupiah(decision["shortfall_idr"]))
    expect(page.get_by_test_id("decision")).to_contain_text("25% dari gaji bulanan")
    accessible(page, axe_source, "loans-02-keputusan-mengapa")

    way = page.get_by_test_id("way-subsidy")
    way.get_by_label("Pemberi subsidi").fill("Kemnaker")
    way.get_by_label("Untuk (pos)").fill("Pelatihan BLK Samarinda")
    expect(way.get_by_label("Jumlah (Rp)")).to_have_value(str(decision["shortfall_idr"]))
    way.get_by_role("button", name="Periksa dulu").click()
    confirm = page.get_by_test_id("confirm")
    after = before["owed_idr"] - decision["shortfall_idr"]
    expect(confirm).to_contain_text(f"menjadi {rupiah(after)}")
    expect(page.get_by_test_id("confirm-effect")).to_contain_text("menutup kekurangan")
    assert loan(system, adi)["subsidies"] == []  # nothing saved before the confirmation
    accessible(page, axe_source, "loans-03-konfirmasi-subsidi")
    page.get_by_role("button", name="Ya, simpan subsidi").click()
    expect(page.get_by_test_id("done")).to_contain_text(f"kini {rupiah(after)}")
    expect(page.get_by_test_id("schedule-fits")).to_be_visible()
    assert loan(system, adi)["owed_idr"] == after

    page.get_by_test_id("way-schedule").get_by_role("button", name="Periksa dulu").click()
    expect(page.get_by_test_id("confirm-effect")).to_contain_text("Jadwal ini dalam batas.")
    page.get_by_role("button", name="Ya, tetapkan jadwal").click()
    expect(page.get_by_test_id("done")).to_contain_text("Jadwal cicilan ditetapkan")
    expect(page.get_by_test_id("loan-status")).to_have_text("dalam cicilan")
    now = loan(system, adi)
    assert now["status"] == "repaying" and now["decision"] is None
    rows = page.get_by_test_id("schedule").locator("tbody tr")
    expect(rows).to_have_count(len([i for i in now["schedule"] if not i["superseded"]]))
    assert max(i["amount_idr"] for i in now["schedule"]) <= decision["instalment_cap_idr"]
    accessible(page, axe_source, "loans-04-jadwal-ditetapkan")


def test_a_write_off_by_the_funder_then_the_schedule(
    officer: Page, axe_source: str, system: LocalSystem, people: dict[str, dict[str, Any]]
) -> None:
    bayu = people["bayu"]
    before = loan(system, bayu)
    shortfall = before["decision"]["shortfall_idr"]
    page = officer
    page.goto(f"/loans/{bayu['loan_id']}")
    page.get_by_test_id("way-write-off").get_by_role("button", name="Periksa dulu").click()
    confirm = page.get_by_test_id("confirm")
    expect(confirm).to_contain_text(f"menghapus {rupiah(shortfall)} sebagai kerugiannya")
    expect(confirm).to_contain_text(f"menjadi {rupiah(before['owed_idr'] - shortfall)}")
    assert loan(system, bayu)["write_offs"] == []
    accessible(page, axe_source, "loans-05-konfirmasi-penghapusan")
    page.get_by_role("button", name="Ya, simpan penghapusan").click()
    expect(page.get_by_test_id("done")).to_contain_text("Penghapusan tercatat")
    expect(page.get_by_test_id("written-off")).to_have_text(rupiah(shortfall))
    expect(page.get_by_test_id("reductions")).to_contain_text("gaji tidak cukup untuk jadwal")
    page.get_by_test_id("way-schedule").get_by_role("button", name="Periksa dulu").click()
    page.get_by_role("button", name="Ya, tetapkan jadwal").click()
    expect(page.get_by_test_id("loan-status")).to_have_text("dalam cicilan")
    now = loan(system, bayu)
    assert now["status"] == "repaying" and now["written_off_idr"] == shortfall
    accessible(page, axe_source, "loans-06-penghapusan-dan-jadwal")


def test_cost_items_before_departure_are_added_refused_and_corrected(
    officer: Page, axe_source: str, system: LocalSystem, people: dict[str, dict[str, Any]]
) -> None:
    citra = people["citra"]
    principal = loan(system, citra)["principal_idr"]
    page = officer
    page.goto(f"/loans/{citra['loan_id']}")
    expect(page.get_by_test_id("loan-status")).to_have_text("dibuka")
    form = page.get_by_test_id("item-form")
    form.get_by_label("Kode pos").fill("insurance")
    form.get_by_label("Keterangan").fill("Asuransi perjalanan")
    form.get_by_label("Jumlah (Rp)").fill("300.000")
    form.get_by_role("button", name="Tambah pos biaya").click()
    expect(page.get_by_test_id("done")).to_contain_text(f"kini {rupiah(principal + 300_000)}")
    expect(page.get_by_test_id("cost-insurance")).to_contain_text("Asuransi")

    form = page.get_by_test_id("item-form")
    form.get_by_label("Kode pos").fill("uang_jaminan")
    form.get_by_label("Keterangan").fill("Uang jaminan")
    form.get_by_label("Jumlah (Rp)").fill("1.000.000")
    form.get_by_role("button", name="Tambah pos biaya").click()
    refusal = page.get_by_test_id("refusal")
    expect(refusal).to_contain_text("Ditolak oleh layanan financing")
    expect(refusal).to_contain_text("forbidden_charge")
    expect(page.get_by_test_id("item-form").get_by_label("Kode pos")).to_have_value("uang_jaminan")
    accessible(page, axe_source, "loans-07-pos-biaya-ditolak")

    # A correction financing refuses leaves the item as it was.
    page.get_by_test_id("cost-insurance").locator("summary").click()
    correct = page.get_by_test_id("correct-insurance")
    correct.get_by_label("Jumlah (Rp)").fill("90.000.000")
    correct.get_by_role("button", name="Simpan koreksi").click()
    expect(page.get_by_test_id("refusal")).to_contain_text("principal_above_maximum")
    expect(page.get_by_test_id("cost-insurance")).to_contain_text("Rp300.000")
    assert loan(system, citra)["principal_idr"] == principal + 300_000

    page.get_by_test_id("cost-insurance").locator("summary").click()
    correct = page.get_by_test_id("correct-insurance")
    correct.get_by_label("Jumlah (Rp)").fill("250.000")
    correct.get_by_role("button", name="Simpan koreksi").click()
    expect(page.get_by_test_id("done")).to_contain_text(f"kini {rupiah(principal + 250_000)}")
    expect(page.get_by_test_id("cost-insurance")).to_contain_text("Rp250.000")
    assert loan(system, citra)["principal_idr"] == principal + 250_000
    accessible(page, axe_source, "loans-08-pos-biaya-dikoreksi")


def test_the_schedule_fixed_at_departure_is_waited_for_and_the_costs_freeze(
    officer: Page, axe_source: str, system: LocalSystem, people: dict[str, dict[str, Any]]
) -> None:
    citra = people["citra"]
    page = officer
    with held_back(system, "financing-departed"):
        departed(system, citra)
        page.goto(f"/loans/{citra['loan_id']}")
        # Placement has the departure; financing fixes the schedule on its event: pending.
        expect(page.get_by_test_id("pending")).to_contain_text("menunggu layanan pembiayaan")
        expect(page.get_by_test_id("loan-state")).to_have_attribute("hx-trigger", "every 2s")
        expect(page.get_by_test_id("loan-status")).to_have_text("dibuka")
        accessible(page, axe_source, "loans-09a-menunggu-jadwal")
        page.wait_for_timeout(2_500)  # a poll passes: still waiting, still polling
        expect(page.get_by_test_id("pending")).to_be_visible()
        assert loan(system, citra)["status"] == "open"
    # The event arrives; the page fills in by itself, without being opened again.
    expect(page.get_by_test_id("loan-status")).to_have_text("dalam cicilan", timeout=WAIT_MS)
    expect(page.get_by_test_id("pending")).to_have_count(0)
    expect(page.get_by_test_id("loan-state")).not_to_have_attribute("hx-trigger", re.compile("."))
    # Once the effect has landed, the waiting part's answer reloads the page.
    state = page.request.get(f"/loans/{citra['loan_id']}/state", headers={"HX-Request": "true"})
    assert state.ok and state.headers.get("hx-refresh") == "true"
    expect(page.get_by_test_id("costs-frozen")).to_contain_text("Biaya dibekukan sejak")
    expect(page.get_by_test_id("item-form")).to_have_count(0)
    accessible(page, axe_source, "loans-09-biaya-dibekukan")


def test_a_transfer_after_seeing_the_new_balance(
    officer: Page, axe_source: str, system: LocalSystem, people: dict[str, dict[str, Any]]
) -> None:
    citra = people["citra"]
    before = loan(system, citra)["balance_idr"]
    page = officer
    page.goto(f"/loans/{citra['loan_id']}")
    form = page.get_by_test_id("transfer-form")
    form.get_by_label("Referensi transfer").fill("BRI-CITRA-0001")
    form.get_by_label("Jumlah (Rp)").fill("500.000")
    form.get_by_role("button", name="Periksa dulu").click()
    expect(page.get_by_test_id("confirm")).to_contain_text(f"menjadi {rupiah(before - 500_000)}")
    assert loan(system, citra)["paid_idr"] == 0
    page.get_by_test_id("confirm-save").click()
    expect(page.get_by_test_id("transfer-saved")).to_contain_text(rupiah(before - 500_000))
    assert loan(system, citra)["paid_idr"] == 500_000
    accessible(page, axe_source, "loans-10-transfer")


def test_an_early_return_is_waited_for_and_the_balance_restructured(
    officer: Page, axe_source: str, system: LocalSystem, people: dict[str, dict[str, Any]]
) -> None:
    citra = people["citra"]
    page = officer
    page.goto(f"/loans/{citra['loan_id']}")
    form = page.get_by_test_id("early-return-form")
    form.get_by_label("Alasan").select_option("health")
    with held_back(system, "financing-early-returned"):
        form.get_by_role("button", name="Catat kepulangan lebih awal").click()
        expect(page.get_by_test_id("done")).to_contain_text("Kepulangan lebih awal tercatat")
        expect(page.get_by_test_id("pending")).to_contain_text("menangguhkan pinjaman")
        expect(page.get_by_test_id("loan-status")).to_have_text("dalam cicilan")
        accessible(page, axe_source, "loans-11a-menunggu-penangguhan")
    # Financing pauses the loan on placement's EarlyReturned event; the page fills in.
    expect(page.get_by_test_id("loan-status")).to_have_text("ditangguhkan", timeout=WAIT_MS)
    expect(page.get_by_test_id("loan-state")).to_contain_text("Ditangguhkan sejak")
    accessible(page, axe_source, "loans-11-ditangguhkan")
    restructure = page.get_by_test_id("restructure-form")
    restructure.get_by_label("Jatuh tempo pertama").fill(str(today() + timedelta(days=30)))
    restructure.get_by_label("Jumlah cicilan").fill("10")
    restructure.get_by_role("button", name="Restrukturisasi").click()
    # Nothing falls due before the 3rd month after departure: refused, what was typed kept.
    expect(page.get_by_test_id("refusal")).to_contain_text("repayment_before_month_three")
    restructure = page.get_by_test_id("restructure-form")
    expect(restructure.get_by_label("Jumlah cicilan")).to_have_value("10")
    restructure.get_by_label("Jatuh tempo pertama").fill(str(today() + timedelta(days=100)))
    restructure.get_by_role("button", name="Restrukturisasi").click()
    expect(page.get_by_test_id("done")).to_contain_text("Jadwal diatur ulang")
    expect(page.get_by_test_id("loan-status")).to_have_text("dalam cicilan")
    now = loan(system, citra)
    assert now["status"] == "repaying"
    assert len([i for i in now["schedule"] if not i["superseded"] and i["paid_idr"] == 0]) >= 10
    accessible(page, axe_source, "loans-12-restrukturisasi")


def test_funders_are_listed_and_added_only_where_financing_runs(
    officer: Page, browser: Browser, axe_source: str, system: LocalSystem
) -> None:
    page = officer
    page.goto("/funders")
    assert len(call(system, "financing", "GET", "/funders")) >= 1
    expect(page.get_by_test_id("funders").locator("tbody tr")).not_to_contain_text("Tidak ada.")
    page.get_by_label("Nama pemberi dana").fill("Koperasi JOE")
    page.get_by_role("button", name="Tambah pemberi dana").click()
    refusal = page.get_by_test_id("refusal")
    expect(refusal).to_contain_text("agency_scope")
    accessible(page, axe_source, "loans-13-pemberi-dana-ditolak")

    national = signed_in(browser, system.services["console-kemnaker"].url, "hendra", LAPTOP)
    national.goto("/funders")
    national.get_by_label("Nama pemberi dana").fill("Koperasi JOE")
    national.get_by_role("button", name="Tambah pemberi dana").click()
    expect(national.get_by_test_id("done")).to_contain_text("Koperasi JOE")
    expect(national.get_by_test_id("funders")).to_contain_text("Koperasi JOE")
    national.context.close()


def test_the_participants_statement_through_the_link_in_both_languages(
    officer: Page,
    browser: Browser,
    axe_source: str,
    system: LocalSystem,
    people: dict[str, dict[str, Any]],
) -> None:
    bayu, adi = people["bayu"], people["adi"]
    page = officer
    page.goto(f"/loans/{bayu['loan_id']}")
    link = page.get_by_test_id("statement-link").get_attribute("href")
    assert link is not None
    context = browser.new_context(**PHONE)  # the participant: a phone, never signed in
    phone = context.new_page()
    phone.goto(link)
    expect(phone.get_by_role("heading", level=1)).to_have_text("Rincian biaya penempatan Anda")
    balance = loan(system, bayu)["balance_idr"]
    expect(phone.get_by_test_id("statement-balance")).to_have_text(rupiah(balance))
    expect(phone.get_by_test_id("interest")).to_contain_text("tanpa bunga")
    expect(phone.get_by_test_id("statement-write-offs")).to_contain_text(
        "gaji tidak cukup untuk jadwal"
    )
    expect(phone.locator("main")).to_contain_text("Tiket pesawat")
    expect(phone.locator("main")).to_contain_text(re.compile(r"kurs Rp\d+,\d+ per yen"))
    accessible(phone, axe_source, "loans-14-rincian-peserta")
    phone.get_by_test_id("switch-language").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Statement of your placement costs")
    expect(phone.get_by_test_id("interest")).to_contain_text("carries no interest")
    expect(phone.get_by_test_id("statement-write-offs")).to_contain_text(
        "the wage cannot carry a schedule"
    )
    accessible(phone, axe_source, "loans-15-statement-english")

    # Bayu's link with Adi's loan id put in, Bayu's signature kept: it opens nothing, though
    # Adi's loan exists and financing is up.
    signed = link.rsplit("/", 1)[1]
    payload, stamp, signature = signed.split(".")
    assert base64.urlsafe_b64decode(payload + "==").decode() == f'"{bayu["loan_id"]}"'
    other = base64.urlsafe_b64encode(f'"{adi["loan_id"]}"'.encode()).decode().rstrip("=")
    forged = phone.request.get(link.replace(signed, f"{other}.{stamp}.{signature}"))
    assert forged.status == 404
    assert adi["name"] not in forged.text()
    assert re.search("tidak berlaku|does not work", forged.text())
    context.close()
