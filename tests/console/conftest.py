"""The console's browser tests drive Debian's Chromium (`jembatan_kit.testing.browser`) and
check every page with axe-core, vendored in vendor/axe.min.js from the npm registry's
axe-core package, pinned here by version and checksum."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from jembatan_kit.testing.browser import install_chromium

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
AXE_VERSION = "4.10.3"
AXE_SHA256 = "880970c081707360e64f34cea25ff91892f5bc95675b0776925b9709dd8a68bb"


@pytest.fixture(scope="session")
def chromium() -> Path:
    return install_chromium()


@pytest.fixture(scope="session")
def axe_source() -> str:
    content = AXE.read_bytes()
    digest = hashlib.sha256(content).hexdigest()
    assert digest == AXE_SHA256, (
        f"{AXE} is not axe-core {AXE_VERSION} as pinned (sha256 {digest}); restore it with"
        f" `npm pack axe-core@{AXE_VERSION}` and package/axe.min.js"
    )
    assert f"axe v{AXE_VERSION}" in content[:200].decode()
    return content.decode()
