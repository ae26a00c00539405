"""Journeys as events, for the dashboard's tests: what the four services would publish."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

from jembatan_contracts import (
    CandidateInterviewed,
    CandidatePlaced,
    CandidateReadyForPlacement,
    CandidateRegistered,
    CandidateWithdrawn,
    CertificatePassed,
    DailyScoreRecorded,
    Departed,
    EarlyReturned,
    EarlyReturnReason,
    Event,
    LoanOpened,
    LoanRestructured,
    LoanSettled,
    PaymentRecorded,
    RepaymentDue,
    TestKind,
    Track,
    WithdrawalReason,
)


def at(day: date, hour: int = 9) -> datetime:
    return datetime.combine(day, time(hour), UTC)


@dataclass
class Journey:
    """One candidate's events, built step by step; `events` keeps them in the order made."""

    agency: str = "kota-serang"
    track: Track = Track.TITP
    candidate_id: uuid.UUID = field(default_factory=uuid.uuid4)
    journey_id: uuid.UUID = field(default_factory=uuid.uuid4)
    placement_id: uuid.UUID = field(default_factory=uuid.uuid4)
    loan_id: uuid.UUID = field(default_factory=uuid.uuid4)
    events: list[Event] = field(default_factory=list)

    def _add(self, event_type: type[Event], occurred: datetime, **fields: Any) -> Event:
        event = event_type(
            agency=self.agency,
            journey_id=self.journey_id,
            candidate_id=self.candidate_id,
            occurred_at=occurred,
            **fields,
        )
        self.events.append(event)
        return event

    def registered(self, on: date) -> Journey:
        self._add(
            CandidateRegistered,
            at(on),
            track=self.track,
            preferred_sector="automotive",
            education="SMK",
            province_code="36",
            registered_on=on,
        )
        return self

    def scored(self, cohort_id: uuid.UUID, name: str, day: date, score: int) -> Journey:
        self._add(
            DailyScoreRecorded,
            at(day, 15),
            day=day,
            score=score,
            cohort_id=cohort_id,
            cohort_name=name,
            training_centre="BPVP Serang",
        )
        return self

    def certified(self, on: date) -> Journey:
        self._add(
            CertificatePassed,
            at(on),
            certificate_id=uuid.uuid4(),
            test=TestKind.JLPT,
            level="N4",
            issuer="Japan Foundation",
            passed_on=on,
        )
        return self

    def ready(self, on: date) -> Journey:
        self._add(
            CandidateReadyForPlacement,
            at(on, 10),
            track=self.track,
            sector="automotive",
            language_level="N4",
            satisfied_rules=["language_n4"],
        )
        return self

    def interviewed(self, on: date, passed: bool) -> Journey:
        self._add(
            CandidateInterviewed,
            at(on),
            placement_id=uuid.uuid4(),
            job_order_id=uuid.uuid4(),
            interviewed_on=on,
            passed=passed,
        )
        return self

    def placed(self, on: date) -> Journey:
        self._add(
            CandidatePlaced,
            at(on),
            placement_id=self.placement_id,
            job_order_id=uuid.uuid4(),
            track=self.track,
            sector="automotive",
            supervising_organisation="IM Japan",
            monthly_wage_jpy=180_000,
            contract_months=36,
            contract_signed_on=on,
        )
        self._add(
            LoanOpened,
            at(on, 11),
            loan_id=self.loan_id,
            placement_id=self.placement_id,
            principal_idr=12_000_000,
        )
        return self

    def departed(self, on: date) -> Journey:
        self._add(
            Departed,
            at(on),
            placement_id=self.placement_id,
            departure_date=on,
            monthly_wage_jpy=180_000,
            contract_months=36,
        )
        return self

    def due(self, number: int, on: date, amount: int = 1_000_000) -> Journey:
        self._add(
            RepaymentDue,
            at(on, 1),
            loan_id=self.loan_id,
            instalment_number=number,
            due_date=on,
            amount_idr=amount,
        )
        return self

    def paid(self, on: date, amount: int, numbers: list[int], balance: int) -> Journey:
        self._add(
            PaymentRecorded,
            at(on, 12),
            loan_id=self.loan_id,
            payment_id=uuid.uuid4(),
            paid_on=on,
            amount_idr=amount,
            instalment_numbers=numbers,
            balance_idr=balance,
        )
        return self

    def settled(self, on: date, paid: int) -> Journey:
        self._add(
            LoanSettled,
            at(on, 13),
            loan_id=self.loan_id,
            settled_on=on,
            paid_idr=paid,
            refund_due_idr=0,
        )
        return self

    def withdrew(self, on: date, reason: WithdrawalReason) -> Journey:
        self._add(CandidateWithdrawn, at(on), reason=reason, withdrawn_on=on)
        return self

    def returned_early(self, on: date, reason: EarlyReturnReason) -> Journey:
        self._add(
            EarlyReturned,
            at(on),
            placement_id=self.placement_id,
            return_date=on,
            reason=reason,
            months_worked=4,
        )
        return self

    def restructured(self, on: date, first_due: date) -> Journey:
        self._add(
            LoanRestructured,
            at(on),
            loan_id=self.loan_id,
            first_due_date=first_due,
            instalments=6,
            balance_idr=6_000_000,
        )
        return self


class FixedClock:
    """The dashboard's clock, fixed, so arrears are counted on a known day."""

    def __init__(self, today: date) -> None:
        self._now = at(today, 12)

    def now(self) -> datetime:
        return self._now

    def today(self) -> date:
        return self._now.date()


TODAY = date(2026, 12, 1)
K1, K2 = uuid.UUID(int=1), uuid.UUID(int=2)


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
