"""The event catalogue. Past tense names; no personal data in any field."""

from __future__ import annotations

import uuid
from datetime import date
from enum import StrEnum
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from .envelope import Event
from .limits import (
    CODE_MAX_LENGTH,
    INSTALMENTS_MAX_ITEMS,
    LEVEL_MAX_LENGTH,
    LIST_MAX_ITEMS,
    NAME_MAX_LENGTH,
    PROVINCE_CODE_MAX_LENGTH,
    RULE_MAX_LENGTH,
    RULE_STATEMENT_MAX_LENGTH,
    Code,
    RuleName,
    RuleStatement,
)


class Track(StrEnum):
    TITP = "TITP"
    """Technical intern training ("magang"), via Kemnaker / IM Japan."""
    SSW = "SSW"
    """Specified Skilled Worker ("tokutei ginou"), usually via an LPK."""


class TestKind(StrEnum):
    __test__ = False  # a test kind, not a pytest test class
    JLPT = "JLPT"
    JFT_BASIC = "JFT_BASIC"
    SSW_SKILL = "SSW_SKILL"
    NURSING_CARE_JAPANESE = "NURSING_CARE_JAPANESE"


# --- registration ---------------------------------------------------------------------------


class IdentityCheck(StrEnum):
    """Where the national identity index stands on a registration (one person, one active
    registration across every agency; docs/identity-index.md)."""

    CLEARED = "cleared"
    """The index holds no other active registration of the person."""
    PROVISIONAL = "provisional"
    """Registered while the index could not be asked (the agency's link to the hub was down):
    the candidate may enrol and train, not be declared ready for placement, until it clears."""


class CandidateRegistered(Event):
    name: ClassVar[str] = "CandidateRegistered"
    subject_suffix: ClassVar[str] = "registration.candidate.registered.v1"
    version: ClassVar[str] = "1.2.0"

    candidate_id: uuid.UUID
    track: Track
    preferred_sector: str = Field(
        max_length=CODE_MAX_LENGTH, description="Sector code, e.g. caregiver, automotive."
    )
    education: str = Field(
        max_length=LEVEL_MAX_LENGTH, description="Highest education level, e.g. SMA, SMK, D3."
    )
    province_code: str = Field(
        max_length=PROVINCE_CODE_MAX_LENGTH,
        description="Two-digit province code of the candidate's region.",
    )
    registered_on: date
    rule_set: str | None = Field(
        default=None, max_length=RULE_MAX_LENGTH, description="Eligibility rule set applied."
    )
    rules_checked: list[RuleName] = Field(
        default_factory=list,
        max_length=LIST_MAX_ITEMS,
        description="Every rule checked; all passed, or it was refused.",
    )
    identity_check: IdentityCheck = Field(
        default=IdentityCheck.CLEARED,
        description="(1.2) Whether the national identity index cleared the person at "
        "registration, or the registration is provisional until it does.",
    )


class WithdrawalReason(StrEnum):
    PERSONAL = "personal"
    HEALTH = "health"
    FAMILY = "family"
    OTHER_WORK = "other_work"
    NOT_SELECTED = "not_selected"
    OTHER = "other"


class CandidateWithdrawn(Event):
    name: ClassVar[str] = "CandidateWithdrawn"
    subject_suffix: ClassVar[str] = "registration.candidate.withdrawn.v1"
    version: ClassVar[str] = "1.0.0"

    candidate_id: uuid.UUID
    reason: WithdrawalReason
    withdrawn_on: date


class CandidateDataCorrected(Event):
    """Personal data was corrected. Names the fields, and carries new values only where they are
    not personal (education, sector); services needing more ask registration."""

    name: ClassVar[str] = "CandidateDataCorrected"
    subject_suffix: ClassVar[str] = "registration.candidate.corrected.v1"
    version: ClassVar[str] = "1.0.0"

    candidate_id: uuid.UUID
    corrected_fields: list[Code] = Field(max_length=LIST_MAX_ITEMS)
    education: str | None = Field(default=None, max_length=LEVEL_MAX_LENGTH)
    preferred_sector: str | None = Field(default=None, max_length=CODE_MAX_LENGTH)
    province_code: str | None = Field(default=None, max_length=PROVINCE_CODE_MAX_LENGTH)


class DuplicateRegistrationFound(Event):
    """The national identity index found the candidate's person actively registered by another
    registration too (one made while an agency's link to the hub was down). Each agency's
    registration announces it for its own candidate. The later registration is suspended; the
    earlier is held: neither may be declared ready for placement until one is withdrawn, or a
    mistyped NIK is corrected (which runs the check again). The other registration is not named."""

    name: ClassVar[str] = "DuplicateRegistrationFound"
    subject_suffix: ClassVar[str] = "registration.candidate.duplicate-found.v1"
    version: ClassVar[str] = "1.0.0"

    candidate_id: uuid.UUID
    suspended: bool = Field(
        description="True for the later of the two registrations, which is suspended; False "
        "for the earlier, which is held until the duplicate is resolved."
    )
    reason: str = Field(max_length=RULE_STATEMENT_MAX_LENGTH, description="In words for operators.")
    found_on: date


