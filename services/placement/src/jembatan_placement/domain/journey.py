"""A candidate's path on one job order, as a state machine. Pure: no I/O.

The slot is taken when the contract is signed (status `placed`): before that an employer may
shortlist, interview and offer more candidates than it has slots, and a failed interview or a
declined offer frees nothing. `POST /job-orders/{id}/placements` records a contract signed
without the earlier steps, for employers who selected outside this system.
"""

from __future__ import annotations

import calendar
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from enum import StrEnum

from jembatan_kit.errors import Conflict, RuleViolation


class PlacementStatus(StrEnum):
    SHORTLISTED = "shortlisted"
    INTERVIEWED = "interviewed"
    """Interviewed and passed."""
    INTERVIEW_FAILED = "interview_failed"
    OFFERED = "offered"
    PLACED = "placed"
    """Contract signed: the candidate holds one of the order's slots."""
    COE_ISSUED = "coe_issued"
    VISA_ISSUED = "visa_issued"
    DEPARTED = "departed"
    RETURNED_EARLY = "returned_early"
    WITHDRAWN = "withdrawn"
    """The candidate withdrew from the programme before departing: the path ended, and the slot
    it held, if any, was given back."""


SLOT_HOLDING_STATUSES = (
    PlacementStatus.PLACED,
    PlacementStatus.COE_ISSUED,
    PlacementStatus.VISA_ISSUED,
    PlacementStatus.DEPARTED,
)
"""A candidate holds at most one placement in these states: contracted, or already in Japan."""

ENDED_STATUSES = (
    PlacementStatus.INTERVIEW_FAILED,
    PlacementStatus.RETURNED_EARLY,
    PlacementStatus.WITHDRAWN,
)


class Step(StrEnum):
    SHORTLIST = "shortlist"
    PASS_INTERVIEW = "pass_interview"
    FAIL_INTERVIEW = "fail_interview"
    OFFER = "offer"
    SIGN_CONTRACT = "sign_contract"
    PLACE_DIRECTLY = "place_directly"
    ISSUE_COE = "issue_coe"
    ISSUE_VISA = "issue_visa"
    DEPART = "depart"
    RETURN_EARLY = "return_early"

    @property
    def described(self) -> str:
        """The step as an operator calls it: `the departure on ...`."""
        return _DESCRIBED.get(self, self.value.replace("_", " "))


_DESCRIBED = {
    Step.SHORTLIST: "shortlisting",
    Step.PASS_INTERVIEW: "interview",
    Step.FAIL_INTERVIEW: "interview",
    Step.SIGN_CONTRACT: "contract",
    Step.PLACE_DIRECTLY: "contract",
    Step.ISSUE_COE: "Certificate of Eligibility",
    Step.ISSUE_VISA: "visa",
    Step.DEPART: "departure",
    Step.RETURN_EARLY: "early return",
}


@dataclass(frozen=True)
class Transition:
    source: PlacementStatus | None
    """None: the step starts a new path."""
    target: PlacementStatus
    rule: str
    """Named when the step is refused."""
    requirement: str


S = PlacementStatus
TRANSITIONS: dict[Step, Transition] = {
    Step.SHORTLIST: Transition(
        None, S.SHORTLISTED, "shortlist_starts_a_path", "shortlisting starts a new path"
    ),
    Step.PASS_INTERVIEW: Transition(
        S.SHORTLISTED,
        S.INTERVIEWED,
        "interview_needs_shortlist",
        "only a shortlisted candidate is interviewed",
    ),
    Step.FAIL_INTERVIEW: Transition(
        S.SHORTLISTED,
        S.INTERVIEW_FAILED,
        "interview_needs_shortlist",
        "only a shortlisted candidate is interviewed",
    ),
    Step.OFFER: Transition(
        S.INTERVIEWED,
        S.OFFERED,
        "offer_needs_passed_interview",
        "no offer without a passed interview",
    ),
    Step.SIGN_CONTRACT: Transition(
        S.OFFERED, S.PLACED, "contract_needs_offer", "no contract without an offer"
    ),
    Step.PLACE_DIRECTLY: Transition(
        None, S.PLACED, "placement_starts_a_path", "a direct placement starts a new path"
    ),
    Step.ISSUE_COE: Transition(
        S.PLACED,
        S.COE_ISSUED,
        "coe_needs_contract",
        "no Certificate of Eligibility without a signed contract",
    ),
    Step.ISSUE_VISA: Transition(
        S.COE_ISSUED,
        S.VISA_ISSUED,
        "visa_needs_coe",
        "no visa without a Certificate of Eligibility",
    ),
    Step.DEPART: Transition(
        S.VISA_ISSUED, S.DEPARTED, "departure_needs_visa", "no departure without a visa"
    ),
    Step.RETURN_EARLY: Transition(
        S.DEPARTED,
        S.RETURNED_EARLY,
        "early_return_needs_departure",
        "no early return without a departure",
    ),
}
del S


