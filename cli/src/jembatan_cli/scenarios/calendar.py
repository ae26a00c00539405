"""A programme's dates in a scenario run. Today, by the services' clock, is the end of
training: selection was as long ago as the training lasts, and departure is three months on.

The applicants are registered today, though, and judged on today: the services' clocks only move
forward, so a run cannot register them on their selection day half a year back, and registration
refuses a selection date named further back than its selection window (90 days, see
services/registration/.../domain/data/eligibility.toml) so that no agency can pick the date its
candidates' ages are judged on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from .definitions import Scenario


def add_months(day: date, months: int) -> date:
    """The same day `months` later (or earlier), clamped to the month's end."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    next_month = date(year + month // 12, month % 12 + 1, 1)
    return date(year, month, min(day.day, (next_month - timedelta(days=1)).day))


@dataclass(frozen=True)
class Calendar:
    """The programme's dates, with today (the end of training) taken from the services' clock."""

    today: date
    selection: date
    """The programme's selection, before training began: it names the classes."""
    stages: tuple[tuple[str, date, date], ...]
    shortlisted_on: date
    interview_on: date
    offer_on: date
    contract_on: date
    coe_on: date
    visa_on: date
    departure_on: date

    @classmethod
    def for_scenario(cls, scenario: Scenario, today: date) -> Calendar:
        months = sum(stage.months for stage in scenario.stages)
        start = add_months(today, -months)
        stages = []
        for plan in scenario.stages:
            end = add_months(start, plan.months)
            stages.append((plan.centre, start, end - timedelta(days=1)))
            start = end
        return cls(
            today=today,
            selection=stages[0][1] - timedelta(days=14),
            stages=tuple(stages),
            shortlisted_on=today,
            interview_on=today + timedelta(days=7),
            offer_on=today + timedelta(days=10),
            contract_on=today + timedelta(days=14),
            coe_on=today + timedelta(days=60),
            visa_on=today + timedelta(days=75),
            departure_on=today + timedelta(days=90),
        )

    @property
    def registered_on(self) -> date:
        """The day the applicants are registered, and their eligibility judged on: today."""
        return self.today

    @property
    def tests_taken_on(self) -> date:
        return self.stages[-1][2]
