import uuid
from datetime import date

import pytest

from jembatan_contracts import TestKind as ExamKind  # aliased: pytest collects Test* names
from jembatan_kit.csv_files import RowError, read_rows
from jembatan_kit.errors import RuleViolation
from jembatan_training.entrypoints.results_csv import (
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    row_to_command,
)

CANDIDATE = "3f1c8a52-8a7e-4c1e-9d7e-2f8a1b0c4d5e"


def row(**fields: str) -> dict[str, str]:
    base = {
        "candidate_id": CANDIDATE,
        "test": "JFT-Basic",
        "level": "",
        "score": "215",
        "sector": "",
        "issuer": "Japan Foundation",
        "taken_on": "2026-06-07",
        "passed": "",
    }
    return base | fields


def test_a_row_becomes_the_single_result_command() -> None:
    command = row_to_command(row())
    assert command.candidate_id == uuid.UUID(CANDIDATE)
    assert (command.result.test, command.result.score, command.result.taken_on) == (
        ExamKind.JFT_BASIC,
        215,
        date(2026, 6, 7),
    )
    skill = row_to_command(row(test="ssw_skill", score="", sector="caregiver", passed="Lulus"))
    assert (skill.result.test, skill.result.sector, skill.result.passed) == (
        ExamKind.SSW_SKILL,
        "caregiver",
        True,
    )


@pytest.mark.parametrize(
    ("fields", "column"),
    [
        ({"candidate_id": "12"}, "candidate_id"),
        ({"test": "TOEFL"}, "test"),
        ({"taken_on": "07/06/2026"}, "taken_on"),
        ({"score": "two hundred"}, "score"),
        ({"passed": "maybe"}, "passed"),
        ({"issuer": ""}, "issuer"),
    ],
)
def test_a_bad_cell_names_its_column(fields: dict[str, str], column: str) -> None:
    with pytest.raises(RowError) as error:
        row_to_command(row(**fields))
    assert error.value.column == column


def test_the_file_may_use_semicolons_and_skips_blank_lines() -> None:
    content = (
        "candidate_id;test;issuer;taken_on;level\n\n" + f"{CANDIDATE};JLPT;JEES;2026-07-05;N4\n"
    )
    assert read_rows(content.encode(), REQUIRED_COLUMNS, OPTIONAL_COLUMNS) == [
        {
            "candidate_id": CANDIDATE,
            "test": "JLPT",
            "issuer": "JEES",
            "taken_on": "2026-07-05",
            "level": "N4",
        }
    ]


def test_a_file_without_the_required_columns_is_refused_whole() -> None:
    with pytest.raises(RuleViolation) as refused:
        read_rows(b"candidate,test\nx,JLPT\n", REQUIRED_COLUMNS, OPTIONAL_COLUMNS)
    assert refused.value.rule == "bulk_header"
    assert "candidate_id" in refused.value.message
