"""The dashboard's scenarios, for its unit and integration tests alike: candidates' journeys as
the other services publish them (`jembatan_kit.testing.journeys`), and the figures the dashboard
shows of them on `TODAY`."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest

from jembatan_contracts import EarlyReturnReason, Event, Track, WithdrawalReason, WriteOffReason
from jembatan_kit.testing.journeys import Journey

TODAY = date(2026, 12, 1)
K1, K2 = uuid.UUID(int=1), uuid.UUID(int=2)


@dataclass(frozen=True)
class Scenario:
    """Journeys, and what the dashboard shows of them on `TODAY`: `expected`, the parts of
    /api/funnel's figures that `seen_in` picks out."""

    journeys: list[Journey]
    expected: dict[str, Any]
    seen_in: Callable[[dict[str, Any]], dict[str, Any]]

    def events(self) -> list[Event]:
        """Every journey's events, journey after journey, each in the order made."""
        return [event for journey in self.journeys for event in journey.events]


@pytest.fixture
def today() -> date:
    """The day the scenarios' figures are those `expected`."""
    return TODAY


@pytest.fixture
def kota_serang() -> Scenario:
    """`kota_serang_2026`, as Kota Serang sees its figures of 2026."""
    return Scenario(kota_serang_2026(), EXPECTED_KOTA_SERANG, summary)


@pytest.fixture
def funders() -> Scenario:
    """`funders_2026`, as Kemnaker sees the funder's losses of 2026."""
    return Scenario(funders_2026(), EXPECTED_FUNDERS, funders_summary)


@pytest.fixture
def part_paid_before_it_was_announced() -> Journey:
    """`paid_part_on_the_due_day_before_it_was_announced`."""
    return paid_part_on_the_due_day_before_it_was_announced()


def paid_part_on_the_due_day_before_it_was_announced(agency: str = "boyolali") -> Journey:
    """Financing 1.1: Rp400,000 of the first Rp1,000,000 instalment paid on its due day before
    the announcement, which therefore names the Rp600,000 still owed; the second instalment
    unpaid. On `TODAY` Rp1,600,000 is in arrears, the oldest 120 days past due."""
    d = date
    return (
        Journey(agency=agency)
        .registered(d(2026, 1, 25))
        .placed(d(2026, 4, 3))
        .departed(d(2026, 5, 3))
        .paid(d(2026, 8, 3), 400_000, [1], 11_600_000, allocations={1: 400_000}, hour=0)
        .due(1, d(2026, 8, 3), amount=600_000, scheduled=1_000_000)
        .due(2, d(2026, 11, 3), amount=1_000_000, scheduled=1_000_000)
    )


def funders_2026() -> list[Journey]:
    """Boyolali's and Kalimantan Timur's loans that cost their funder: a candidate who withdrew
    before departing (the loan closed and written off), a departure no schedule fits still
    awaiting a decision after a partial write-off, one decided by a write-off and a schedule,
    a Kalimantan Timur write-off in 2026 and one in 2025; and a loan repaid as financing 1.1
    reports it (`paid_part_on_the_due_day_before_it_was_announced`). Their figures are
    `EXPECTED_FUNDERS`."""
    d = date
    never_left = (
        Journey(agency="boyolali")
        .registered(d(2026, 2, 1))
        .placed(d(2026, 5, 1))
        .withdrew(d(2026, 6, 10), WithdrawalReason.OTHER_WORK)
        .written_off(d(2026, 6, 10), 12_000_000, WriteOffReason.NEVER_DEPARTED)
    )
    stranded = (
        Journey(agency="boyolali")
        .registered(d(2026, 1, 15))
        .placed(d(2026, 4, 1))
        .departed(d(2026, 5, 1))
        .needs_decision(d(2026, 5, 1), owed=12_000_000, shortfall=3_000_000)
        .written_off(d(2026, 6, 1), 1_000_000, WriteOffReason.UNAFFORDABLE_SCHEDULE, 11_000_000)
    )
    decided = (
        Journey(agency="boyolali")
        .registered(d(2026, 1, 20))
        .placed(d(2026, 4, 2))
        .departed(d(2026, 5, 2))
        .needs_decision(d(2026, 5, 2), owed=12_000_000, shortfall=2_500_000)
        .written_off(d(2026, 6, 2), 2_500_000, WriteOffReason.UNAFFORDABLE_SCHEDULE, 9_500_000)
        .schedule_fixed(d(2026, 6, 2), d(2026, 8, 2))
    )
    kaltim_never_left = (
        Journey(agency="kaltim")
        .registered(d(2026, 1, 6))
        .placed(d(2026, 2, 1))
        .withdrew(d(2026, 3, 1), WithdrawalReason.FAMILY)
        .written_off(d(2026, 3, 1), 10_000_000, WriteOffReason.NEVER_DEPARTED)
    )
    kaltim_last_year = (
        Journey(agency="kaltim")
        .registered(d(2025, 6, 1))
        .placed(d(2025, 10, 1))
        .withdrew(d(2025, 11, 20), WithdrawalReason.HEALTH)
        .written_off(d(2025, 11, 20), 5_000_000, WriteOffReason.NEVER_DEPARTED)
    )
    exact = paid_part_on_the_due_day_before_it_was_announced()
    return [never_left, stranded, decided, kaltim_never_left, kaltim_last_year, exact]


EXPECTED_FUNDERS = {
    "written_off": [
        ("boyolali", "never_departed", 1, 12_000_000),
        ("boyolali", "unaffordable_schedule", 2, 3_500_000),
        ("kaltim", "never_departed", 1, 10_000_000),
    ],
    "written_off_total": (4, 25_500_000),
    "awaiting_decision": [("boyolali", 1, 11_000_000)],
    "awaiting_decision_total": (1, 11_000_000),
    "boyolali_arrears": {"90+": (1, 1_600_000)},
    "boyolali_open_loans": 3,
}
"""Of `funders_2026` in 2026, as Kemnaker sees them, on `TODAY`."""


