"""What an operator asks of financing. Each handler takes a list of one kind; the events that
financing reacts to (CandidatePlaced, Departed, EarlyReturned, CandidateWithdrawn) come from
`jembatan_contracts`."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from .costs import CostItem


@dataclass(frozen=True)
class CreateFunder:
    name: str


@dataclass(frozen=True)
class AddCostItem:
    loan_id: uuid.UUID
    item: CostItem


@dataclass(frozen=True)
class RemoveCostItem:
    loan_id: uuid.UUID
    code: str


@dataclass(frozen=True)
class GrantSubsidy:
    loan_id: uuid.UUID
    provider: str
    item: str
    amount_idr: int


@dataclass(frozen=True)
class RecordPayment:
    """The participant's own transfer, known by its reference."""

    loan_id: uuid.UUID
    reference: str
    paid_on: date
    amount_idr: int
    channel: str


@dataclass(frozen=True)
class Restructure:
    loan_id: uuid.UUID
    first_due_date: date
    instalments: int


@dataclass(frozen=True)
class ScheduleWithinContract:
    """A schedule chosen for a loan that needs a decision; by default the longest within the
    contract from the earliest day it may start."""

    loan_id: uuid.UUID
    first_due_date: date | None = None
    instalments: int | None = None


@dataclass(frozen=True)
class WriteOff:
    """The funder takes `amount_idr` off what the participant owes (by default the least that
    lets a schedule within the contract fit the cap)."""

    loan_id: uuid.UUID
    amount_idr: int | None = None
