"""What registration and the national identity index say to each other: NATS requests and their
replies, not events (they are kept in no stream). Each agency asks under its own subjects
(`identity.<agency>.…`), which the hub offers each agency's account alone, so the index knows who
asks from the subject. No message carries a NIK other than sealed to the index's public key.

- `claims`: registrations to hold in the index. `check` (a registration or NIK correction being
  decided, the link up): a person the index holds for another registration is refused and nothing
  is recorded for it. `record` (registrations already accepted while the index could not be
  asked, or sent again to rebuild it): always recorded; a second active registration of a person
  is a duplicate, settled by `notices`.
- `releases`: candidates withdrawn; the person may be registered elsewhere.
- `notices`: what the index decided since `after` about the agency's candidates (cleared,
  duplicate held, suspended), in order; `epoch` changes when the index was rebuilt, and the asker
  then reads again from the start.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from .envelope import AGENCY_PATTERN

IDENTITY_ROOT = "identity"
MAX_CLAIMS_PER_REQUEST = 500
"""A sealed NIK is 64 bytes (88 in base64): 500 claims stay well inside a NATS message."""
RULE_ONE_ACTIVE = "one_active_registration"


def identity_subject(agency: str, what: Literal["claims", "releases", "notices"]) -> str:
    return f"{IDENTITY_ROOT}.{agency}.{what}.v1"


def identity_requests(agency: str) -> str:
    """Every request `agency` (`*`: any agency) may send the index."""
    return f"{IDENTITY_ROOT}.{agency}.>"


class _Message(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class Claim(_Message):
    candidate_id: uuid.UUID
    agency: str = Field(pattern=AGENCY_PATTERN, description="The candidate's agency.")
    sealed_nik: str = Field(max_length=200, description="jembatan_kit.sealed_nik.seal_nik")
    registered_at: datetime = Field(
        description="When the agency registered the candidate: of two active registrations of "
        "one person, the later is suspended, whatever order the index hears of them in."
    )


class ClaimsRequest(_Message):
    mode: Literal["check", "record"]
    claims: list[Claim] = Field(max_length=MAX_CLAIMS_PER_REQUEST)


class Standing(StrEnum):
    """A registration's standing in the index."""

    CLEARED = "cleared"
    HELD_ELSEWHERE = "held_elsewhere"
    """(check only) refused: the person has another active registration; nothing recorded."""
    DUPLICATE = "duplicate"
    """The earlier of two active registrations of one person: held until it is resolved."""
    SUSPENDED = "suspended"
    """The later of two active registrations of one person."""


class ClaimAnswer(_Message):
    candidate_id: uuid.UUID
    standing: Standing


class ClaimsReply(_Message):
    answers: list[ClaimAnswer] = Field(default_factory=list)
    error: str | None = None


class ReleasesRequest(_Message):
    candidate_ids: list[uuid.UUID] = Field(max_length=MAX_CLAIMS_PER_REQUEST)


class ReleasesReply(_Message):
    released: int = 0
    error: str | None = None


class NoticesRequest(_Message):
    after: int = Field(default=0, ge=0)
    epoch: str | None = None


class Notice(_Message):
    sequence: int
    candidate_id: uuid.UUID
    standing: Standing
    reason: str


class NoticesReply(_Message):
    epoch: str = ""
    notices: list[Notice] = Field(default_factory=list)
    error: str | None = None