def funders_summary(figures: dict[str, Any]) -> dict[str, Any]:
    """The parts of /api/funnel's `funder_losses` that `EXPECTED_FUNDERS` states, in its
    shape (without Boyolali's arrears)."""
    losses = figures["funder_losses"]
    return {
        "written_off": [
            (w["agency"], w["reason"], w["loans"], w["amount_idr"]) for w in losses["written_off"]
        ],
        "written_off_total": tuple(losses["written_off_total"].values()),
        "awaiting_decision": [
            (a["agency"], a["loans"], a["owed_idr"]) for a in losses["awaiting_decision"]
        ],
        "awaiting_decision_total": tuple(losses["awaiting_decision_total"].values()),
    }


def kota_serang_2026() -> list[Journey]:
    """Five candidates registered by Kota Serang in 2026, one from 2025 who departs in 2026, and
    one of Kalimantan Timur. The figures they make are `EXPECTED_KOTA_SERANG`."""
    d = date
    a = (
        Journey()
        .registered(d(2026, 1, 10))
        .scored(K1, "Kelas Jepang A", d(2026, 2, 1), 60)
        .scored(K1, "Kelas Jepang A", d(2026, 2, 2), 70)
        .certified(d(2026, 3, 1))
        .ready(d(2026, 3, 1))
        .placed(d(2026, 4, 1))
        .departed(d(2026, 5, 15))
        .due(1, d(2026, 8, 15))
        .paid(d(2026, 8, 15), 1_000_000, [1], 11_000_000)
        .due(2, d(2026, 9, 15))
        .due(3, d(2026, 10, 15))
    )
    b = (
        Journey()
        .registered(d(2026, 1, 12))
        .scored(K1, "Kelas Jepang A", d(2026, 2, 1), 90)
        .scored(K1, "Kelas Jepang A", d(2026, 2, 2), 95)
        .certified(d(2026, 3, 5))
        .ready(d(2026, 3, 5))
        .placed(d(2026, 4, 2))
        .departed(d(2026, 5, 20))
        .paid(d(2026, 7, 1), 12_000_000, [1, 2, 3], 0)
        .settled(d(2026, 7, 1), 12_000_000)
    )
    c = (
        Journey()
        .registered(d(2026, 2, 1))
        .scored(K2, "Kelas Jepang B", d(2026, 3, 1), 50)
        .withdrew(d(2026, 3, 10), WithdrawalReason.PERSONAL)
    )
    e = (
        Journey()
        .registered(d(2026, 2, 3))
        .certified(d(2026, 4, 1))
        .ready(d(2026, 4, 1))
        .interviewed(d(2026, 4, 20), passed=False)
    )
    f = (
        Journey(track=Track.SSW)
        .registered(d(2026, 3, 1))
        .certified(d(2026, 4, 2))
        .ready(d(2026, 4, 2))
        .placed(d(2026, 5, 1))
        .departed(d(2026, 6, 20))
        .due(1, d(2026, 9, 20))
        .returned_early(d(2026, 10, 1), EarlyReturnReason.HEALTH)
    )
    earlier = Journey().registered(d(2025, 11, 1)).placed(d(2026, 5, 2)).departed(d(2026, 7, 1))
    elsewhere = Journey(agency="kaltim").registered(d(2026, 1, 5)).departed(d(2026, 8, 8))
    return [a, b, c, e, f, earlier, elsewhere]


EXPECTED_KOTA_SERANG = {
    "reached": {
        "registered": 5,
        "in_training": 5,
        "certified": 4,
        "ready": 4,
        "placed": 3,
        "departed": 3,
        "repaying": 3,
        "settled": 1,
    },
    "now_at": {"ready": 1, "repaying": 1, "settled": 1},
    "by_programme": {"SSW": 1, "TITP": 4},
    "departed": 3,
    "departures_by_month": {"2026-05": 2, "2026-06": 1, "2026-07": 1},
    "drop_outs": [
        ("in_training", "withdrawn", "personal", 1),
        ("ready", "interview_failed", "not_passed", 1),
        ("departed", "early_return", "health", 1),
    ],
    "cohorts_below_target": [("Kelas Jepang A", 78.8, 2, 1)],
    "arrears": {"1-30": (1, 1_000_000), "61-90": (1, 2_000_000)},
    "open_loans": 3,
}


def summary(figures: dict[str, Any]) -> dict[str, Any]:
    """The parts of /api/funnel that `EXPECTED_KOTA_SERANG` states, in its shape."""
    return {
        "reached": {s["stage"]: s["reached"] for s in figures["stages"]},
        "now_at": {s["stage"]: s["now_at"] for s in figures["stages"] if s["now_at"]},
        "by_programme": {
            row["programme"]: row["reached"]["registered"] for row in figures["by_programme"]
        },
        "departed": figures["target"]["departed"],
        "departures_by_month": {
            m["month"]: m["departed"] for m in figures["departures_by_month"] if m["departed"]
        },
        "drop_outs": [
            (d["stage"], d["kind"], d["reason"], d["count"]) for d in figures["drop_outs"]
        ],
        "cohorts_below_target": [
            (c["cohort"], c["average"], c["members"], c["members_below"])
            for c in figures["cohorts_below_target"]
        ],
        "arrears": {
            b["bucket"]: (b["loans"], b["amount_idr"])
            for b in figures["arrears"]["buckets"]
            if b["loans"]
        },
        "open_loans": figures["arrears"]["open_loans"],
    }
