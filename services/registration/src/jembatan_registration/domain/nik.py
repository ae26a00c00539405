"""The NIK (Nomor Induk Kependudukan): 16 digits `PP KK CC DDMMYY SSSS`.

PP province (official code table, shipped as data), KK regency (01-69 kabupaten, 71-99 kota),
CC district, DD day of birth (women: day + 40), MM month, YY year, SSSS serial 0001-9999.
There is no check digit. What cannot be a NIK is refused, naming the broken part; where a valid
NIK disagrees with what the candidate declares, that is only a warning: NIKs are never reissued,
so old errors persist and must not lock a person out.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources


@cache
def provinces() -> dict[str, str]:
    table = resources.files(__package__).joinpath("data/provinces.csv")
    with table.open(encoding="utf-8") as handle:
        return {row["code"]: row["name"] for row in csv.DictReader(handle)}


@dataclass(frozen=True)
class NikProblem:
    part: str
    message: str


@dataclass(frozen=True)
class ParsedNik:
    province_code: str
    province_name: str
    regency_code: str
    is_city: bool
    district_code: str
    birth_date: date
    female: bool
    serial: str

    @property
    def region_code(self) -> str:
        """Province and regency, e.g. 6471 for Kota Balikpapan."""
        return self.province_code + self.regency_code


def parse_nik(nik: str, today: date) -> ParsedNik | list[NikProblem]:
    """The NIK's parts, or every problem that makes it impossible."""
    if len(nik) != 16 or not nik.isascii() or not nik.isdigit():
        return [NikProblem("format", "NIK must be exactly 16 digits")]
    province, regency, district = nik[0:2], nik[2:4], nik[4:6]
    day, month, year, serial = int(nik[6:8]), int(nik[8:10]), int(nik[10:12]), nik[12:16]
    problems: list[NikProblem] = []
    if province not in provinces():
        problems.append(NikProblem("province", f"digits 1-2 ({province}) are not a province code"))
    if not (1 <= int(regency) <= 69 or 71 <= int(regency) <= 99):
        problems.append(
            NikProblem(
                "regency",
                f"digits 3-4 ({regency}) must be 01-69 (kabupaten) or 71-99 (kota)",
            )
        )
    if district == "00":
        problems.append(NikProblem("district", "digits 5-6 (district) cannot be 00"))
    female = day > 40
    birth = _birth_date(day - 40 if female else day, month, year, today)
    if birth is None:
        problems.append(
            NikProblem(
                "birth_date",
                f"digits 7-12 ({nik[6:12]}) are not a real date of birth "
                "(day 01-31 for men, 41-71 for women; month 01-12)",
            )
        )
    if serial == "0000":
        problems.append(NikProblem("serial", "digits 13-16 (serial) cannot be 0000"))
    if problems or birth is None:
        return problems
    return ParsedNik(
        province_code=province,
        province_name=provinces()[province],
        regency_code=regency,
        is_city=int(regency) >= 71,
        district_code=district,
        birth_date=birth,
        female=female,
        serial=serial,
    )


def _birth_date(day: int, month: int, two_digit_year: int, today: date) -> date | None:
    # The century is the one that does not put the birth in the future.
    year = 2000 + two_digit_year
    if year > today.year:
        year -= 100
    try:
        born = date(year, month, day)
    except ValueError:
        return None
    if born > today:
        try:
            return date(year - 100, month, day)
        except ValueError:
            return None
    return born


def mismatch_warnings(
    parsed: ParsedNik, birth_date: date, female: bool, region_code: str | None
) -> list[str]:
    """Where the NIK disagrees with the declaration: recorded, never a refusal."""
    warnings = []
    if parsed.birth_date != birth_date:
        warnings.append(
            f"NIK encodes birth date {parsed.birth_date.isoformat()}, "
            f"declared {birth_date.isoformat()}"
        )
    if parsed.female != female:
        encoded = "female" if parsed.female else "male"
        declared = "female" if female else "male"
        warnings.append(f"NIK encodes sex {encoded}, declared {declared}")
    if region_code and not region_code.startswith(parsed.province_code):
        warnings.append(
            f"NIK was issued in {parsed.province_name} ({parsed.region_code}), "
            f"declared region {region_code}"
        )
    elif region_code and len(region_code) >= 4 and region_code[:4] != parsed.region_code:
        warnings.append(
            f"NIK was issued in regency {parsed.region_code}, declared region {region_code}"
        )
    return warnings
