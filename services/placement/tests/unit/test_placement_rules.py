import uuid
from datetime import date

import pytest

from jembatan_contracts import Track
from jembatan_kit.errors import RuleViolation
from jembatan_placement.domain.matching import ensure_fits
from jembatan_placement.domain.model import (
    Decision,
    JobOrder,
    JobOrderStatus,
    OpenJobOrder,
    ReadyCandidate,
    RuleCheck,
    check_job_order,
    ensure_can_close,
    ensure_open_for_candidates,
    order_status,
)
from jembatan_placement.domain.rules import (
    PlacementRules,
    parse_rules,
    prefecture_key,
    shipped_rules,
)


def job_order_command(**overrides: object) -> OpenJobOrder:
    values: dict[str, object] = {
        "employer": "Sakura Kaigo K.K.",
        "supervising_organisation": "IM Japan",
        "prefecture": "Aichi",
        "sector": "caregiver",
        "track": Track.TITP,
        "slots": 3,
        "monthly_wage_jpy": 200_000,
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


OPENED_ON = date(2026, 12, 5)


def checked(**overrides: object) -> Decision:
    return check_job_order(job_order_command(**overrides), shipped_rules(), OPENED_ON)


def test_a_complete_job_order_is_accepted() -> None:
    assert checked().accepted


@pytest.mark.parametrize(
    ("field", "value", "rules"),
    [
        ("slots", 0, ["slots_positive"]),
        ("slots", -1, ["slots_positive"]),
        ("monthly_wage_jpy", 0, ["wage_positive", "wage_at_least_minimum"]),
        ("contract_months", 0, ["contract_positive"]),
        ("employer", "  ", ["employer_present"]),
        ("supervising_organisation", "", ["supervising_organisation_present"]),
        ("prefecture", "", ["prefecture_present"]),
        ("sector", " ", ["sector_present"]),
    ],
)
def test_a_job_order_breaking_one_rule_names_that_rule(
    field: str, value: object, rules: list[str]
) -> None:
    assert [check.rule for check in checked(**{field: value}).failures] == rules


def failure(decision: Decision) -> RuleCheck:
    [failed] = decision.failures
    return failed


@pytest.mark.parametrize(
    ("track", "longest"), [(Track.TITP, 36), (Track.SSW, 60)], ids=["TITP", "SSW"]
)
def test_a_contract_is_at_most_as_long_as_its_track_allows(track: Track, longest: int) -> None:
    assert checked(track=track, contract_months=longest).accepted
    refused = failure(checked(track=track, contract_months=longest + 1))
    assert refused.rule == "contract_within_track_limit"
    assert f"a {track.value} contract is at most {longest} months ({longest + 1} asked)" in (
        refused.message
    )
    assert failure(checked(track=track, contract_months=600)).rule == (
        "contract_within_track_limit"
    )


def test_a_titp_contract_beyond_36_months_is_told_the_extension_is_a_step_of_its_own() -> None:
    refused = failure(checked(track=Track.TITP, contract_months=60))
    assert "an extension to (iii), up to 60 months in all, is a separate step" in refused.message


@pytest.mark.parametrize(
    ("prefecture", "hourly"),
    [("Aichi", 1140), ("Tokyo", 1226), ("Okinawa", 1023), ("Fukuoka", 1057)],
)
def test_a_wage_below_the_prefectures_minimum_wage_over_a_full_time_month_is_refused(
    prefecture: str, hourly: int
) -> None:
    floor = hourly * 160
    assert checked(prefecture=prefecture, monthly_wage_jpy=floor).accepted
    refused = failure(checked(prefecture=prefecture, monthly_wage_jpy=floor - 1))
    assert refused.rule == "wage_at_least_minimum"
    assert refused.message == (
        f"a monthly wage of {floor - 1:,} JPY must be at least {prefecture}'s minimum wage"
        f" (FY2025) of {hourly:,} JPY an hour over a full-time month of 160 hours: {floor:,} JPY"
    )


def test_a_wage_of_one_yen_is_refused() -> None:
    assert failure(checked(monthly_wage_jpy=1)).rule == "wage_at_least_minimum"


@pytest.mark.parametrize("spelled", ["aichi", " Aichi-ken ", "Aichi Prefecture", "AICHI KEN"])
def test_a_prefecture_is_known_however_it_is_spelled(spelled: str) -> None:
    assert prefecture_key(spelled) == "aichi"
    assert failure(checked(prefecture=spelled, monthly_wage_jpy=182_399)).rule == (
        "wage_at_least_minimum"
    )


def test_long_vowels_and_suffixes_of_prefectures_are_read_alike() -> None:
    assert [prefecture_key(name) for name in ("Ōsaka-fu", "Tōkyō-to", "Kyoto-fu", "Hyōgo")] == [
        "osaka",
        "tokyo",
        "kyoto",
        "hyogo",
    ]


def test_a_prefecture_without_a_figure_is_held_to_the_national_floor() -> None:
    refused = failure(checked(prefecture="Nowhere", monthly_wage_jpy=163_679))
    assert refused.rule == "wage_at_least_minimum"
    assert "the national floor (no figure for 'Nowhere')" in refused.message
    assert "1,023 JPY an hour" in refused.message
    assert checked(prefecture="Nowhere", monthly_wage_jpy=163_680).accepted


def dated_rules(*minimum_wages: tuple[str, int]) -> PlacementRules:
    def minimum_wage(valid_from: str, aichi: int) -> dict[str, object]:
        return {
            "valid_from": date.fromisoformat(valid_from),
            "fiscal_year": valid_from[:4],
            "monthly_hours": 160,
            "national_floor_jpy_per_hour": 900,
            "source": "test",
            "national_floor_source": "test",
            "hourly_jpy": {"Aichi": aichi},
        }

    return parse_rules(
        {
            "contract_length": [
                {
                    "track": "TITP",
                    "valid_from": date(2017, 11, 1),
                    "max_months": 36,
                    "source": "test",
                    "beyond": "no more",
                }
            ],
            "minimum_wage": [minimum_wage(day, hourly) for day, hourly in minimum_wages],
        }
    )


def test_the_minimum_wage_in_force_on_the_day_the_order_opens_applies() -> None:
    rules = dated_rules(("2025-03-31", 1077), ("2026-03-31", 1140))
    command = job_order_command(monthly_wage_jpy=175_000)  # 1,077 x 160 = 172,320
    assert check_job_order(command, rules, date(2026, 3, 30)).accepted
    assert not check_job_order(command, rules, date(2026, 3, 31)).accepted
    with pytest.raises(RuleViolation) as unconfigured:
        check_job_order(command, rules, date(2025, 3, 30))
    assert unconfigured.value.rule == "rules_not_configured"
    assert "no minimum wage is configured for 2025-03-30" in unconfigured.value.message


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
