from datetime import UTC, datetime

import pytest

from jembatan_training.domain.penjurusan import (
    REGISTERED_REASON,
    SectorChange,
    change_sector,
    sector_history,
)
from jembatan_training.domain.rules import Refused

ENROLLED = datetime(2026, 1, 12, 8, tzinfo=UTC)
MARCH = datetime(2026, 3, 2, 9, tzinfo=UTC)
APRIL = datetime(2026, 4, 6, 9, tzinfo=UTC)


def refused_rules(current: str, sector: str, reason: str) -> list[str]:
    with pytest.raises(Refused) as refused:
        change_sector(current, sector, reason, MARCH)
    return [check.rule for check in refused.value.failures]


def test_a_change_keeps_the_previous_sector_and_the_reason() -> None:
    change = change_sector("automotive", " Agriculture ", " good with machines ", MARCH)
    assert change == SectorChange("automotive", "agriculture", "good with machines", MARCH)


def test_a_change_needs_a_reason_a_sector_code_and_a_new_sector() -> None:
    assert refused_rules("automotive", "agriculture", "  ") == ["sector_change_reason"]
    assert refused_rules("automotive", "Automotive", "confirmed") == ["sector_unchanged"]
    assert refused_rules("automotive", "food service!", "") == [
        "sector_code",
        "sector_change_reason",
    ]


def test_history_starts_with_the_registrations_sector_and_lists_changes_in_order() -> None:
    to_caregiver = SectorChange("automotive", "caregiver", "interest in care work", MARCH)
    to_agriculture = SectorChange("caregiver", "agriculture", "practical scores", APRIL)
    history = sector_history("agriculture", ENROLLED, [to_agriculture, to_caregiver])
    assert [(h.previous_sector, h.sector, h.reason) for h in history] == [
        (None, "automotive", REGISTERED_REASON),
        ("automotive", "caregiver", "interest in care work"),
        ("caregiver", "agriculture", "practical scores"),
    ]
    assert history[0].changed_at == ENROLLED


def test_without_changes_the_history_is_the_registrations_sector() -> None:
    assert sector_history("automotive", ENROLLED, []) == [
        SectorChange(None, "automotive", REGISTERED_REASON, ENROLLED)
    ]
