import uuid
from datetime import date

import pytest

from jembatan_kit.errors import RuleViolation
from jembatan_placement.domain.journey import (
    TRANSITIONS,
    PlacementStatus,
    Step,
    add_months,
    ensure_dated_in_order,
    ensure_return_is_early,
    months_begun,
    months_worked,
    next_status,
)

S = PlacementStatus

THE_WHOLE_WAY = [
    (Step.PASS_INTERVIEW, S.SHORTLISTED, S.INTERVIEWED),
    (Step.OFFER, S.INTERVIEWED, S.OFFERED),
    (Step.SIGN_CONTRACT, S.OFFERED, S.PLACED),
    (Step.ISSUE_COE, S.PLACED, S.COE_ISSUED),
    (Step.ISSUE_VISA, S.COE_ISSUED, S.VISA_ISSUED),
    (Step.DEPART, S.VISA_ISSUED, S.DEPARTED),
    (Step.RETURN_EARLY, S.DEPARTED, S.RETURNED_EARLY),
]


def refusal(status: PlacementStatus, step: Step) -> RuleViolation:
    with pytest.raises(RuleViolation) as refused:
        next_status(uuid.uuid4(), status, step)
    return refused.value


@pytest.mark.parametrize(("step", "source", "target"), THE_WHOLE_WAY)
def test_each_step_moves_the_path_forward_by_one(
    step: Step, source: PlacementStatus, target: PlacementStatus
) -> None:
    assert next_status(uuid.uuid4(), source, step) is target


def test_a_failed_interview_ends_the_path() -> None:
    assert next_status(uuid.uuid4(), S.SHORTLISTED, Step.FAIL_INTERVIEW) is S.INTERVIEW_FAILED
    assert all(transition.source is not S.INTERVIEW_FAILED for transition in TRANSITIONS.values())


ILLEGAL = [
    (status, step)
    for step, transition in TRANSITIONS.items()
    for status in PlacementStatus
    if status not in (transition.source, transition.target, S.WITHDRAWN)
]


@pytest.mark.parametrize(("status", "step"), ILLEGAL, ids=lambda v: str(v))
def test_every_illegal_step_is_refused_naming_its_rule(status: PlacementStatus, step: Step) -> None:
    refused = refusal(status, step)
    assert refused.rule == TRANSITIONS[step].rule
    assert refused.status_code == 409
    assert status.value.replace("_", " ") in refused.message


@pytest.mark.parametrize("step", list(Step))
def test_a_path_ended_by_the_candidates_withdrawal_takes_no_step(step: Step) -> None:
    refused = refusal(S.WITHDRAWN, step)
    assert (refused.rule, refused.status_code) == ("candidate_withdrawn", 409)
    assert "ended when its candidate withdrew from the programme" in refused.message
    assert f"it takes no {step.described} or any other step" in refused.message


@pytest.mark.parametrize(
    ("status", "step", "rule"),
    [
        (S.PLACED, Step.DEPART, "departure_needs_visa"),
        (S.COE_ISSUED, Step.DEPART, "departure_needs_visa"),
        (S.SHORTLISTED, Step.OFFER, "offer_needs_passed_interview"),
        (S.INTERVIEW_FAILED, Step.OFFER, "offer_needs_passed_interview"),
        (S.INTERVIEWED, Step.SIGN_CONTRACT, "contract_needs_offer"),
        (S.OFFERED, Step.ISSUE_COE, "coe_needs_contract"),
        (S.PLACED, Step.ISSUE_VISA, "visa_needs_coe"),
        (S.VISA_ISSUED, Step.RETURN_EARLY, "early_return_needs_departure"),
        (S.OFFERED, Step.SHORTLIST, "shortlist_starts_a_path"),
    ],
)
def test_the_rules_people_ask_about_by_name(status: PlacementStatus, step: Step, rule: str) -> None:
    assert refusal(status, step).rule == rule


def test_no_departure_without_a_visa_says_so() -> None:
    refused = refusal(S.PLACED, Step.DEPART)
    assert "no departure without a visa" in refused.message


def test_a_step_already_taken_is_refused_as_already_done() -> None:
    assert refusal(S.DEPARTED, Step.DEPART).rule == "already_departed"
    assert refusal(S.VISA_ISSUED, Step.ISSUE_VISA).rule == "already_visa_issued"


def test_a_step_cannot_be_dated_before_the_step_it_follows() -> None:
    ensure_dated_in_order(Step.DEPART, date(2027, 4, 1), date(2027, 4, 1))
    with pytest.raises(RuleViolation) as refused:
        ensure_dated_in_order(Step.DEPART, date(2027, 3, 31), date(2027, 4, 1))
    assert refused.value.rule == "dated_before_previous_step"
    assert "2027-04-01" in refused.value.message


@pytest.mark.parametrize(
    ("departed", "returned", "months"),
    [
        (date(2027, 3, 15), date(2027, 3, 20), 0),
        (date(2027, 3, 15), date(2027, 5, 14), 1),
        (date(2027, 3, 15), date(2027, 5, 15), 2),
        (date(2027, 11, 30), date(2028, 2, 29), 2),
        (date(2027, 1, 1), date(2028, 1, 1), 12),
    ],
)
def test_months_worked_counts_whole_months(departed: date, returned: date, months: int) -> None:
    assert months_worked(departed, returned) == months


@pytest.mark.parametrize(
    ("departed", "returned", "months"),
    [
        (date(2027, 3, 15), date(2027, 3, 15), 0),
        (date(2027, 3, 15), date(2027, 3, 16), 1),
        (date(2027, 3, 15), date(2027, 5, 15), 2),
        (date(2027, 3, 15), date(2027, 5, 16), 3),
        (date(2027, 1, 31), date(2027, 2, 28), 1),
    ],
)
def test_a_month_begun_in_japan_counts_toward_a_limit_in_all(
    departed: date, returned: date, months: int
) -> None:
    assert months_begun(departed, returned) == months


def test_a_return_on_or_after_the_contract_end_is_not_early() -> None:
    ensure_return_is_early(date(2027, 4, 1), date(2030, 3, 31), 36)
    with pytest.raises(RuleViolation) as refused:
        ensure_return_is_early(date(2027, 4, 1), date(2030, 4, 1), 36)
    assert refused.value.rule == "return_not_early"


def test_adding_months_keeps_the_day_or_takes_the_last_of_the_month() -> None:
    assert add_months(date(2027, 1, 31), 1) == date(2027, 2, 28)
    assert add_months(date(2027, 11, 15), 3) == date(2028, 2, 15)
