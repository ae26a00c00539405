"""The dashboard's browser test drives Debian's Chromium (`jembatan_kit.testing.browser`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from jembatan_kit.testing.browser import install_chromium


@pytest.fixture(scope="session")
def chromium() -> Path:
    return install_chromium()
