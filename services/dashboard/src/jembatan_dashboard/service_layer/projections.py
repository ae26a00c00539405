"""How events change the read model: what each event the dashboard follows tells (written once,
below, as a fact about a candidate, a loan, a score or a drop-out), and `project`, which applies
a list of events in order and writes what they tell together, a statement per table.

A consumer's batch, a message handled alone (a list of one) and a rebuild's replay all go
through `project`. Every fact is merged with what is stored as it is with the list's other
facts (domain/facts.py): redelivery, the order of arrival across consumers, the size of the
lists and a rebuild from the streams all give the same read model and the same figures.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from jembatan_contracts import (
    CandidateIdentityCleared,
    CandidateInterviewed,
    CandidatePlaced,
    CandidateReadyForPlacement,
    CandidateRegistered,
    CandidateWithdrawn,
    CertificatePassed,
    DailyScoreRecorded,
    Departed,
    DuplicateRegistrationFound,
    EarlyReturned,
    Event,
    IdentityCheck,
    LoanOpened,
    LoanRestructured,
    LoanSettled,
    LoanWrittenOff,
    PaymentRecorded,
    RepaymentDue,
    RepaymentScheduleFixed,
    ScheduleNeedsDecision,
    WriteOffReason,
)

from ..adapters.repository import ReadModelRepository
from ..domain.facts import (
    DecisionNeeded,
    DropOut,
    Facts,
    InstalmentDue,
    NationalCheck,
    Payment,
    Restructuring,
    Score,
    WriteOff,
)
from ..domain.stages import DropOutKind

INTERVIEW_NOT_PASSED = "not_passed"


def utc(moment: datetime) -> datetime:
    """Instants are kept in UTC, so they compare alike on every database."""
    return moment.astimezone(UTC)


# Registration and training


def candidate_registered(event: CandidateRegistered, facts: Facts) -> None:
    facts.candidate(
        event.candidate_id, event.agency, event.track.value, registered_on=event.registered_on
    )
    if event.identity_check is IdentityCheck.PROVISIONAL:
        told = NationalCheck(event.agency, "provisional", utc(event.occurred_at))
        facts.national_check(event.candidate_id, told)


def duplicate_found(event: DuplicateRegistrationFound, facts: Facts) -> None:
    check = "suspended" if event.suspended else "duplicate"
    facts.national_check(
        event.candidate_id, NationalCheck(event.agency, check, utc(event.occurred_at))
    )


def identity_cleared(event: CandidateIdentityCleared, facts: Facts) -> None:
    facts.national_check(
        event.candidate_id, NationalCheck(event.agency, "cleared", utc(event.occurred_at))
    )


def candidate_withdrawn(event: CandidateWithdrawn, facts: Facts) -> None:
    facts.candidate(event.candidate_id, event.agency, withdrawn_on=event.withdrawn_on)
    facts.drop_out(
        event.event_id,
        DropOut(
            event.candidate_id,
            event.agency,
            DropOutKind.WITHDRAWN,
            event.reason.value,
            event.withdrawn_on,
        ),
    )


def daily_score_recorded(event: DailyScoreRecorded, facts: Facts) -> None:
    facts.candidate(event.candidate_id, event.agency, in_training_on=event.day)
    facts.score(
        event.candidate_id,
        event.day,
        Score(
            event.agency,
            event.score,
            event.cohort_id,
            event.cohort_name,
            event.training_centre,
            utc(event.occurred_at),
        ),
    )


def certificate_passed(event: CertificatePassed, facts: Facts) -> None:
    facts.candidate(
        event.candidate_id,
        event.agency,
        in_training_on=event.passed_on,
        certified_on=event.passed_on,
    )


def candidate_ready(event: CandidateReadyForPlacement, facts: Facts) -> None:
    facts.candidate(
        event.candidate_id, event.agency, event.track.value, ready_on=event.occurred_at.date()
    )


# Placement


def candidate_interviewed(event: CandidateInterviewed, facts: Facts) -> None:
    if event.passed:
        return  # a passed interview is no stage of the funnel
    facts.candidate(event.candidate_id, event.agency)
    facts.drop_out(
        event.event_id,
        DropOut(
            event.candidate_id,
            event.agency,
            DropOutKind.INTERVIEW_FAILED,
            INTERVIEW_NOT_PASSED,
            event.interviewed_on,
        ),
    )


def candidate_placed(event: CandidatePlaced, facts: Facts) -> None:
    signed = event.contract_signed_on or event.occurred_at.date()
    facts.candidate(event.candidate_id, event.agency, event.track.value, placed_on=signed)


def departed(event: Departed, facts: Facts) -> None:
    facts.candidate(event.candidate_id, event.agency, departed_on=event.departure_date)


def early_returned(event: EarlyReturned, facts: Facts) -> None:
    facts.candidate(event.candidate_id, event.agency, returned_on=event.return_date)
    facts.drop_out(
        event.event_id,
        DropOut(
            event.candidate_id,
            event.agency,
            DropOutKind.EARLY_RETURN,
            event.reason.value,
            event.return_date,
        ),
    )


# Financing: every loan event also tells of the loan and its candidate.


def loan_opened(event: LoanOpened, facts: Facts) -> None:
    facts.candidate(event.candidate_id, event.agency)
    facts.loan(event.loan_id, event.candidate_id, event.agency)


def repayment_due(event: RepaymentDue, facts: Facts) -> None:
    facts.candidate(event.candidate_id, event.agency, repaying_on=event.due_date)
    facts.loan(event.loan_id, event.candidate_id, event.agency)
    facts.instalment_due(
        event.loan_id,
        event.instalment_number,
        InstalmentDue(
            event.due_date,
            event.amount_idr,
            utc(event.occurred_at),
            event.scheduled_amount_idr,  # None before 1.1
        ),
    )


def payment_recorded(event: PaymentRecorded, facts: Facts) -> None:
    facts.candidate(event.candidate_id, event.agency, repaying_on=event.paid_on)
    facts.loan(event.loan_id, event.candidate_id, event.agency)
    facts.payment(
        event.payment_id,
        Payment(
            event.loan_id,
            event.amount_idr,
            tuple(event.instalment_numbers),
            utc(event.occurred_at),
            event.paid_on,
            None  # before 1.1
            if event.allocations is None
            else tuple((a.instalment_number, a.amount_idr) for a in event.allocations),
        ),
    )


def loan_settled(event: LoanSettled, facts: Facts) -> None:
    facts.candidate(event.candidate_id, event.agency, settled_on=event.settled_on)
    facts.loan(event.loan_id, event.candidate_id, event.agency, settled_on=event.settled_on)


def loan_restructured(event: LoanRestructured, facts: Facts) -> None:
    facts.candidate(event.candidate_id, event.agency)
    facts.loan(event.loan_id, event.candidate_id, event.agency)
    facts.restructuring(
        event.event_id,
        Restructuring(event.loan_id, utc(event.occurred_at), event.first_due_date),
    )


def schedule_fixed(event: RepaymentScheduleFixed, facts: Facts) -> None:
    facts.candidate(event.candidate_id, event.agency)
    facts.loan(
        event.loan_id,
        event.candidate_id,
        event.agency,
        schedule_fixed_on=utc(event.occurred_at).date(),
    )


def schedule_needs_decision(event: ScheduleNeedsDecision, facts: Facts) -> None:
    facts.candidate(event.candidate_id, event.agency)
    facts.loan(event.loan_id, event.candidate_id, event.agency)
    facts.decision_needed(
        event.loan_id,
        DecisionNeeded(
            event.reason,
            event.departure_date,
            event.owed_idr,
            event.shortfall_idr,
            utc(event.occurred_at),
        ),
    )


def loan_written_off(event: LoanWrittenOff, facts: Facts) -> None:
    facts.candidate(event.candidate_id, event.agency)
    if event.reason is WriteOffReason.NEVER_DEPARTED:
        # Financing closes the loan of a candidate who withdrew before departing.
        facts.loan(event.loan_id, event.candidate_id, event.agency, closed_on=event.written_off_on)
    else:
        facts.loan(event.loan_id, event.candidate_id, event.agency)
    facts.write_off(
        event.event_id,
        WriteOff(event.loan_id, event.reason.value, event.written_off_idr, event.written_off_on),
    )


Projection = Callable[[Any, Facts], None]

PROJECTIONS: dict[type[Event], tuple[str, Projection]] = {
    CandidateRegistered: ("dashboard-candidate-registered", candidate_registered),
    CandidateWithdrawn: ("dashboard-candidate-withdrawn", candidate_withdrawn),
    DuplicateRegistrationFound: ("dashboard-duplicate-found", duplicate_found),
    CandidateIdentityCleared: ("dashboard-identity-cleared", identity_cleared),
    CertificatePassed: ("dashboard-certificate-passed", certificate_passed),
    DailyScoreRecorded: ("dashboard-daily-score-recorded", daily_score_recorded),
    CandidateReadyForPlacement: ("dashboard-candidate-ready", candidate_ready),
    CandidateInterviewed: ("dashboard-candidate-interviewed", candidate_interviewed),
    CandidatePlaced: ("dashboard-candidate-placed", candidate_placed),
    Departed: ("dashboard-departed", departed),
    EarlyReturned: ("dashboard-early-returned", early_returned),
    LoanOpened: ("dashboard-loan-opened", loan_opened),
    RepaymentDue: ("dashboard-repayment-due", repayment_due),
    PaymentRecorded: ("dashboard-payment-recorded", payment_recorded),
    LoanSettled: ("dashboard-loan-settled", loan_settled),
    LoanRestructured: ("dashboard-loan-restructured", loan_restructured),
    RepaymentScheduleFixed: ("dashboard-schedule-fixed", schedule_fixed),
    ScheduleNeedsDecision: ("dashboard-schedule-needs-decision", schedule_needs_decision),
    LoanWrittenOff: ("dashboard-loan-written-off", loan_written_off),
}
"""Each event the dashboard follows: its durable consumer, and what one such event tells."""


def facts_of(events: Sequence[Event]) -> Facts:
    """What `events` tell, in order (an event the dashboard does not follow raises KeyError)."""
    facts = Facts()
    for event in events:
        _, tell = PROJECTIONS[type(event)]
        tell(event, facts)
    return facts


async def project(session: AsyncSession, events: Sequence[Event]) -> None:
    """The read model after `events`, applied in order: the same as applying them one by one,
    in a few statements (one per table the events touch)."""
    await ReadModelRepository(session).save(facts_of(events))
