from dataclasses import replace
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


def test_eligibility_is_judged_on_a_selection_date_in_the_window() -> None:
    # 27 today, 26 on a selection 24 days back.
    too_old_today = command(birth_date=date(1999, 11, 10), nik="6471051011990003", sex=Sex.MALE)
    assert [c.rule for c in decide(too_old_today, TODAY).failures] == ["maximum_age"]
    selected_earlier = replace(too_old_today, selection_date=date(2026, 11, 1))
    decision = decide(selected_earlier, TODAY)
    assert decision.accepted
    assert "selection_date_window" in [check.rule for check in decision.checks]


@pytest.mark.parametrize(
    ("selection_date", "finding"),
    [
        (date(2026, 12, 1), "it is 2026-12-01, 6 days in the future"),
        (date(2026, 8, 26), "it is 2026-08-26, 91 days back"),
        (date(2019, 6, 1), "it is 2019-06-01, 2734 days back"),
    ],
)
def test_a_selection_date_outside_the_window_is_refused_naming_the_limits(
    selection_date: date, finding: str
) -> None:
    decision = decide(command(selection_date=selection_date), TODAY)
    [window] = decision.failures
    assert window.rule == "selection_date_window"
    assert window.requirement == (
        "the selection date must be from 2026-08-27 to today (2026-11-25): never in the "
        "future, at most 90 days back (window since 2019-04-01)"
    )
    assert window.finding == finding
    # Eligibility is not judged on a date that may not be used.
    assert "minimum_age" not in [check.rule for check in decision.checks]


@pytest.mark.parametrize("selection_date", [date(2026, 8, 27), TODAY])
def test_the_window_holds_its_first_and_last_day(selection_date: date) -> None:
    assert decide(command(selection_date=selection_date), TODAY).accepted


def test_an_age_limit_cannot_be_met_by_naming_a_date_far_off() -> None:
    """The auditor's cases: a 30-year-old for TITP selected "in 2019", a 16-year-old for SSW
    selected "in 2030"."""
    thirty = command(
        nik="6471051005960003",
        sex=Sex.MALE,
        birth_date=date(1996, 5, 10),
        selection_date=date(2019, 6, 1),
    )
    sixteen = command(
        nik="6471055005100003",
        birth_date=date(2010, 5, 10),
        track=Track.SSW,
        selection_date=date(2030, 6, 1),
    )
    for too_far in (thirty, sixteen):
        assert [c.rule for c in decide(too_far, TODAY).failures] == ["selection_date_window"]
        judged_today = replace(too_far, selection_date=None)
        assert [c.rule for c in decide(judged_today, TODAY).failures] in (
            ["maximum_age"],
            ["minimum_age"],
        )


def test_a_recorded_judging_date_is_not_held_to_the_window() -> None:
    """A correction is judged again on the date its registration was judged on, however long
    ago: that date was recorded by the system, not named by the caller."""
    registered_long_ago = command(selection_date=date(2024, 1, 10))
    assert decide(registered_long_ago, TODAY, judged_on=date(2024, 1, 10)).accepted


def test_nik_is_masked_to_its_region() -> None:
    assert mask_nik("6471054506040003") == "6471************"
    assert mask_nik("6471********0003") == "6471************", "older stored masks re-mask"
