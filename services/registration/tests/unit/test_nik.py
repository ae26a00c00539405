"""NIK parsing: table-driven cases and properties over generated NIKs."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jembatan_registration.domain.nik import (
    NikProblem,
    ParsedNik,
    mismatch_warnings,
    parse_nik,
    provinces,
)

TODAY = date(2026, 11, 25)


def parsed(nik: str) -> ParsedNik:
    result = parse_nik(nik, TODAY)
    assert isinstance(result, ParsedNik), result
    return result


def problems(nik: str) -> list[str]:
    result = parse_nik(nik, TODAY)
    assert isinstance(result, list), f"{nik} should have been refused"
    return [problem.part for problem in result]


@pytest.mark.parametrize(
    ("nik", "born", "female", "region", "city"),
    [
        ("6471051506040001", date(2004, 6, 15), False, "6471", True),  # man, Kota Balikpapan
        ("6471055506040003", date(2004, 6, 15), True, "6471", True),  # woman: day + 40
        ("3309014101990002", date(1999, 1, 1), True, "3309", False),  # Kabupaten Boyolali
        ("3673017112980009", date(1998, 12, 31), True, "3673", True),  # Kota Serang, day 71
        ("6471052902040001", date(2004, 2, 29), False, "6471", True),  # leap day, 2004
        ("6471056902000001", date(2000, 2, 29), True, "6471", True),  # leap day, 2000
        ("9601010101250001", date(2025, 1, 1), False, "9601", False),  # newest province
    ],
)
def test_valid_niks_are_read_part_by_part(
    nik: str, born: date, female: bool, region: str, city: bool
) -> None:
    result = parsed(nik)
    assert (result.birth_date, result.female, result.region_code, result.is_city) == (
        born,
        female,
        region,
        city,
    )
    assert result.serial == nik[12:]


@pytest.mark.parametrize(
    ("nik", "broken"),
    [
        ("647105150604000", ["format"]),
        ("64710515060400011", ["format"]),
        ("6471O51506040001", ["format"]),
        ("".join(chr(ord(c) + 0xFEE0) for c in "6471051506040001"), ["format"]),  # full-width
        ("9971051506040001", ["province"]),
        ("1071051506040001", ["province"]),
        ("6400051506040001", ["regency"]),
        ("6470051506040001", ["regency"]),
        ("6471001506040001", ["district"]),
        ("6471053206040001", ["birth_date"]),  # day 32
        ("6471054006040001", ["birth_date"]),  # day 40: neither sex
        ("6471057206040001", ["birth_date"]),  # day 72: woman's 32nd
        ("6471051513040001", ["birth_date"]),  # month 13
        ("6471052902050001", ["birth_date"]),  # 29 Feb 2005
        ("6471053104040001", ["birth_date"]),  # 31 April
        ("6471051506040000", ["serial"]),
    ],
)
def test_each_broken_part_is_named(nik: str, broken: list[str]) -> None:
    assert problems(nik) == broken


def test_every_broken_part_is_reported_at_once() -> None:
    assert problems("9970003213050000") == [
        "province",
        "regency",
        "district",
        "birth_date",
        "serial",
    ]


def test_the_century_is_the_one_that_is_not_in_the_future() -> None:
    assert parsed("3201010101270001").birth_date == date(1927, 1, 1)
    assert parsed("3201012511260001").birth_date == date(2026, 11, 25)
    assert parsed("3201012611260001").birth_date == date(1926, 11, 26)


@pytest.mark.parametrize(
    ("declared_birth", "declared_female", "region", "expected"),
    [
        (date(2004, 6, 15), False, "6471", []),
        (
            date(2004, 6, 16),
            False,
            None,
            ["NIK encodes birth date 2004-06-15, declared 2004-06-16"],
        ),
        (date(2004, 6, 15), True, None, ["NIK encodes sex male, declared female"]),
        (
            date(2004, 6, 15),
            False,
            "3309",
            ["NIK was issued in Kalimantan Timur (6471), declared region 3309"],
        ),
        (
            date(2004, 6, 15),
            False,
            "6402",
            ["NIK was issued in regency 6471, declared region 6402"],
        ),
    ],
)
def test_disagreements_with_the_declaration_only_warn(
    declared_birth: date, declared_female: bool, region: str | None, expected: list[str]
) -> None:
    nik = parsed("6471051506040001")
    assert mismatch_warnings(nik, declared_birth, declared_female, region) == expected


# --- properties --------------------------------------------------------------------------------

birth_dates = st.dates(min_value=date(1927, 1, 1), max_value=TODAY)


@st.composite
def valid_niks(draw: st.DrawFn) -> tuple[str, date, bool]:
    province = draw(st.sampled_from(sorted(provinces())))
    regency = draw(st.one_of(st.integers(1, 69), st.integers(71, 99)))
    district = draw(st.integers(1, 99))
    born = draw(birth_dates)
    female = draw(st.booleans())
    serial = draw(st.integers(1, 9999))
    day = born.day + (40 if female else 0)
    nik = f"{province}{regency:02d}{district:02d}{day:02d}{born:%m%y}{serial:04d}"
    return nik, born, female


@given(valid_niks())
def test_a_generated_valid_nik_always_passes(case: tuple[str, date, bool]) -> None:
    nik, born, female = case
    result = parse_nik(nik, TODAY)
    assert isinstance(result, ParsedNik)
    assert (result.birth_date, result.female) == (born, female)


@settings(max_examples=300)
@given(valid_niks(), st.integers(6, 11), st.integers(0, 9))
def test_no_single_digit_change_in_the_date_yields_a_silent_wrong_date(
    case: tuple[str, date, bool], position: int, digit: int
) -> None:
    nik, born, female = case
    changed = nik[:position] + str(digit) + nik[position + 1 :]
    result = parse_nik(changed, TODAY)
    if changed == nik:
        assert isinstance(result, ParsedNik)
        return
    if isinstance(result, list):
        assert [p.part for p in result] == ["birth_date"]
        assert all(isinstance(p, NikProblem) for p in result)
        return
    # Still a real date: then it must be exactly what the new digits say, never a silent
    # reinterpretation, and it must differ from the original reading.
    assert (result.birth_date, result.female) != (born, female)
    day = int(changed[6:8])
    assert result.female == (day > 40)
    assert result.birth_date.day == (day - 40 if day > 40 else day)
    assert result.birth_date.month == int(changed[8:10])
    assert result.birth_date.year % 100 == int(changed[10:12])
    assert result.birth_date <= TODAY


def test_tomorrow_is_never_a_birth_date() -> None:
    tomorrow = TODAY + timedelta(days=1)
    result = parsed(f"320101{tomorrow:%d%m%y}0001")
    assert result.birth_date == tomorrow.replace(year=tomorrow.year - 100)