class CandidateIdentityCleared(Event):
    """The national identity index cleared a candidate that was provisional, held or suspended:
    the check came through after the link returned, or the other registration was withdrawn or
    corrected. Readiness for placement may now be declared."""

    name: ClassVar[str] = "CandidateIdentityCleared"
    subject_suffix: ClassVar[str] = "registration.candidate.identity-cleared.v1"
    version: ClassVar[str] = "1.0.0"

    candidate_id: uuid.UUID
    cleared_on: date


# --- training -------------------------------------------------------------------------------


class CertificatePassed(Event):
    name: ClassVar[str] = "CertificatePassed"
    subject_suffix: ClassVar[str] = "training.certificate.passed.v1"
    version: ClassVar[str] = "1.0.0"

    candidate_id: uuid.UUID
    certificate_id: uuid.UUID
    test: TestKind
    level: str | None = Field(
        default=None, max_length=LEVEL_MAX_LENGTH, description="e.g. N4 for JLPT."
    )
    score: int | None = Field(default=None, description="e.g. 215 for JFT-Basic.")
    sector: str | None = Field(
        default=None, max_length=CODE_MAX_LENGTH, description="For sector skill tests."
    )
    issuer: str = Field(max_length=NAME_MAX_LENGTH)
    passed_on: date


class CandidateReadyForPlacement(Event):
    name: ClassVar[str] = "CandidateReadyForPlacement"
    subject_suffix: ClassVar[str] = "training.candidate.ready.v1"
    version: ClassVar[str] = "1.1.0"

    candidate_id: uuid.UUID
    track: Track
    sector: str = Field(max_length=CODE_MAX_LENGTH)
    language_level: str = Field(
        max_length=LEVEL_MAX_LENGTH, description="Best language level reached, e.g. N4."
    )
    satisfied_rules: list[RuleStatement] = Field(
        max_length=LIST_MAX_ITEMS, description="The readiness rules the candidate met."
    )
    daily_score_average: float | None = Field(
        default=None, ge=0, le=100, description="Average of the recent daily training scores."
    )


class DailyScoreRecorded(Event):
    """A training centre recorded a candidate's score (0-100) for one day of training. Posting the
    same day again publishes the new score, which replaces the earlier one. Names the candidate's
    current cohort so dashboards can follow each cohort against the daily target."""

    name: ClassVar[str] = "DailyScoreRecorded"
    subject_suffix: ClassVar[str] = "training.daily-score.recorded.v1"
    version: ClassVar[str] = "1.0.0"

    candidate_id: uuid.UUID
    day: date
    score: int = Field(ge=0, le=100)
    cohort_id: uuid.UUID | None = Field(
        default=None, description="The cohort the candidate sat in when scored, if any."
    )
    cohort_name: str | None = Field(
        default=None, max_length=NAME_MAX_LENGTH, description="e.g. 'Caregiver batch 3'."
    )
    training_centre: str | None = Field(
        default=None, max_length=NAME_MAX_LENGTH, description="e.g. 'BPVP Samarinda'."
    )


# --- placement ------------------------------------------------------------------------------
# A candidate's path on one job order: shortlisted, interviewed, offered, contract signed (the slot
# is taken: CandidatePlaced), Certificate of Eligibility, visa, departure, perhaps an early return.


class CandidateShortlisted(Event):
    name: ClassVar[str] = "CandidateShortlisted"
    subject_suffix: ClassVar[str] = "placement.candidate.shortlisted.v1"
    version: ClassVar[str] = "1.0.0"

    placement_id: uuid.UUID
    candidate_id: uuid.UUID
    job_order_id: uuid.UUID
    track: Track
    sector: str = Field(max_length=CODE_MAX_LENGTH)
    shortlisted_on: date


class CandidateInterviewed(Event):
    """A failed interview ends the candidate's path on this order; no slot was taken."""

    name: ClassVar[str] = "CandidateInterviewed"
    subject_suffix: ClassVar[str] = "placement.candidate.interviewed.v1"
    version: ClassVar[str] = "1.0.0"

    placement_id: uuid.UUID
    candidate_id: uuid.UUID
    job_order_id: uuid.UUID
    interviewed_on: date
    passed: bool


class CandidateOffered(Event):
    name: ClassVar[str] = "CandidateOffered"
    subject_suffix: ClassVar[str] = "placement.candidate.offered.v1"
    version: ClassVar[str] = "1.0.0"

    placement_id: uuid.UUID
    candidate_id: uuid.UUID
    job_order_id: uuid.UUID
    offered_on: date
    monthly_wage_jpy: int = Field(gt=0)
    contract_months: int = Field(gt=0)


