from datetime import date

import pytest

from jembatan_training.domain.cohorts import CreateCohort, Mode, Stage, check_cohort, seats_left
from jembatan_training.domain.rules import Refused

SAMARINDA = Stage("BPVP Samarinda", date(2026, 1, 5), date(2026, 4, 3))
BEKASI = Stage("BBPVP Bekasi", date(2026, 4, 6), date(2026, 7, 3))


def cohort(*stages: Stage, capacity: int = 16) -> CreateCohort:
    return CreateCohort(
        "kaltim", "BPVP Samarinda", "Kelas Jepang A", Mode.OFFLINE, list(stages), capacity
    )


def refused_rules(command: CreateCohort) -> list[str]:
    with pytest.raises(Refused) as refused:
        check_cohort(command)
    return [check.rule for check in refused.value.failures]


def test_three_months_at_samarinda_then_three_at_bekasi_is_a_cohort() -> None:
    check_cohort(cohort(SAMARINDA, BEKASI))
    assert cohort(SAMARINDA).capacity == 16


def test_stages_come_in_order_without_overlap() -> None:
    assert refused_rules(cohort(BEKASI, SAMARINDA)) == ["stages_in_order"]
    overlapping = Stage("BBPVP Bekasi", date(2026, 4, 3), date(2026, 7, 3))
    assert refused_rules(cohort(SAMARINDA, overlapping)) == ["stages_in_order"]
    next_day = Stage("BBPVP Bekasi", date(2026, 4, 4), date(2026, 7, 3))
    check_cohort(cohort(SAMARINDA, next_day))


def test_a_stage_ends_after_it_starts_and_names_its_centre() -> None:
    backwards = Stage(" ", date(2026, 4, 3), date(2026, 1, 5))
    assert refused_rules(cohort(backwards)) == ["stage_centre_present", "stage_dates"]
    one_day = Stage("LPK KJS", date(2026, 1, 5), date(2026, 1, 5))
    check_cohort(cohort(one_day))


def test_a_cohort_needs_a_stage_and_a_seat() -> None:
    assert refused_rules(cohort(capacity=0)) == ["cohort_capacity", "cohort_stages_present"]


@pytest.mark.parametrize(("capacity", "members", "left"), [(16, 0, 16), (16, 15, 1), (16, 16, 0)])
def test_seats_left(capacity: int, members: int, left: int) -> None:
    assert seats_left(capacity, members) == left
