"""What the console does with a form before a service sees it: numbers as operators type
them, the refused rows given back as a file, the placement step a button stands for."""

from __future__ import annotations

import base64
import csv
import io

from jembatan_console.placement import NEXT_STEPS, PATH, _step_call
from jembatan_console.registration import refused_rows_file
from jembatan_console.web import whole


def test_whole_numbers_as_operators_type_them() -> None:
    assert whole("1.000.000") == 1_000_000
    assert whole(" 180 000 ") == 180_000
    assert whole("60") == 60
    # Anything else goes to the service as typed, to be refused in its words.
    assert whole("-5") == "-5"
    assert whole("enam puluh") == "enam puluh"


def test_the_refused_rows_come_back_with_their_errors_to_fix() -> None:
    sent = (
        b"nik,full_name,birth_date\n"
        b"6471054506010003,Siti Aminah,2001-06-05\n"
        b"12345,Salah Ketik,2001-06-05\n"
    )
    rows = [
        {"line": 2, "status": "accepted"},
        {
            "line": 3,
            "status": "refused",
            "errors": [{"rule": "nik_structure", "message": "a NIK has 16 digits"}],
        },
    ]
    link = refused_rows_file(sent, rows)
    assert link is not None and link.startswith("data:text/csv;charset=utf-8;base64,")
    content = base64.b64decode(link.split(",", 1)[1]).decode()
    [row] = list(csv.DictReader(io.StringIO(content)))
    assert row["nik"] == "12345" and row["full_name"] == "Salah Ketik"
    assert row["errors"] == "nik_structure: a NIK has 16 digits"
    assert refused_rows_file(sent, rows[:1]) is None


def test_each_state_of_the_path_offers_placements_next_step() -> None:
    assert _step_call("interview_fail", "2026-12-01") == (
        "interview",
        {"passed": False, "interviewed_on": "2026-12-01"},
    )
    assert _step_call("departure", "2026-12-05") == (
        "departure",
        {"departure_date": "2026-12-05"},
    )
    assert _step_call("visa", None) == ("visa", {})
    assert _step_call("teleport", None) == (None, {})
    for state, steps in NEXT_STEPS.items():
        assert state in PATH
        assert all(_step_call(step, "2026-12-05")[0] is not None for step in steps)
    assert "departed" not in NEXT_STEPS  # the path ends there
