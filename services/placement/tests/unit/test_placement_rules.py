import uuid
from datetime import date

import pytest

from jembatan_contracts import Track
from jembatan_kit.errors import RuleViolation
from jembatan_placement.domain.matching import ensure_fits
from jembatan_placement.domain.model import (
    JobOrder,
    JobOrderStatus,
    OpenJobOrder,
    ReadyCandidate,
    check_job_order,
    ensure_can_close,
    ensure_open_for_candidates,
    order_status,
)


def job_order_command(**overrides: object) -> OpenJobOrder:
    values: dict[str, object] = {
        "employer": "Sakura Kaigo K.K.",
        "supervising_organisation": "IM Japan",
        "prefecture": "Aichi",
        "sector": "caregiver",
        "track": Track.TITP,
        "slots": 3,
        "monthly_wage_jpy": 180_000,
        "contract_months": 36,
    }
    values.update(overrides)
    return OpenJobOrder(**values)  # type: ignore[arg-type]


def candidate(sector: str = "caregiver", track: Track = Track.TITP) -> ReadyCandidate:
    return ReadyCandidate(
        candidate_id=uuid.uuid4(),
        journey_id=uuid.uuid4(),
        agency="kaltim",
        track=track,
        sector=sector,
        language_level="N4",
        ready_on=date(2026, 11, 1),
    )


def order(
    sector: str = "caregiver",
    track: Track = Track.TITP,
    slots: int = 2,
    filled: int = 0,
    closed: bool = False,
) -> JobOrder:
    return JobOrder(
        id=uuid.uuid4(),
        sector=sector,
        track=track,
        slots=slots,
        filled=filled,
        contract_months=36,
        closed=closed,
    )


def refusal_of(ready: ReadyCandidate, job_order: JobOrder) -> RuleViolation:
    with pytest.raises(RuleViolation) as refused:
        ensure_fits(ready, job_order)
        ensure_open_for_candidates(job_order)
    return refused.value


def test_a_complete_job_order_is_accepted() -> None:
    assert check_job_order(job_order_command()).accepted


@pytest.mark.parametrize(
    ("field", "value", "rule"),
    [
        ("slots", 0, "slots_positive"),
        ("slots", -1, "slots_positive"),
        ("monthly_wage_jpy", 0, "wage_positive"),
        ("contract_months", 0, "contract_positive"),
        ("employer", "  ", "employer_present"),
        ("supervising_organisation", "", "supervising_organisation_present"),
        ("prefecture", "", "prefecture_present"),
        ("sector", " ", "sector_present"),
    ],
)
def test_a_job_order_breaking_one_rule_names_that_rule(
    field: str, value: object, rule: str
) -> None:
    decision = check_job_order(job_order_command(**{field: value}))
    assert [check.rule for check in decision.failures] == [rule]


def test_a_matching_candidate_can_take_an_open_slot() -> None:
    job_order = order(slots=2, filled=1)
    ensure_fits(candidate(), job_order)
    ensure_open_for_candidates(job_order)


def test_sectors_match_regardless_of_case_and_spaces() -> None:
    ensure_fits(candidate(sector="Caregiver "), order(sector="caregiver"))


def test_a_candidate_ready_for_another_sector_is_refused() -> None:
    refusal = refusal_of(candidate(sector="automotive"), order(sector="caregiver"))
    assert refusal.rule == "sector_mismatch"
    assert refusal.status_code == 422
    assert "automotive" in refusal.message


def test_a_candidate_on_another_track_is_refused() -> None:
    refusal = refusal_of(candidate(track=Track.SSW), order(track=Track.TITP))
    assert refusal.rule == "track_mismatch"
    assert refusal.status_code == 422


def test_a_full_order_takes_nobody_more() -> None:
    refusal = refusal_of(candidate(), order(slots=2, filled=2))
    assert refusal.rule == "order_full"
    assert refusal.status_code == 409


def test_a_closed_order_takes_nobody_more_even_with_slots_left() -> None:
    refusal = refusal_of(candidate(), order(slots=2, filled=0, closed=True))
    assert (refusal.rule, refusal.status_code) == ("order_closed", 409)


def test_an_order_is_closed_once_and_with_a_reason() -> None:
    ensure_can_close(order(), "employer hired locally")
    with pytest.raises(RuleViolation) as no_reason:
        ensure_can_close(order(), "  ")
    assert no_reason.value.rule == "close_reason_present"
    with pytest.raises(RuleViolation) as twice:
        ensure_can_close(order(closed=True), "again")
    assert (twice.value.rule, twice.value.status_code) == ("order_closed", 409)


@pytest.mark.parametrize(
    ("slots", "filled", "remaining", "status"),
    [(3, 0, 3, JobOrderStatus.OPEN), (3, 2, 1, JobOrderStatus.OPEN), (3, 3, 0, "filled")],
)
def test_an_order_is_filled_exactly_when_every_slot_is_taken(
    slots: int, filled: int, remaining: int, status: str
) -> None:
    job_order = order(slots=slots, filled=filled)
    assert job_order.remaining == remaining
    assert job_order.status == status == order_status(slots, filled)


def test_a_closed_order_reads_closed_whether_filled_or_not() -> None:
    assert order(slots=2, filled=2, closed=True).status == JobOrderStatus.CLOSED
    assert order(slots=2, filled=0, closed=True).status == JobOrderStatus.CLOSED
