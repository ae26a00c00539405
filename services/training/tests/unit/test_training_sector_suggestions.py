from datetime import UTC, date, datetime

from jembatan_contracts import TestKind, Track
from jembatan_training.domain.certificates import ExamResult
from jembatan_training.domain.daily_scores import RecentAverage
from jembatan_training.domain.penjurusan import REGISTERED_REASON, SectorChange
from jembatan_training.domain.sector_suggestions import (
    CandidateFacts,
    SectorSuggestion,
    suggest_sectors,
)

ENROLLED = datetime(2026, 1, 12, 8, tzinfo=UTC)
MARCH = datetime(2026, 3, 2, 9, tzinfo=UTC)
DEMAND = ["agriculture", "caregiver", "automotive", "airport-ground-handling"]
N4 = ExamResult(TestKind.JLPT, "Japan Foundation", date(2026, 2, 1), True, level="N4")


def skill(sector: str, passed: bool) -> ExamResult:
    return ExamResult(TestKind.SSW_SKILL, "Prometric", date(2026, 2, 20), passed, sector=sector)


def registered_for(sector: str) -> list[SectorChange]:
    return [SectorChange(None, sector, REGISTERED_REASON, ENROLLED)]


def by_sector(suggestions: list[SectorSuggestion]) -> dict[str, SectorSuggestion]:
    return {s.sector: s for s in suggestions}


def codes(suggestion: SectorSuggestion) -> list[str]:
    return [reason.code for reason in suggestion.reasons]


def test_a_new_titp_candidate_is_suggested_the_sector_they_chose_first() -> None:
    candidate = CandidateFacts(Track.TITP, "automotive", registered_for("automotive"), [])
    suggestions = suggest_sectors(candidate, 80, DEMAND)
    assert suggestions[0].sector == "automotive"
    first = suggestions[0]
    assert first.current
    assert codes(first) == ["declared_interest", "certificates_missing", "in_demand"]
    assert first.points == 3 - 1 + 1
    missing = first.reasons[1]
    assert missing.facts["missing"] == "japanese_n4"
    assert "Japanese at N4" in missing.text
    # every sector in demand is offered, each with its reasons, the others after it
    assert {s.sector for s in suggestions} == set(DEMAND)
    assert all(s.points == 0 for s in suggestions[1:])
    assert [s.sector for s in suggestions[1:]] == sorted(s.sector for s in suggestions[1:])


def test_a_passed_skill_test_outranks_the_declared_interest_and_makes_them_ready_there() -> None:
    candidate = CandidateFacts(
        Track.SSW,
        "automotive",
        registered_for("automotive"),
        [N4, skill("agriculture", passed=True), skill("automotive", passed=False)],
    )
    suggestions = by_sector(suggest_sectors(candidate, 80, DEMAND))
    agriculture, automotive = suggestions["agriculture"], suggestions["automotive"]
    assert codes(agriculture) == ["skill_test_passed", "certificates_complete", "in_demand"]
    assert agriculture.points == 4 + 2 + 1
    assert codes(automotive) == [
        "declared_interest",
        "skill_test_failed",
        "certificates_missing",
        "in_demand",
    ]
    assert automotive.points == 3 - 2 - 1 + 1
    assert suggest_sectors(candidate, 80, DEMAND)[0].sector == "agriculture"
    assert agriculture.reasons[0].facts == {"sector": "agriculture", "taken_on": "2026-02-20"}


def test_a_sector_outside_the_demand_list_is_suggested_when_the_candidate_tested_in_it() -> None:
    candidate = CandidateFacts(
        Track.SSW, "automotive", registered_for("automotive"), [N4, skill("construction", True)]
    )
    construction = by_sector(suggest_sectors(candidate, 80, []))["construction"]
    assert codes(construction) == ["skill_test_passed", "certificates_complete"]
    assert set(by_sector(suggest_sectors(candidate, 80, []))) == {"automotive", "construction"}


def test_caregiving_weighs_the_daily_scores_against_the_target_for_its_extra_japanese() -> None:
    def caregiver(average: float) -> SectorSuggestion:
        candidate = CandidateFacts(
            Track.SSW,
            "caregiver",
            registered_for("caregiver"),
            [N4],
            recent_scores=RecentAverage(average, 5),
        )
        return by_sector(suggest_sectors(candidate, 80, DEMAND))["caregiver"]

    strong, weak = caregiver(86.0), caregiver(72.4)
    assert "daily_scores_at_target" in codes(strong)
    assert "daily_scores_below_target" in codes(weak)
    assert strong.points - weak.points == 2
    below = next(r for r in weak.reasons if r.code == "daily_scores_below_target")
    assert below.facts == {"average": 72.4, "days": 5, "target": 80}
    # caregivers under SSW miss the skill test and the nursing-care Japanese test
    missing = next(r for r in weak.reasons if r.code == "certificates_missing")
    assert missing.facts["missing"] == "ssw_skill_sector, nursing_care_japanese"
    assert missing.points == -2


def test_the_daily_scores_do_not_count_where_no_extra_japanese_test_is_needed() -> None:
    candidate = CandidateFacts(
        Track.TITP,
        "caregiver",
        registered_for("caregiver"),
        [],
        recent_scores=RecentAverage(50.0, 5),
    )
    for suggestion in suggest_sectors(candidate, 80, DEMAND):
        assert not {"daily_scores_at_target", "daily_scores_below_target"} & set(codes(suggestion))


def test_a_sector_the_trainer_steered_away_from_counts_less_and_says_why() -> None:
    history = [
        *registered_for("automotive"),
        SectorChange("automotive", "agriculture", "afraid of heavy machines", MARCH),
    ]
    candidate = CandidateFacts(Track.TITP, "agriculture", history, [], cohort_sector="agriculture")
    suggestions = suggest_sectors(candidate, 80, DEMAND)
    assert suggestions[0].sector == "agriculture"
    assert codes(suggestions[0]) == ["certificates_missing", "cohort_sector", "in_demand"]
    automotive = by_sector(suggestions)["automotive"]
    assert codes(automotive) == [
        "declared_interest",
        "certificates_missing",
        "steered_away",
        "in_demand",
    ]
    steered = automotive.reasons[2]
    assert steered.facts["reason"] == "afraid of heavy machines"
    assert steered.text == "steered away from automotive on 2026-03-02: afraid of heavy machines"


def test_ties_keep_the_candidate_where_they_are_then_go_by_name() -> None:
    history = [
        *registered_for("automotive"),
        SectorChange("automotive", "construction", "site work", MARCH),
    ]
    candidate = CandidateFacts(Track.TITP, "construction", history, [])
    # agriculture: -1 missing, +1 in demand; automotive: +3 declared, -1 missing, -3 steered
    # away; construction: -1 missing
    suggestions = suggest_sectors(candidate, 80, ["agriculture", "food-manufacturing"])
    assert [(s.sector, s.points, s.current) for s in suggestions] == [
        ("agriculture", 0, False),
        ("food-manufacturing", 0, False),
        ("construction", -1, True),
        ("automotive", -1, False),
    ]
