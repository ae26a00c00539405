import uuid
from dataclasses import replace
from datetime import date, timedelta

from jembatan_contracts import TestKind, Track
from jembatan_placement.domain.matching import WEIGHTS, Weights, rank
from jembatan_placement.domain.model import (
    HeldCertificate,
    JobOrder,
    LanguageLevel,
    ReadyCandidate,
)

TODAY = date(2027, 1, 15)


def candidate(**overrides: object) -> ReadyCandidate:
    values: dict[str, object] = {
        "candidate_id": uuid.uuid4(),
        "journey_id": uuid.uuid4(),
        "agency": "kaltim",
        "track": Track.TITP,
        "sector": "automotive",
        "language_level": "N4",
        "ready_on": TODAY,
    }
    values.update(overrides)
    return ReadyCandidate(**values)  # type: ignore[arg-type]


def order(**overrides: object) -> JobOrder:
    values: dict[str, object] = {
        "id": uuid.uuid4(),
        "sector": "automotive",
        "track": Track.TITP,
        "slots": 2,
        "filled": 0,
        "contract_months": 36,
    }
    values.update(overrides)
    return JobOrder(**values)  # type: ignore[arg-type]


def test_every_rank_is_explained_in_words() -> None:
    ranked = candidate(language_level="N3", ready_on=TODAY - timedelta(days=45))

    [match] = rank(order(), [ranked], TODAY).matches

    assert match.explanation == (
        "sector automotive fits; track TITP fits; Japanese N3 above the N4 minimum (+2); "
        "no daily scores known (+0); no commitment recorded (+0); waiting 45 days (+1.5)"
    )
    assert match.score == 3.5


def test_higher_language_levels_rank_higher() -> None:
    levels = ["N4", "N2", "N3"]
    ranking = rank(order(), [candidate(language_level=level) for level in levels], TODAY)
    assert [m.candidate.language_level for m in ranking.matches] == ["N2", "N3", "N4"]
    assert [m.score for m in ranking.matches] == [4.0, 2.0, 0.0]


def test_below_the_orders_minimum_is_excluded_with_the_reason() -> None:
    n5, n4 = candidate(language_level="N5"), candidate(language_level="N4")
    ranking = rank(order(minimum_language_level=LanguageLevel.N3), [n5, n4], TODAY)
    assert ranking.matches == []
    assert [(e.candidate, e.rule) for e in ranking.excluded] == [
        (n5, "language_below_minimum"),
        (n4, "language_below_minimum"),
    ]
    assert "Japanese N5 is below the order's N3 minimum" in ranking.excluded[0].reason


def test_candidates_of_another_sector_track_or_without_certificates_are_excluded() -> None:
    caregiver = candidate(sector="caregiver")
    ssw = candidate(track=Track.SSW)
    skill_elsewhere = candidate(
        certificates=frozenset({HeldCertificate(TestKind.SSW_SKILL, "caregiver")})
    )
    skilled = candidate(certificates=frozenset({HeldCertificate(TestKind.SSW_SKILL, "automotive")}))
    job_order = order(required_certificates=frozenset({TestKind.SSW_SKILL}))

    ranking = rank(job_order, [caregiver, ssw, skill_elsewhere, skilled], TODAY)

    assert {e.candidate.candidate_id: e.rule for e in ranking.excluded} == {
        caregiver.candidate_id: "sector_mismatch",
        ssw.candidate_id: "track_mismatch",
        skill_elsewhere.candidate_id: "certificate_missing",
    }
    [match] = ranking.matches
    assert match.candidate == skilled
    assert "holds SSW_SKILL" in match.explanation
    assert "not passed: SSW_SKILL" in ranking.excluded[2].reason


def test_unavailable_candidates_are_excluded_with_the_reason_given() -> None:
    placed = candidate()
    ranking = rank(
        order(), [placed], TODAY, {placed.candidate_id: ("one_active_placement", "holds X")}
    )
    assert [(e.rule, e.reason) for e in ranking.excluded] == [("one_active_placement", "holds X")]


def test_daily_scores_commitment_and_waiting_each_add_their_weighted_points() -> None:
    ranked = candidate(
        daily_score_average=86.0,
        months_willing_to_stay=60,
        ready_on=TODAY - timedelta(days=30),
    )

    [match] = rank(order(contract_months=36), [ranked], TODAY).matches

    assert [(f.description, f.points) for f in match.factors] == [
        ("Japanese N4 meets the N4 minimum", 0.0),
        ("daily score average 86 against the target 80", 0.6),
        ("commits to 60 months, 24 beyond the 36-month contract", 2.0),
        ("waiting 30 days", 1.0),
    ]
    assert match.score == 3.6


def test_scores_below_target_and_short_commitments_count_against() -> None:
    ranked = candidate(daily_score_average=70.0, months_willing_to_stay=24)
    [match] = rank(order(contract_months=36), [ranked], TODAY).matches
    assert "daily score average 70 against the target 80 (-1)" in match.explanation
    assert "commits to 24 months, 12 short of the 36-month contract (-1)" in match.explanation
    assert match.score == -2.0


def test_the_weights_decide_the_order() -> None:
    fluent = candidate(language_level="N3")
    patient = candidate(ready_on=TODAY - timedelta(days=90))

    by_default = rank(order(), [patient, fluent], TODAY)
    language_only = rank(
        order(), [patient, fluent], TODAY, weights=replace(WEIGHTS, per_month_waiting=0)
    )

    assert [m.candidate for m in by_default.matches] == [patient, fluent]  # 3 beats 2
    assert [m.candidate for m in language_only.matches] == [fluent, patient]


def test_equal_scores_go_to_whoever_has_waited_longer() -> None:
    earlier = candidate(ready_on=TODAY - timedelta(days=1))
    later = candidate(ready_on=TODAY)
    tied = Weights(per_month_waiting=0)
    assert [m.candidate for m in rank(order(), [later, earlier], TODAY, weights=tied).matches] == [
        earlier,
        later,
    ]
