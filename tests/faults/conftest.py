"""The fault suite: the whole system as real processes, journeys through the HTTP APIs, a fault
injected and recovered, then `jembatan check`. Select it with `-m faults`; its shared harness is
bench/chaos.py (the soak's too)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))  # chaos.py, and the benchmark package whose driver it uses


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "faults: the fault suite (kills, outages, poison messages; minutes on 2 cores)"
    )
