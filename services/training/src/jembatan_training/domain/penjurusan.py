"""Penjurusan: steering a candidate to the training sector that fits ability and interest.
Pure: no I/O. Every change keeps its reason, so the history explains the current sector."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from .certificates import normalise_sector
from .rules import RuleCheck, refuse_unless

SECTOR_CODE = re.compile(r"^[a-z][a-z0-9_-]{1,39}$")
REGISTERED_REASON = "preferred sector at registration"


@dataclass(frozen=True)
class SectorChange:
    previous_sector: str | None
    sector: str
    reason: str
    changed_at: datetime


def change_sector(current: str, sector: str, reason: str, now: datetime) -> SectorChange:
    """Assign `sector` in place of `current`; raise `Refused` when the change makes no sense."""
    sector = normalise_sector(sector)
    reason = reason.strip()
    refuse_unless(
        [
            RuleCheck(
                "sector_code",
                bool(SECTOR_CODE.match(sector)),
                f"the sector must be a code of lowercase letters, digits, '-' or '_', "
                f"e.g. caregiver (got {sector!r})",
            ),
            RuleCheck(
                "sector_change_reason",
                bool(reason),
                "say why the candidate is steered to this sector (reason must not be empty)",
            ),
            RuleCheck(
                "sector_unchanged",
                sector != normalise_sector(current),
                f"the candidate already trains for {sector}",
            ),
        ]
    )
    return SectorChange(normalise_sector(current), sector, reason, now)


def sector_history(
    current: str, enrolled_at: datetime, changes: list[SectorChange]
) -> list[SectorChange]:
    """The registration's preferred sector first, then every change in the order it was made."""
    ordered = sorted(changes, key=lambda change: change.changed_at)
    registered = ordered[0].previous_sector if ordered else current
    start = SectorChange(None, registered or current, REGISTERED_REASON, enrolled_at)
    return [start, *ordered]
