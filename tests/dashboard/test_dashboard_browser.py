"""The dashboard in a real browser: the whole system runs as processes, the Kota Serang scenario
drives candidates through the services' APIs, and headless Chromium (Debian's) opens the page at
laptop and phone widths in English and Indonesian. The figures shown must equal what the
services report; screenshots are kept in test-artifacts/."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from typer.testing import CliRunner

from jembatan_cli.main import app as cli
from jembatan_cli.scenarios.runner import run_scenario
from jembatan_cli.system import LocalSystem, local_issuer, local_issuers
from jembatan_kit.issuers import issue_token

pytestmark = pytest.mark.e2e

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LAPTOP = {"viewport": {"width": 1366, "height": 900}}
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}
AGENCY = "kota-serang"
SCENARIO_SERVICES = ("registration", "training", "placement", "financing")


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalSystem]:
    local = LocalSystem.on_free_ports(
        tmp_path_factory.mktemp("dashboard-system"),
    )
    with local:
        yield local


def bearer(system: LocalSystem, agency: str, user: str = "analyst") -> dict[str, str]:
    token = issue_token(local_issuer(system.data_dir, agency), user, [])
    return {"Authorization": f"Bearer {token}"}


def call(system: LocalSystem, service: str, method: str, path: str, **kwargs: Any) -> Any:
    response = httpx.request(
        method,
        f"{system.services[service].url}{path}",
        headers=bearer(system, "kemnaker", "operator"),
        timeout=30,
        **kwargs,
    )
    assert response.status_code == 200, f"{service} {path}: {response.text}"
    return response.json()


def wait_for(check: Any, timeout_s: float = 60.0) -> Any:
    deadline = datetime.now(UTC) + timedelta(seconds=timeout_s)
    while True:
        found = check()
        if found:
            return found
        if datetime.now(UTC) > deadline:
            raise AssertionError("the dashboard did not catch up in time")
        time.sleep(0.5)


@pytest.fixture(scope="module")
def scenario(system: LocalSystem) -> dict[str, Any]:
    """Run the Kota Serang scenario, then let ten days pass after the first instalments fell due
    (financing's and the dashboard's clocks), so some loans are in arrears."""
    urls = {name: system.services[name].url for name in SCENARIO_SERVICES}
    summary = run_scenario(AGENCY, urls, local_issuers(system.data_dir), seed=7)
    assert summary.departed > 0 and summary.first_due_date is not None
    elsewhere = run_scenario("boyolali", urls, local_issuers(system.data_dir), seed=7)
    # One candidate still in training gives up: a drop-out the page must show.
    waiting = call(
        system, "training", "GET", "/candidates", params={"agency": AGENCY, "ready": False}
    )
    assert waiting, "the scenario should leave some candidates short of readiness"
    leaving = waiting[0]["candidate_id"]
    call(
        system,
        "registration",
        "POST",
        f"/candidates/{leaving}/withdrawal",
        json={"reason": "family"},
    )
    ten_days_late = summary.first_due_date + timedelta(days=10)
    later = datetime(ten_days_late.year, ten_days_late.month, ten_days_late.day, 12, tzinfo=UTC)
    for service in ("financing", "dashboard"):
        call(system, service, "PUT", "/clock", json={"now": later.isoformat()})
    return {"summary": summary, "elsewhere": elsewhere, "today": later.date()}


def dashboard_figures(system: LocalSystem, year: int) -> dict[str, Any]:
    response = httpx.get(
        f"{system.services['dashboard'].url}/api/funnel",
        params={"year": year},
        headers=bearer(system, AGENCY),
        timeout=30,
    )
    assert response.status_code == 200, response.text
    figures: dict[str, Any] = response.json()
    return figures


@pytest.fixture(scope="module")
def reported(system: LocalSystem, scenario: dict[str, Any]) -> dict[str, Any]:
    """What the services report, and the dashboard's figures once it has caught up with them."""
    summary = scenario["summary"]
    financing_buckets = {
        bucket: call(system, "financing", "GET", "/loans", params={"bucket": bucket})
        for bucket in ("1-30", "31-60", "61-90", "90+")
    }
    withdrawn = [
        candidate
        for candidate in (
            call(system, "registration", "GET", f"/candidates/{candidate_id}")
            for candidate_id in summary.candidate_ids
        )
        if candidate["status"] == "withdrawn"
    ]
    expected = {
        "withdrawn": len(withdrawn),
        "registered": summary.registered,
        "ready": summary.ready,
        "placed": summary.contracts,
        "departed": summary.departed,
        "arrears": {
            bucket: len([loan for loan in loans if loan["agency"] == AGENCY])
            for bucket, loans in financing_buckets.items()
        },
    }

    def caught_up() -> dict[str, Any] | None:
        this_year = scenario["today"].year
        for year in (this_year, this_year - 1, this_year - 2):
            figures = dashboard_figures(system, year)
            reached = {s["stage"]: s["reached"] for s in figures["stages"]}
            seen = {
                "withdrawn": sum(
                    d["count"] for d in figures["drop_outs"] if d["kind"] == "withdrawn"
                ),
                "registered": reached["registered"],
                "ready": reached["ready"],
                "placed": reached["placed"],
                "departed": reached["departed"],
                "arrears": {b["bucket"]: b["loans"] for b in figures["arrears"]["buckets"]},
            }
            if seen == expected:
                return figures
        return None

    figures = wait_for(caught_up)
    assert expected["arrears"]["1-30"] > 0, (
        "the scenario should leave some first instalments unpaid"
    )
    return {"expected": expected, "figures": figures}


