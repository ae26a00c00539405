import uuid
from datetime import date, timedelta

import pytest

from jembatan_training.domain.daily_scores import (
    DailyScore,
    check_daily_score,
    early_warnings,
    recent_average,
)
from jembatan_training.domain.rules import Refused

TODAY = date(2026, 5, 29)


def days(*scores: int) -> list[DailyScore]:
    """Scores on consecutive days ending today, oldest first."""
    start = TODAY - timedelta(days=len(scores) - 1)
    return [DailyScore(start + timedelta(days=i), score) for i, score in enumerate(scores)]


def test_the_average_is_over_the_most_recent_scores_only() -> None:
    recent = recent_average(days(10, 20, 80, 80, 80, 80, 80), window=5)
    assert recent is not None
    assert (recent.average, recent.scores) == (80.0, 5)


def test_fewer_scores_than_the_window_are_averaged_as_they_are() -> None:
    recent = recent_average(list(reversed(days(70, 75))), window=5)
    assert recent is not None
    assert (recent.average, recent.scores) == (72.5, 2)
    assert recent_average([], window=5) is None


def test_early_warning_lists_those_below_target_lowest_first() -> None:
    on_track, falling, struggling, silent = (uuid.uuid4() for _ in range(4))
    warnings = early_warnings(
        {
            on_track: days(80, 80, 80),
            falling: days(95, 95, 79, 79, 79, 79, 79),
            struggling: days(60, 70),
            silent: [],
        },
        target=80,
        window=5,
    )
    assert [(w.candidate_id, w.average, w.scores) for w in warnings] == [
        (struggling, 65.0, 2),
        (falling, 79.0, 5),
    ]


def test_the_target_and_window_are_parameters() -> None:
    candidate = uuid.uuid4()
    scores = {candidate: days(60, 90, 90)}
    assert early_warnings(scores, target=80, window=3) == []
    assert [w.average for w in early_warnings(scores, target=91, window=2)] == [90.0]


@pytest.mark.parametrize(
    ("score", "rules"),
    [
        (DailyScore(TODAY, 101), ["daily_score_range"]),
        (DailyScore(TODAY, -1), ["daily_score_range"]),
        (DailyScore(TODAY + timedelta(days=1), 50), ["day_not_in_future"]),
    ],
)
def test_a_daily_score_is_0_to_100_and_not_in_the_future(
    score: DailyScore, rules: list[str]
) -> None:
    with pytest.raises(Refused) as refused:
        check_daily_score(score, TODAY)
    assert [check.rule for check in refused.value.failures] == rules
    check_daily_score(DailyScore(TODAY, 100), TODAY)
