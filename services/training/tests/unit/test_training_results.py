from datetime import date

import pytest

from jembatan_contracts import TestKind as ExamKind  # aliased: pytest collects Test* names
from jembatan_training.domain.certificates import RecordResult, ResultRefused, grade

TODAY = date(2026, 11, 25)


def command(test: ExamKind, **fields: object) -> RecordResult:
    values: dict[str, object] = {"issuer": "Japan Foundation", "taken_on": date(2026, 7, 5)}
    values.update(fields)
    return RecordResult(test=test, **values)  # type: ignore[arg-type]


def refused_rules(record: RecordResult) -> list[str]:
    with pytest.raises(ResultRefused) as refused:
        grade(record, TODAY)
    return [check.rule for check in refused.value.failures]


@pytest.mark.parametrize(("level", "passed"), [("N5", False), ("N4", True), ("N1", True)])
def test_jlpt_passes_from_n4(level: str, passed: bool) -> None:
    assert grade(command(ExamKind.JLPT, level=level), TODAY).passed is passed


@pytest.mark.parametrize("level", [None, "N6", "n4", "A2"])
def test_a_jlpt_result_needs_a_real_level(level: str | None) -> None:
    assert refused_rules(command(ExamKind.JLPT, level=level)) == ["jlpt_level"]


@pytest.mark.parametrize(("score", "passed"), [(0, False), (199, False), (200, True), (250, True)])
def test_jft_basic_passes_from_200(score: int, passed: bool) -> None:
    assert grade(command(ExamKind.JFT_BASIC, score=score), TODAY).passed is passed


@pytest.mark.parametrize("score", [None, -1, 251])
def test_a_jft_basic_score_is_between_0_and_250(score: int | None) -> None:
    assert refused_rules(command(ExamKind.JFT_BASIC, score=score)) == ["jft_basic_score"]


def test_skill_tests_need_their_sector_and_outcome() -> None:
    assert refused_rules(command(ExamKind.SSW_SKILL)) == ["ssw_skill_sector", "passed_flag"]
    assert refused_rules(command(ExamKind.NURSING_CARE_JAPANESE)) == ["passed_flag"]
    graded = grade(command(ExamKind.SSW_SKILL, sector=" Caregiver", passed=True), TODAY)
    assert graded.passed
    assert graded.sector == "caregiver"


def test_every_broken_rule_is_named_at_once() -> None:
    record = command(ExamKind.JLPT, issuer=" ", taken_on=date(2026, 11, 26))
    assert refused_rules(record) == ["issuer_present", "taken_on_not_in_future", "jlpt_level"]


@pytest.mark.parametrize("level", ["N4", "N3", "N1"])
def test_a_jlpt_result_marked_failed_is_a_failed_attempt_at_any_level(level: str) -> None:
    graded = grade(command(ExamKind.JLPT, level=level, passed=False), TODAY)
    assert graded.passed is False
    assert graded.level == level, "kept as the attempt it was"


@pytest.mark.parametrize(("level", "passed"), [("N4", True), ("N5", False)])
def test_a_jlpt_result_marked_passed_counts_from_n4(level: str, passed: bool) -> None:
    assert grade(command(ExamKind.JLPT, level=level, passed=True), TODAY).passed is passed


@pytest.mark.parametrize(("score", "flag"), [(220, False), (150, True)])
def test_a_jft_basic_flag_that_contradicts_its_score_is_refused(score: int, flag: bool) -> None:
    record = command(ExamKind.JFT_BASIC, score=score, passed=flag)
    assert refused_rules(record) == ["passed_flag_matches_score"]


@pytest.mark.parametrize(("score", "flag"), [(220, True), (150, False)])
def test_a_jft_basic_flag_that_agrees_with_its_score_is_kept(score: int, flag: bool) -> None:
    assert grade(command(ExamKind.JFT_BASIC, score=score, passed=flag), TODAY).passed is flag
