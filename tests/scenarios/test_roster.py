"""The scenarios' synthetic people: valid NIKs of the right regions that agree with what they
declare, no real phone numbers, exact shares, and the same people for the same seed."""

from __future__ import annotations

from datetime import date

import pytest

from jembatan_cli.scenarios.calendar import Calendar, add_months
from jembatan_cli.scenarios.people import TOLL_FREE_PREFIX
from jembatan_cli.scenarios.programmes import SCENARIOS
from jembatan_cli.scenarios.roster import apportion, build_roster
from jembatan_registration.domain.nik import ParsedNik, mismatch_warnings, parse_nik

SELECTION = date(2026, 6, 1)


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_every_nik_is_valid_for_the_scenario_regions_and_agrees_with_the_person(
    name: str,
) -> None:
    scenario = SCENARIOS[name]
    roster = build_roster(scenario, 200, seed=3, selection_date=SELECTION)
    regions = {region.code for region in scenario.regions}
    for applicant in roster:
        person = applicant.person
        parsed = parse_nik(person.nik, SELECTION)
        assert isinstance(parsed, ParsedNik), parsed
        assert parsed.region_code in regions
        assert (
            mismatch_warnings(parsed, person.birth_date, person.sex == "F", person.region_code)
            == []
        )
        assert person.phone.startswith(TOLL_FREE_PREFIX)
    assert len({a.person.nik for a in roster}) == len(roster)


def test_the_same_seed_makes_the_same_people_and_another_seed_others() -> None:
    scenario = SCENARIOS["kaltim"]
    first = build_roster(scenario, 50, seed=1, selection_date=SELECTION)
    assert build_roster(scenario, 50, seed=1, selection_date=SELECTION) == first
    other = build_roster(scenario, 50, seed=2, selection_date=SELECTION)
    assert {a.person.nik for a in first}.isdisjoint({a.person.nik for a in other})


def test_shares_become_exact_counts() -> None:
    assert (
        sorted(apportion(267, {"offline": 170, "online": 97}))
        == ["offline"] * 170 + ["online"] * 97
    )
    assert apportion(34, {"offline": 170, "online": 97}).count("online") == 12
    assert len(apportion(7, {"a": 1, "b": 1, "c": 1})) == 7


def test_kaltim_classes_keep_the_opening_split_of_offline_and_online() -> None:
    roster = build_roster(SCENARIOS["kaltim"], 267, seed=0, selection_date=SELECTION)
    assert sum(a.mode == "offline" for a in roster) == 170
    assert sum(a.mode == "online" for a in roster) == 97


def test_only_the_applicants_meant_ineligible_fall_outside_the_track_ages() -> None:
    scenario = SCENARIOS["boyolali"]
    roster = build_roster(scenario, 100, seed=0, selection_date=SELECTION)
    for applicant in roster:
        age = (SELECTION - applicant.person.birth_date).days / 365.25
        within = 18 <= age <= 26 and (applicant.education != "SMA" or age >= 19.5)
        assert within == applicant.meant_eligible
    assert sum(not a.meant_eligible for a in roster) == round(100 * scenario.ineligible_share)


def test_boyolali_steers_every_applicant_without_a_japanese_order_sector() -> None:
    scenario = SCENARIOS["boyolali"]
    roster = build_roster(scenario, 60, seed=0, selection_date=SELECTION)
    order_sectors = {plan.sector for plan in scenario.job_orders}
    assert {a.sector for a in roster} <= order_sectors
    assert all(a.steer_reason for a in roster if a.steered_to)


def test_the_calendar_ends_training_today_and_departs_three_months_later() -> None:
    today = date(2026, 11, 30)
    calendar = Calendar.for_scenario(SCENARIOS["kaltim"], today)
    (first, start, end), (second, start2, end2) = calendar.stages
    assert (first, second) == ("BPVP Samarinda", "BBPVP Bekasi")
    assert start == add_months(today, -6) and start2 == add_months(start, 3)
    assert end < start2 and end2 < today
    assert calendar.selection < start < calendar.tests_taken_on <= today
    assert (
        calendar.shortlisted_on
        <= calendar.interview_on
        <= calendar.offer_on
        <= calendar.contract_on
        < calendar.coe_on
        < calendar.visa_on
        < calendar.departure_on
    )