class CandidatePlaced(Event):
    """The employment contract is signed and the candidate holds one of the order's slots."""

    name: ClassVar[str] = "CandidatePlaced"
    subject_suffix: ClassVar[str] = "placement.candidate.placed.v1"
    version: ClassVar[str] = "1.1.0"

    placement_id: uuid.UUID
    candidate_id: uuid.UUID
    job_order_id: uuid.UUID
    track: Track
    sector: str = Field(max_length=CODE_MAX_LENGTH)
    supervising_organisation: str = Field(max_length=NAME_MAX_LENGTH)
    monthly_wage_jpy: int = Field(gt=0)
    contract_months: int = Field(gt=0)
    contract_signed_on: date | None = Field(
        default=None, description="The day the employment contract was signed."
    )


class CertificateOfEligibilityIssued(Event):
    name: ClassVar[str] = "CertificateOfEligibilityIssued"
    subject_suffix: ClassVar[str] = "placement.candidate.coe-issued.v1"
    version: ClassVar[str] = "1.0.0"

    placement_id: uuid.UUID
    candidate_id: uuid.UUID
    issued_on: date


class VisaIssued(Event):
    name: ClassVar[str] = "VisaIssued"
    subject_suffix: ClassVar[str] = "placement.candidate.visa-issued.v1"
    version: ClassVar[str] = "1.0.0"

    placement_id: uuid.UUID
    candidate_id: uuid.UUID
    issued_on: date


class Departed(Event):
    name: ClassVar[str] = "Departed"
    subject_suffix: ClassVar[str] = "placement.candidate.departed.v1"
    version: ClassVar[str] = "1.0.0"

    placement_id: uuid.UUID
    candidate_id: uuid.UUID
    departure_date: date
    monthly_wage_jpy: int = Field(gt=0)
    contract_months: int = Field(gt=0)


class EarlyReturnReason(StrEnum):
    CONTRACT_ENDED_EARLY = "contract_ended_early"
    EMPLOYER_FAILURE = "employer_failure"
    HEALTH = "health"
    OTHER = "other"


class EarlyReturned(Event):
    """The worker came home before the contract's end; financing may pause the schedule."""

    name: ClassVar[str] = "EarlyReturned"
    subject_suffix: ClassVar[str] = "placement.candidate.returned-early.v1"
    version: ClassVar[str] = "1.0.0"

    placement_id: uuid.UUID
    candidate_id: uuid.UUID
    return_date: date
    reason: EarlyReturnReason
    months_worked: int = Field(ge=0, description="Whole months from departure to return.")


# --- financing ------------------------------------------------------------------------------


class LoanOpened(Event):
    name: ClassVar[str] = "LoanOpened"
    subject_suffix: ClassVar[str] = "financing.loan.opened.v1"
    version: ClassVar[str] = "1.0.0"

    loan_id: uuid.UUID
    candidate_id: uuid.UUID
    placement_id: uuid.UUID
    principal_idr: int = Field(ge=0)


class RepaymentScheduleFixed(Event):
    name: ClassVar[str] = "RepaymentScheduleFixed"
    subject_suffix: ClassVar[str] = "financing.loan.schedule-fixed.v1"
    version: ClassVar[str] = "1.0.0"

    loan_id: uuid.UUID
    candidate_id: uuid.UUID
    first_due_date: date
    instalments: int = Field(gt=0)
    principal_idr: int = Field(ge=0)


class RepaymentDue(Event):
    """An instalment fell due. Since 1.1.0 it carries the instalment's scheduled amount too, so
    a consumer knows what was due even when part of it was paid before the announcement."""

    name: ClassVar[str] = "RepaymentDue"
    subject_suffix: ClassVar[str] = "financing.repayment.due.v1"
    version: ClassVar[str] = "1.1.0"

    loan_id: uuid.UUID
    candidate_id: uuid.UUID
    instalment_number: int = Field(gt=0)
    due_date: date
    amount_idr: int = Field(
        gt=0, description="What was still owed on the instalment when it was announced."
    )
    scheduled_amount_idr: int | None = Field(
        default=None,
        gt=0,
        description="The instalment's scheduled amount, whatever was paid of it before. "
        "Since 1.1.0; absent from earlier events.",
    )