def next_status(placement_id: uuid.UUID, status: PlacementStatus, step: Step) -> PlacementStatus:
    """The status `step` leads to from `status`, or the refusal naming the rule it breaks."""
    transition = TRANSITIONS[step]
    if status is PlacementStatus.WITHDRAWN:
        raise Conflict(
            "candidate_withdrawn",
            f"placement {placement_id} ended when its candidate withdrew from the programme:"
            f" it takes no {step.described} or any other step",
            placement_id=str(placement_id),
            step=step.value,
        )
    if transition.source is status:
        return transition.target
    if transition.target is status:
        raise Conflict(
            f"already_{status.value}",
            f"placement {placement_id} is already {status.value.replace('_', ' ')}",
            placement_id=str(placement_id),
        )
    raise Conflict(
        transition.rule,
        f"{transition.requirement}: placement {placement_id} is {status.value.replace('_', ' ')}",
        placement_id=str(placement_id),
        status=status.value,
        step=step.value,
    )


JAPAN = timezone(timedelta(hours=9), "JST")
"""Placement's facts happen in Indonesia (UTC+7 to UTC+9) or in Japan (UTC+9): a day has begun
somewhere they happen once it has begun in Japan."""


def ensure_not_in_future(step: Step, day: date, now: datetime) -> None:
    """A step is a fact: it has happened. Judged by the service's clock, on today's date in
    Japan, so a step dated today wherever it happened is never refused."""
    today = now.astimezone(JAPAN).date()
    if day > today:
        raise RuleViolation(
            "dated_in_future",
            f"the {step.described} on {day.isoformat()} has not happened yet: "
            f"today is {today.isoformat()} (Japan time, by the service's clock); record a step "
            "once it has happened",
            {"date": day.isoformat(), "today": today.isoformat()},
        )


def ensure_dated_in_order(step: Step, day: date, previous_step_on: date) -> None:
    """Steps happen one after another: none is dated before the step it follows."""
    if day < previous_step_on:
        raise RuleViolation(
            "dated_before_previous_step",
            f"the {step.described} on {day.isoformat()} cannot come before the "
            f"previous step on {previous_step_on.isoformat()}",
            {"date": day.isoformat(), "previous_step_on": previous_step_on.isoformat()},
        )


def ensure_return_is_early(departure_date: date, return_date: date, contract_months: int) -> None:
    contract_end = add_months(departure_date, contract_months)
    if return_date >= contract_end:
        raise RuleViolation(
            "return_not_early",
            f"a return on {return_date.isoformat()} is not early: the {contract_months}-month "
            f"contract ends on {contract_end.isoformat()}",
            {"contract_end": contract_end.isoformat()},
        )


def months_worked(departure_date: date, return_date: date) -> int:
    """Whole months in Japan: 15 March to 14 May is one month, to 15 May two."""
    months = (return_date.year - departure_date.year) * 12 + (
        return_date.month - departure_date.month
    )
    if return_date.day < departure_date.day:
        months -= 1
    return max(months, 0)


def months_begun(departure_date: date, return_date: date) -> int:
    """Months in Japan, a month begun counting whole: 15 March to 15 May is two months, to
    16 May three. What a stay counts toward a limit in all."""
    worked = months_worked(departure_date, return_date)
    return worked + (add_months(departure_date, worked) < return_date)


def add_months(day: date, months: int) -> date:
    """The same day `months` later, or the month's last day when it has no such day."""
    year, month_index = divmod(day.month - 1 + months, 12)
    year, month = day.year + year, month_index + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))
