"""Events of candidates' journeys as the services publish them, for the tests of the services
that consume them: one event with every field filled (`placed`, `departed`), or one candidate's
events built step by step (`Journey`)."""

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
    InstalmentAllocation,
    LoanOpened,
    LoanRestructured,
    LoanSettled,
    LoanWrittenOff,
    PaymentRecorded,
    RepaymentDue,
    RepaymentScheduleFixed,
    ScheduleNeedsDecision,
    TestKind,
    Track,
    WithdrawalReason,
    WriteOffReason,
)


def placed(track: Track = Track.SSW, contract_months: int = 12, **fields: Any) -> CandidatePlaced:
    """A Kalimantan Timur candidate placed as a caregiver at 220,000 yen a month; `fields`
    override any field."""
    values: dict[str, Any] = {
        "agency": "kaltim",
        "journey_id": uuid.uuid4(),
        "placement_id": uuid.uuid4(),
        "candidate_id": uuid.uuid4(),
        "job_order_id": uuid.uuid4(),
        "track": track,
        "sector": "caregiver",
        "supervising_organisation": "JOE Cooperative",
        "monthly_wage_jpy": 220_000,
        "contract_months": contract_months,
    }
    return CandidatePlaced(**{**values, **fields})


def departed(placement: CandidatePlaced, departure_date: date, **fields: Any) -> Departed:
    """The departure of `placement`'s candidate on `departure_date`, on its wage and contract."""
    values: dict[str, Any] = {
        "agency": placement.agency,
        "journey_id": placement.journey_id,
        "placement_id": placement.placement_id,
        "candidate_id": placement.candidate_id,
        "departure_date": departure_date,
        "monthly_wage_jpy": placement.monthly_wage_jpy,
        "contract_months": placement.contract_months,
    }
    return Departed(**{**values, **fields})


def at(day: date, hour: int = 9) -> datetime:
    """When on `day` a journey's event occurs: at `hour` o'clock, UTC."""
    return datetime.combine(day, time(hour), UTC)


@dataclass
class Journey:
    """One candidate's events, built step by step as the services would publish them (a
    placement also opens its loan); `events` keeps them in the order made."""

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

    def due(
        self, number: int, on: date, amount: int = 1_000_000, scheduled: int | None = None
    ) -> Journey:
        """RepaymentDue: 1.0 without `scheduled`, 1.1 with it."""
        self._add(
            RepaymentDue,
            at(on, 1),
            loan_id=self.loan_id,
            instalment_number=number,
            due_date=on,
            amount_idr=amount,
            scheduled_amount_idr=scheduled,
        )
        return self

    def paid(
        self,
        on: date,
        amount: int,
        numbers: list[int],
        balance: int,
        allocations: dict[int, int] | None = None,
        hour: int = 12,
    ) -> Journey:
        """PaymentRecorded: 1.0 without `allocations` (instalment: amount), 1.1 with them."""
        self._add(
            PaymentRecorded,
            at(on, hour),
            loan_id=self.loan_id,
            payment_id=uuid.uuid4(),
            paid_on=on,
            amount_idr=amount,
            instalment_numbers=numbers,
            balance_idr=balance,
            allocations=None
            if allocations is None
            else [
                InstalmentAllocation(instalment_number=number, amount_idr=paid)
                for number, paid in allocations.items()
            ],
        )
        return self

    def schedule_fixed(self, on: date, first_due: date, principal: int = 12_000_000) -> Journey:
        self._add(
            RepaymentScheduleFixed,
            at(on, 14),
            loan_id=self.loan_id,
            first_due_date=first_due,
            instalments=12,
            principal_idr=principal,
        )
        return self

    def needs_decision(self, departed_on: date, owed: int, shortfall: int) -> Journey:
        self._add(
            ScheduleNeedsDecision,
            at(departed_on, 14),
            loan_id=self.loan_id,
            reason="instalment_above_affordability_cap",
            departure_date=departed_on,
            contract_months=12,
            monthly_wage_jpy=40_000,
            owed_idr=owed,
            instalment_cap_idr=900_000,
            share_of_wage_percent=25,
            instalments_within_contract=10,
            smallest_instalment_idr=owed // 10,
            shortfall_idr=shortfall,
        )
        return self

    def written_off(
        self, on: date, amount: int, reason: WriteOffReason, balance: int = 0
    ) -> Journey:
        self._add(
            LoanWrittenOff,
            at(on, 15),
            loan_id=self.loan_id,
            reason=reason,
            written_off_on=on,
            written_off_idr=amount,
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