class InstalmentAllocation(BaseModel):
    """What one payment paid of one instalment."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    instalment_number: int = Field(gt=0)
    amount_idr: int = Field(gt=0)


class PaymentRecorded(Event):
    """The participant's own transfer was recorded against their loan. Since 1.1.0 it says how
    much went to each instalment (`allocations`)."""

    name: ClassVar[str] = "PaymentRecorded"
    subject_suffix: ClassVar[str] = "financing.payment.recorded.v1"
    version: ClassVar[str] = "1.1.0"

    loan_id: uuid.UUID
    candidate_id: uuid.UUID
    payment_id: uuid.UUID
    paid_on: date
    amount_idr: int = Field(gt=0)
    instalment_numbers: list[int] = Field(
        max_length=INSTALMENTS_MAX_ITEMS,
        description="The instalments this payment went to, oldest first; empty if all credit.",
    )
    balance_idr: int = Field(ge=0, description="What the participant still owes afterwards.")
    allocations: list[InstalmentAllocation] | None = Field(
        default=None,
        max_length=INSTALMENTS_MAX_ITEMS,
        description="How much of the payment went to each instalment, oldest first (the "
        "instalments of `instalment_numbers`); empty if all credit. Since 1.1.0; absent from "
        "earlier events.",
    )


class LoanSettled(Event):
    """The balance reached zero; any over-payment is refunded to the participant."""

    name: ClassVar[str] = "LoanSettled"
    subject_suffix: ClassVar[str] = "financing.loan.settled.v1"
    version: ClassVar[str] = "1.0.0"

    loan_id: uuid.UUID
    candidate_id: uuid.UUID
    settled_on: date
    paid_idr: int = Field(ge=0)
    refund_due_idr: int = Field(ge=0)


class LoanRestructured(Event):
    """After an early return, the remaining balance got a new schedule."""

    name: ClassVar[str] = "LoanRestructured"
    subject_suffix: ClassVar[str] = "financing.loan.restructured.v1"
    version: ClassVar[str] = "1.0.0"

    loan_id: uuid.UUID
    candidate_id: uuid.UUID
    first_due_date: date
    instalments: int = Field(gt=0)
    balance_idr: int = Field(gt=0)


class ScheduleNeedsDecision(Event):
    """The participant departed, but no repayment schedule meets the rules: even the longest one
    within the contract asks more a month than the share of the wage an instalment may take.
    Nothing falls due until an operator decides: a schedule within the contract, a subsidy, or
    a write-off by the funder (at least `shortfall_idr` of the two)."""

    name: ClassVar[str] = "ScheduleNeedsDecision"
    subject_suffix: ClassVar[str] = "financing.loan.schedule-needs-decision.v1"
    version: ClassVar[str] = "1.0.0"

    loan_id: uuid.UUID
    candidate_id: uuid.UUID
    reason: RuleName = Field(description="The rule no schedule meets.")
    departure_date: date
    contract_months: int = Field(gt=0)
    monthly_wage_jpy: int = Field(gt=0)
    owed_idr: int = Field(gt=0, description="Charges less subsidies and write-offs.")
    instalment_cap_idr: int = Field(ge=0, description="The largest instalment the wage allows.")
    share_of_wage_percent: int = Field(ge=0, le=100)
    instalments_within_contract: int = Field(
        ge=0, description="Monthly instalments from the 3rd month to the contract's end."
    )
    smallest_instalment_idr: int = Field(
        ge=0, description="The largest instalment of the longest schedule within the contract."
    )
    shortfall_idr: int = Field(
        gt=0, description="What a subsidy or write-off must take off for that schedule to fit."
    )


class WriteOffReason(StrEnum):
    UNAFFORDABLE_SCHEDULE = "unaffordable_schedule"
    """No schedule within the contract fits the wage; the funder takes the loss."""
    NEVER_DEPARTED = "never_departed"
    """The candidate withdrew before departing; by default nothing is asked of them."""


class LoanWrittenOff(Event):
    """The funder wrote off what the participant owed, in part or in full: the funder's loss."""

    name: ClassVar[str] = "LoanWrittenOff"
    subject_suffix: ClassVar[str] = "financing.loan.written-off.v1"
    version: ClassVar[str] = "1.0.0"

    loan_id: uuid.UUID
    candidate_id: uuid.UUID
    reason: WriteOffReason
    written_off_on: date
    written_off_idr: int = Field(gt=0, description="The funder's loss by this write-off.")
    balance_idr: int = Field(ge=0, description="What the participant still owes afterwards.")


CATALOGUE: tuple[type[Event], ...] = (
    CandidateRegistered,
    CandidateWithdrawn,
    CandidateDataCorrected,
    DuplicateRegistrationFound,
    CandidateIdentityCleared,
    CertificatePassed,
    CandidateReadyForPlacement,
    DailyScoreRecorded,
    CandidateShortlisted,
    CandidateInterviewed,
    CandidateOffered,
    CandidatePlaced,
    CertificateOfEligibilityIssued,
    VisaIssued,
    Departed,
    EarlyReturned,
    LoanOpened,
    RepaymentScheduleFixed,
    RepaymentDue,
    PaymentRecorded,
    LoanSettled,
    LoanRestructured,
    ScheduleNeedsDecision,
    LoanWrittenOff,
)
