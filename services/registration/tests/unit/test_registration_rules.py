from datetime import date

import pytest

from jembatan_contracts import Track
from jembatan_registration.domain.model import RegisterCandidate, Sex, decide, mask_nik

TODAY = date(2026, 11, 25)


def command(**overrides: object) -> RegisterCandidate:
    values: dict[str, object] = {
        "agency": "kaltim",
        "nik": "6471055506040003",
        "full_name": "Siti Rahmawati",
        "birth_date": date(2004, 6, 15),
        "sex": Sex.FEMALE,
        "education": "SMK",
        "track": Track.TITP,
        "preferred_sector": "caregiver",
    }
    values.update(overrides)
    return RegisterCandidate(**values)  # type: ignore[arg-type]


def test_a_complete_registration_is_accepted_with_every_rule_listed() -> None:
    decision = decide(command(), TODAY)
    assert decision.accepted and decision.warnings == []
    assert [check.rule for check in decision.checks] == [
        "nik_valid",
        "name_present",
        "minimum_age",
        "maximum_age",
        "education",
        "sector_for_track",
    ]
    assert decision.rule_set == "2019-04"


def test_a_broken_nik_names_its_part_and_other_rules_still_run() -> None:
    decision = decide(command(nik="6471053206040003", full_name=" "), TODAY)
    assert [check.rule for check in decision.failures] == ["nik_birth_date", "name_present"]
    assert "digits 7-12 (320604) are not a real date of birth" in decision.refusal


@pytest.mark.parametrize(
    ("overrides", "warning"),
    [
        ({"sex": Sex.MALE}, "NIK encodes sex female, declared male"),
        (
            {"birth_date": date(2004, 6, 16)},
            "NIK encodes birth date 2004-06-15, declared 2004-06-16",
        ),
        (
            {"region_code": "3673"},
            "NIK was issued in Kalimantan Timur (6471), declared region 3673",
        ),
    ],
)
def test_a_nik_that_disagrees_with_the_declaration_is_accepted_with_a_warning(
    overrides: dict[str, object], warning: str
) -> None:
    decision = decide(command(**overrides), TODAY)
    assert decision.accepted
    assert decision.warnings == [warning]


def test_eligibility_is_judged_on_the_selection_date() -> None:
    too_young_today = command(birth_date=date(2008, 12, 1), nik="6471054112080003")
    assert [c.rule for c in decide(too_young_today, TODAY).failures] == ["minimum_age"]
    later = command(
        birth_date=date(2008, 12, 1), nik="6471054112080003", selection_date=date(2026, 12, 1)
    )
    assert decide(later, TODAY).accepted


def test_nik_is_masked_to_its_region() -> None:
    assert mask_nik("6471054506040003") == "6471************"
    assert mask_nik("6471********0003") == "6471************", "older stored masks re-mask"
