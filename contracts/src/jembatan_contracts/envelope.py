"""The envelope every Jembatan event carries, and the base class of all events."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .ids import new_id
from .limits import LEVEL_MAX_LENGTH, RULE_MAX_LENGTH

SUBJECT_ROOT = "jembatan"
AGENCY_PATTERN = r"^[a-z][a-z0-9-]{1,31}$"
"""An agency code is one lowercase subject token, e.g. `kemnaker`, `kaltim`, `kota-serang`."""


def new_event_id() -> uuid.UUID:
    """Time-ordered (`ids.new_id`): outbox and inbox rows keyed by it are added at the end of
    their indexes."""
    return new_id()


class Event(BaseModel):
    """Base of every integration event.

    Subclasses set `name` (the event type, past tense), `subject_suffix` (lowercase dot tokens,
    ending in the major version) and `version`. The full subject is
    `jembatan.<agency>.<subject_suffix>`, so each agency publishes only under its own prefix.
    (A fixed first token: JetStream refuses stream subjects that start with a wildcard.)
    No event carries a NIK, a name or a phone number.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    name: ClassVar[str]
    subject_suffix: ClassVar[str]
    version: ClassVar[str]

    event_id: uuid.UUID = Field(default_factory=new_event_id, description="Also the Nats-Msg-Id.")
    event_type: str = Field(
        default="",
        max_length=RULE_MAX_LENGTH,
        description="The event's name, e.g. CandidateRegistered.",
    )
    schema_version: str = Field(
        default="",
        max_length=LEVEL_MAX_LENGTH,
        description="Semantic version of this event's schema.",
    )
    occurred_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    agency: str = Field(pattern=AGENCY_PATTERN, description="The agency that produced the event.")
    journey_id: uuid.UUID = Field(description="Follows one candidate through every service.")

    def model_post_init(self, context: object, /) -> None:
        # Fill the type and version from the class, so a producer cannot mislabel an event.
        object.__setattr__(self, "event_type", type(self).name)
        object.__setattr__(self, "schema_version", type(self).version)

    @field_validator("occurred_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("occurred_at must carry a time zone")
        return value

    @classmethod
    def major(cls) -> int:
        return int(cls.version.split(".")[0])

    @classmethod
    def stream_name(cls) -> str:
        """The JetStream stream this event is kept in: the first token of its subject suffix,
        upper-cased (`registration.candidate_registered` is in REGISTRATION)."""
        return cls.subject_suffix.split(".")[0].upper()

    @classmethod
    def subject_for(cls, agency: str) -> str:
        """The subject this event is published on by `agency`."""
        if not re.match(AGENCY_PATTERN, agency):
            raise ValueError(f"agency code {agency!r} is not one lowercase subject token")
        return f"{SUBJECT_ROOT}.{agency}.{cls.subject_suffix}"

    @classmethod
    def subject_any_agency(cls) -> str:
        """The wildcard subject a consumer serving every agency subscribes to."""
        return f"{SUBJECT_ROOT}.*.{cls.subject_suffix}"

    @property
    def subject(self) -> str:
        return self.subject_for(self.agency)
