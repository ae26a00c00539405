from datetime import date

import pytest

from jembatan_contracts import TestKind as ExamKind  # aliased: pytest collects Test* names
from jembatan_contracts import Track
from jembatan_training.domain.certificates import ExamResult, RecordResult, grade
from jembatan_training.domain.readiness import assess_readiness

TODAY = date(2026, 11, 25)


def result(test: ExamKind, **fields: object) -> ExamResult:
    values: dict[str, object] = {"issuer": "Japan Foundation", "taken_on": date(2026, 7, 5)}
    values.update(fields)
    return grade(RecordResult(test=test, **values), TODAY)  # type: ignore[arg-type]


def jlpt(level: str) -> ExamResult:
    return result(ExamKind.JLPT, level=level)


def jft(score: int) -> ExamResult:
    return result(ExamKind.JFT_BASIC, score=score)


def ssw_skill(sector: str, passed: bool = True) -> ExamResult:
    return result(ExamKind.SSW_SKILL, sector=sector, passed=passed)


def nursing_care(passed: bool = True) -> ExamResult:
    return result(ExamKind.NURSING_CARE_JAPANESE, passed=passed)


def missing(track: Track, sector: str, *results: ExamResult) -> list[str]:
    return [rule.rule for rule in assess_readiness(track, sector, results).missing]


def test_nobody_is_ready_without_results() -> None:
    assert missing(Track.TITP, "automotive") == ["japanese_n4"]
    assert missing(Track.SSW, "automotive") == ["japanese_n4", "ssw_skill_sector"]
    assert missing(Track.SSW, "caregiver") == [
        "japanese_n4",
        "ssw_skill_sector",
        "nursing_care_japanese",
    ]


@pytest.mark.parametrize(
    ("level", "ready"), [("N5", False), ("N4", True), ("N3", True), ("N1", True)]
)
def test_titp_needs_jlpt_n4_or_better(level: str, ready: bool) -> None:
    assert assess_readiness(Track.TITP, "automotive", [jlpt(level)]).ready is ready


@pytest.mark.parametrize(("score", "ready"), [(199, False), (200, True), (250, True)])
def test_jft_basic_a2_starts_at_200(score: int, ready: bool) -> None:
    readiness = assess_readiness(Track.TITP, "agriculture", [jft(score)])
    assert readiness.ready is ready
    assert readiness.language_level == ("N4" if ready else None)


def test_language_level_is_the_best_jlpt_level_passed() -> None:
    readiness = assess_readiness(Track.TITP, "automotive", [jlpt("N4"), jlpt("N2"), jft(230)])
    assert readiness.language_level == "N2"
    assert "JLPT N2" in readiness.met[0].in_words()


def test_ssw_also_needs_the_skill_test_of_the_candidates_own_sector() -> None:
    assert missing(Track.SSW, "automotive", jlpt("N4")) == ["ssw_skill_sector"]
    assert missing(Track.SSW, "automotive", jlpt("N4"), ssw_skill("agriculture")) == [
        "ssw_skill_sector"
    ]
    assert missing(Track.SSW, "automotive", jlpt("N4"), ssw_skill("automotive", False)) == [
        "ssw_skill_sector"
    ]
    assert missing(Track.SSW, "Automotive ", jft(200), ssw_skill(" automotive")) == []


def test_an_ssw_skill_test_alone_does_not_replace_japanese() -> None:
    assert missing(Track.SSW, "automotive", ssw_skill("automotive"), jft(199)) == ["japanese_n4"]


def test_an_ssw_caregiver_also_needs_the_nursing_care_japanese_test() -> None:
    skills = (jlpt("N4"), ssw_skill("caregiver"))
    assert missing(Track.SSW, "caregiver", *skills) == ["nursing_care_japanese"]
    assert missing(Track.SSW, "caregiver", *skills, nursing_care(False)) == [
        "nursing_care_japanese"
    ]
    readiness = assess_readiness(Track.SSW, "caregiver", [*skills, nursing_care()])
    assert readiness.ready
    assert [rule.rule for rule in readiness.met] == [
        "japanese_n4",
        "ssw_skill_sector",
        "nursing_care_japanese",
    ]


def test_a_titp_caregiver_needs_japanese_only() -> None:
    assert assess_readiness(Track.TITP, "caregiver", [jft(215)]).ready


def test_met_rules_read_as_words_with_their_evidence() -> None:
    readiness = assess_readiness(Track.SSW, "automotive", [jft(215), ssw_skill("automotive")])
    assert [rule.in_words() for rule in readiness.met] == [
        "Japanese at N4 or better (JLPT N4+ or JFT-Basic A2, score 200+): "
        "JFT-Basic A2 (score 215), Japan Foundation, 2026-07-05",
        "SSW skill test passed in the candidate's sector (automotive): "
        "SSW skill test (automotive), Japan Foundation, 2026-07-05",
    ]
