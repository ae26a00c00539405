"""Eligibility by track on the selection date, with effective-dated rule sets."""

from __future__ import annotations

import tomllib
from datetime import date

import pytest

from jembatan_contracts import Track
from jembatan_registration.domain.eligibility import (
    age_in_months,
    check_eligibility,
    parse_rule_sets,
    rule_set_on,
    shipped_rule_sets,
)

SELECTION = date(2026, 11, 25)


def failed(**overrides: object) -> list[str]:
    values: dict[str, object] = {
        "track": Track.TITP,
        "birth_date": date(2004, 6, 15),
        "education": "SMK",
        "sector": "automotive",
        "selection_date": SELECTION,
    }
    values.update(overrides)
    return [check.rule for check in check_eligibility(**values) if not check.passed]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("birth_date", "education", "refused"),
    [
        (date(2008, 11, 25), "SMK", []),  # 18 today
        (date(2008, 11, 26), "SMK", ["minimum_age"]),  # 18 tomorrow
        (date(2007, 5, 25), "SMA", []),  # exactly 19 years 6 months
        (date(2007, 5, 26), "SMA", ["minimum_age"]),  # a day short of 19.5
        (date(2007, 5, 26), "SMK", []),  # SMK graduates need only 18
        (date(1999, 11, 26), "SMK", []),  # the last day of age 26
        (date(1999, 11, 25), "SMK", ["maximum_age"]),  # 27 today
    ],
)
def test_titp_age_limits_on_the_selection_date(
    birth_date: date, education: str, refused: list[str]
) -> None:
    assert failed(birth_date=birth_date, education=education) == refused


@pytest.mark.parametrize(
    ("birth_date", "refused"),
    [(date(2008, 11, 25), []), (date(2008, 11, 26), ["minimum_age"]), (date(1980, 1, 1), [])],
)
def test_ssw_needs_18_and_has_no_upper_age(birth_date: date, refused: list[str]) -> None:
    assert failed(track=Track.SSW, birth_date=birth_date) == refused


def test_education_and_sector_must_fit_the_track() -> None:
    assert failed(education="SMP") == ["education"]
    assert failed(track=Track.SSW, sector="railway") == []
    assert failed(track=Track.TITP, sector="railway") == ["sector_for_track"]


def test_a_refusal_explains_itself() -> None:
    checks = check_eligibility(Track.TITP, date(2007, 5, 26), "SMA", "automotive", SELECTION)
    age = next(check for check in checks if check.rule == "minimum_age")
    assert age.message == (
        "TITP candidates with SMA education must be at least 19 years 6 months old on the "
        "selection date 2026-11-25 (rules 2019-04); the candidate is 19 years 5 months"
    )


def test_age_in_months_counts_whole_months() -> None:
    assert age_in_months(date(2000, 1, 31), date(2000, 2, 29)) == 0
    assert age_in_months(date(2000, 1, 31), date(2000, 3, 31)) == 2
    assert age_in_months(date(2000, 2, 29), date(2001, 2, 28)) == 11


NEXT_SYSTEM = """
[[rule_set]]
id = "2019-04"
title = "until the new system"
valid_from = 2019-04-01
valid_to = 2027-03-31
[rule_set.tracks.TITP]
min_age_years = 18.0
max_age_years = 26.0
education = ["SMK"]
sectors = ["automotive"]

[[rule_set]]
id = "2027-04"
title = "employment for skill development"
valid_from = 2027-04-01
[rule_set.tracks.TITP]
min_age_years = 18.0
max_age_years = 30.0
education = ["SMK"]
sectors = ["automotive"]
"""


def test_an_effective_dated_rule_set_switches_on_its_first_day() -> None:
    rule_sets = tuple(parse_rule_sets(tomllib.loads(NEXT_SYSTEM)))
    born = date(1999, 1, 1)  # 28 in 2027
    before = check_eligibility(Track.TITP, born, "SMK", "automotive", date(2027, 3, 31), rule_sets)
    after = check_eligibility(Track.TITP, born, "SMK", "automotive", date(2027, 4, 1), rule_sets)
    assert [c.rule for c in before if not c.passed] == ["maximum_age"]
    assert [c.rule for c in after if not c.passed] == []
    assert rule_set_on(date(2027, 4, 1), rule_sets).id == "2027-04"  # type: ignore[union-attr]


def test_no_rule_set_in_force_refuses_with_a_reason() -> None:
    checks = check_eligibility(Track.SSW, date(2000, 1, 1), "SMK", "caregiver", date(2018, 1, 1))
    assert [(c.rule, c.passed) for c in checks] == [("track_open", False)]


def test_the_shipped_rules_cover_both_tracks_today() -> None:
    in_force = rule_set_on(SELECTION, shipped_rule_sets())
    assert in_force is not None and set(in_force.tracks) == {Track.TITP, Track.SSW}
