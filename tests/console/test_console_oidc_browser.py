"""Sign-in at the agency's own OpenID Connect provider in a real browser (Debian's Chromium):
the console served on `localhost`, the provider on `127.0.0.1`, so the provider's redirect back
is a navigation from another site, as it is in a deployment. The flow's state must come back
with it (its cookie is SameSite=Lax; the session's Strict cookie would not), and the operator
lands on the console signed in with the provider's roles. axe-core checks the console's sign-in
page; its screenshot is kept in test-artifacts/console/."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, expect, sync_playwright

from jembatan_console.app import build_app
from jembatan_console.config import ConsoleSettings
from jembatan_kit.issuers import LocalIssuer, trust_list_of, write_trust_file
from jembatan_kit.nats_server import free_ports
from jembatan_kit.testing.browser import CHROMIUM_ARGS
from jembatan_kit.testing.oidc import Provider

from .browsing import LAPTOP, accessible

pytestmark = pytest.mark.e2e

PASSWORD = "kata-sandi-penyedia"


@pytest.fixture(scope="module")
def console_port() -> int:
    return free_ports(1)[0]


@pytest.fixture(scope="module")
def provider(console_port: int) -> Iterator[Provider]:
    running = Provider(agency="kaltim", audience="jembatan")
    running.add_account("sari", PASSWORD, "Sari Dewi", ["registrar", "trainer"])
    running.add_client("jembatan-console", f"http://localhost:{console_port}/login/oidc/callback")
    with running.running():
        yield running


@pytest.fixture(scope="module")
def console(
    provider: Provider, console_port: int, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """Kalimantan Timur's console signing in at its provider, served by uvicorn."""
    folder = tmp_path_factory.mktemp("console-oidc")
    trust = trust_list_of([LocalIssuer.generate("kemnaker")], [provider.trust_entry()])
    write_trust_file(folder / "trust.json", trust)
    closed = free_ports(1)[0]
    settings = ConsoleSettings(
        console_agency="kaltim",
        console_oidc_issuer=provider.issuer,
        auth_trust_file=folder / "trust.json",
        console_issuer_file=folder / "no-such-key.json",
        console_operators_file=folder / "no-operators.json",
        console_secret_file=folder / "secret",
        service_urls={
            name: f"http://127.0.0.1:{closed}"
            for name in ("registration", "training", "placement", "financing")
        },
    )
    server = uvicorn.Server(
        uvicorn.Config(
            build_app(settings), host="127.0.0.1", port=console_port, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the console did not start"
        time.sleep(0.05)
    yield f"http://localhost:{console_port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser(chromium: Path) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def test_an_operator_signs_in_at_the_agencys_provider_and_comes_back_signed_in(
    browser: Browser, console: str, provider: Provider, axe_source: str
) -> None:
    context = browser.new_context(base_url=console, **LAPTOP)
    page = context.new_page()
    page.goto("/candidates")
    expect(page).to_have_url(re.compile(r"/login\?next=/candidates"))
    expect(page.get_by_label("Kata sandi")).to_have_count(0)
    accessible(page, axe_source, "00-masuk-lewat-penyedia")

    page.get_by_role("link", name="Masuk lewat akun lembaga").click()
    expect(page).to_have_url(re.compile(re.escape(provider.issuer)))
    page.get_by_label("Username").fill("sari")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    expect(page).to_have_url(re.compile(re.escape(console) + "/candidates"))
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Selamat datang, Sari Dewi")
    navigation = page.get_by_role("navigation", name="Menu utama")
    expect(navigation.locator('a[href="/registration"]')).to_be_visible()
    expect(navigation.locator('a[href="/training"]')).to_be_visible()
    expect(navigation.locator('a[href="/loans"]')).to_have_count(0)
    context.close()