@pytest.fixture(scope="module")
def browser(chromium: Path) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def signed_in(browser: Browser, system: LocalSystem, device: dict[str, Any], lang: str) -> Page:
    context = browser.new_context(**device)
    page = context.new_page()
    base = system.services["dashboard"].url
    page.goto(f"{base}/?lang={lang}")
    assert page.url.startswith(f"{base}/login"), "an anonymous visitor is sent to sign in"
    token = issue_token(local_issuer(system.data_dir, AGENCY), "officer-serang", [])
    page.fill("#token", token)
    page.click("button[type=submit]")
    page.wait_for_selector("#funnel")
    assert token not in page.url
    return page


def number(value: int, lang: str) -> str:
    text = f"{value:,}"
    return text.replace(",", ".") if lang == "id" else text


@pytest.mark.parametrize(
    ("device_name", "lang"), [("laptop", "en"), ("laptop", "id"), ("phone", "en"), ("phone", "id")]
)
def test_the_page_shows_what_the_services_report(
    browser: Browser,
    system: LocalSystem,
    reported: dict[str, Any],
    device_name: str,
    lang: str,
) -> None:
    device = LAPTOP if device_name == "laptop" else PHONE
    page = signed_in(browser, system, device, lang)
    year = reported["figures"]["scope"]["year"]
    page.goto(f"{system.services['dashboard'].url}/?lang={lang}&year={year}")

    expected = reported["expected"]
    shown = {
        stage: page.inner_text(f"[data-testid=reached-{stage}]")
        for stage in ("registered", "ready", "placed", "departed")
    }
    assert shown == {stage: number(expected[stage], lang) for stage in shown}
    assert page.inner_text("[data-testid=departed]") == number(expected["departed"], lang)
    assert page.inner_text("[data-testid=departures-target]") == number(100, lang)
    for bucket, loans in expected["arrears"].items():
        assert page.inner_text(f"[data-testid='arrears-{bucket}']") == number(loans, lang)
    assert page.inner_text("[data-testid=agency]") == AGENCY
    drop_out = {"en": "Withdrew: family", "id": "Mengundurkan diri: keluarga"}[lang]
    assert drop_out in page.inner_text("#drop-outs")
    assert page.locator("[data-testid=drop-out]").count() == expected["withdrawn"]

    heading = {"en": "Departures per month", "id": "Keberangkatan per bulan"}[lang]
    assert heading in page.inner_text("#target")
    assert page.get_attribute("html", "lang") == lang
    for service in SCENARIO_SERVICES:
        assert page.locator(f"a[href='{system.services[service].url}/docs']").count() == 1
    assert page.locator("a[href^='/asyncapi']").count() == 1
    if device_name == "phone":
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, "the page must fit a phone's width without sideways scrolling"
    assert not re.search(r"\b\d{16}\b", page.content()), "no NIK on the page"

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"dashboard-{device_name}-{lang}.png"), full_page=True)
    page.context.close()


def test_the_event_catalogue_is_linked_and_readable(browser: Browser, system: LocalSystem) -> None:
    page = browser.new_page()
    page.goto(f"{system.services['dashboard'].url}/asyncapi")
    assert "CandidateRegistered" in page.inner_text("main")
    assert "jembatan.*.training.daily-score.recorded.v1" in page.inner_text("main")
    page.close()


def test_jembatan_funnel_prints_the_dashboards_figures(
    system: LocalSystem, reported: dict[str, Any]
) -> None:
    year = reported["figures"]["scope"]["year"]
    token = issue_token(local_issuer(system.data_dir, AGENCY), "officer-serang", [])
    printed = CliRunner().invoke(
        cli,
        [
            "funnel",
            "--year",
            str(year),
            "--url",
            system.services["dashboard"].url,
            "--token",
            token,
        ],
    )
    assert printed.exit_code == 0, printed.output
    assert f"kota-serang, candidates registered in {year}" in printed.output
    registered = reported["expected"]["registered"]
    assert re.search(rf"registered\s+{registered}\s", printed.output), printed.output
    departed = reported["expected"]["departed"]
    assert f"Departures in {year}: {departed} of 100" in printed.output


def test_kemnaker_sees_every_agency_and_picks_one(
    browser: Browser, system: LocalSystem, scenario: dict[str, Any], reported: dict[str, Any]
) -> None:
    year = reported["figures"]["scope"]["year"]
    both = scenario["summary"].registered + scenario["elsewhere"].registered
    context = browser.new_context(**LAPTOP)
    page = context.new_page()
    base = system.services["dashboard"].url
    page.goto(f"{base}/login?lang=en")
    page.fill("#token", issue_token(local_issuer(system.data_dir, "kemnaker"), "analyst-pusat", []))
    page.click("button[type=submit]")
    page.goto(f"{base}/?lang=en&year={year}")

    def national_registered() -> bool:
        page.reload()
        return page.inner_text("[data-testid=reached-registered]") == number(both, "en")

    wait_for(national_registered)
    options = page.locator("select[name=agency] option").all_inner_texts()
    assert {"boyolali", AGENCY} <= set(options)
    assert page.locator("[data-testid=programme-row]").count() == 2
    assert page.inner_text("[data-testid=departures-target]") == number(10_000, "en")
    page.screenshot(path=str(ARTIFACTS / "dashboard-national-laptop-en.png"), full_page=True)

    page.select_option("select[name=agency]", "boyolali")
    page.click("form.filters button[type=submit]")
    page.wait_for_selector("#funnel")
    assert page.inner_text("[data-testid=reached-registered]") == number(
        scenario["elsewhere"].registered, "en"
    )
    context.close()
