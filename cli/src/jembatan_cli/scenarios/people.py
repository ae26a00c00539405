"""Synthetic people for scenarios: valid NIKs for the agency's region, birth dates that agree
with the NIK and the track's age rules, Indonesian-style names built from parts, and phone
numbers in the toll-free 0800 range, which is never a subscriber's mobile number.

The names join a common given name to a family name assembled from syllables, so they read as
Indonesian but belong to nobody in particular. Serial numbers start at 9000, far above what a
civil registry office issues in a district on one birth date.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from .definitions import Region

GIVEN_NAMES_MALE = (
    "Agus", "Ahmad", "Andi", "Arif", "Bayu", "Budi", "Dedi", "Eko", "Fajar", "Hendra", "Irfan",
    "Joko", "Kurniawan", "Muhammad", "Rizky", "Sigit", "Teguh", "Wahyu", "Yoga", "Yusuf",
)  # fmt: skip
GIVEN_NAMES_FEMALE = (
    "Anisa", "Ayu", "Dewi", "Fitri", "Indah", "Intan", "Lestari", "Maya", "Nur", "Putri",
    "Ratna", "Rina", "Sari", "Siti", "Sri", "Tika", "Wulan", "Yuni", "Zahra", "Nabila",
)  # fmt: skip
FAMILY_NAME_HEADS = ("Wira", "Suka", "Cahya", "Bumi", "Dharma", "Kusuma", "Adi", "Surya", "Tirta")
FAMILY_NAME_TAILS = ("karta", "wijaya", "dinata", "pranata", "sasmita", "laksana", "harja", "mulya")

SERIAL_FLOOR = 9000
TOLL_FREE_PREFIX = "+62800"


@dataclass(frozen=True)
class Person:
    nik: str
    full_name: str
    birth_date: date
    sex: str
    region_code: str
    phone: str


def birth_date_for_age(rng: random.Random, on: date, min_years: float, max_years: float) -> date:
    """A birth date that makes the person between min_years and max_years old on `on`."""
    youngest = on - timedelta(days=int(min_years * 365.25) + 2)
    oldest = on - timedelta(days=int(max_years * 365.25) - 2)
    return oldest + timedelta(days=rng.randint(0, max((youngest - oldest).days, 0)))


def make_nik(region: Region, district: int, birth_date: date, female: bool, serial: int) -> str:
    day = birth_date.day + (40 if female else 0)
    return (
        f"{region.code}{district:02d}"
        f"{day:02d}{birth_date.month:02d}{birth_date.year % 100:02d}{serial:04d}"
    )


def make_name(rng: random.Random, female: bool) -> str:
    given = rng.choice(GIVEN_NAMES_FEMALE if female else GIVEN_NAMES_MALE)
    return f"{given} {rng.choice(FAMILY_NAME_HEADS)}{rng.choice(FAMILY_NAME_TAILS)}"


def make_person(
    rng: random.Random,
    regions: tuple[Region, ...],
    on: date,
    min_years: float,
    max_years: float,
    female_share: float,
) -> Person:
    region = rng.choice(regions)
    female = rng.random() < female_share
    born = birth_date_for_age(rng, on, min_years, max_years)
    serial = rng.randint(SERIAL_FLOOR, 9999)
    return Person(
        nik=make_nik(region, rng.randint(1, region.districts), born, female, serial),
        full_name=make_name(rng, female),
        birth_date=born,
        sex="F" if female else "M",
        region_code=region.code,
        phone=f"{TOLL_FREE_PREFIX}{rng.randint(0, 99_999_999):08d}",
    )
