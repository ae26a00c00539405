"""What a scenario sends: registrations (one by one or as a labour office's CSV) and the test
centre's results file."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from datetime import date

from .calendar import Calendar
from .definitions import Scenario
from .roster import Applicant

JLPT_ISSUER = "Japan Foundation"
SKILL_TEST_ISSUER = "Prometric (SSW sector skill test)"
NURSING_CARE_ISSUER = "Japan Foundation (nursing-care Japanese)"
CAREGIVER = "caregiver"
ROWS_PER_FILE = 5000
"""Files are sent in parts below the services' bulk limit (10,000 rows)."""

REGISTRATION_COLUMNS = (
    "nik",
    "full_name",
    "birth_date",
    "sex",
    "education",
    "track",
    "preferred_sector",
    "phone",
    "region_code",
    "selection_date",
)
RESULT_COLUMNS = ("candidate_id", "test", "issuer", "taken_on", "level", "sector", "passed")


def registration_body(
    applicant: Applicant, scenario: Scenario, agency: str, calendar: Calendar
) -> dict[str, str]:
    person = applicant.person
    return {
        "agency": agency,
        "nik": person.nik,
        "full_name": person.full_name,
        "birth_date": str(person.birth_date),
        "sex": person.sex,
        "education": applicant.education,
        "track": scenario.track,
        "preferred_sector": applicant.preferred_sector,
        "phone": person.phone,
        "region_code": person.region_code,
        "selection_date": str(calendar.registered_on),
    }


def registration_csv(roster: list[Applicant], scenario: Scenario, calendar: Calendar) -> str:
    rows = [registration_body(a, scenario, scenario.agency, calendar) for a in roster]
    return write_csv(REGISTRATION_COLUMNS, rows)


def results_rows(
    applicants: Mapping[str, Applicant], scenario: Scenario, taken_on: date
) -> list[dict[str, str]]:
    rows = []
    for candidate_id, applicant in applicants.items():
        common = {"candidate_id": candidate_id, "taken_on": str(taken_on)}
        rows.append(
            common | {"test": "JLPT", "issuer": JLPT_ISSUER, "level": applicant.japanese_level}
        )
        if scenario.track == "SSW":
            passed = "true" if applicant.passes_skill_test else "false"
            rows.append(
                common
                | {
                    "test": "SSW_SKILL",
                    "issuer": SKILL_TEST_ISSUER,
                    "sector": applicant.sector,
                    "passed": passed,
                }
            )
            if applicant.sector == CAREGIVER:
                rows.append(
                    common
                    | {
                        "test": "NURSING_CARE_JAPANESE",
                        "issuer": NURSING_CARE_ISSUER,
                        "passed": passed,
                    }
                )
    return rows


def write_csv(columns: tuple[str, ...], rows: list[dict[str, str]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()
