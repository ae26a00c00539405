"""The benchmark's candidates: distinct, valid registrations, and the CSV the registration
service's bulk upload takes."""

from __future__ import annotations

import csv
import io


def candidate_rows(count: int, first_district: int = 1, start: int = 0) -> list[dict[str, str]]:
    """Distinct, valid TITP candidates from Kalimantan Timur.

    NIK 64 71 <district> 150604 <serial>: district from `first_district`, serial 0001-9999;
    the first `start` candidates of that sequence left out."""
    rows = []
    for index in range(start, start + count):
        district, serial = divmod(index, 9999)
        nik = f"6471{first_district + district:02d}150604{serial + 1:04d}"
        rows.append(
            {
                "nik": nik,
                "full_name": f"Peserta {index + 1}",
                "birth_date": "2004-06-15",
                "sex": "M",
                "education": "SMK",
                "track": "TITP",
                "preferred_sector": "automotive",
            }
        )
    return rows


def to_csv(rows: list[dict[str, str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode()
