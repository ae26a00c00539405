"""Size limits every event respects, field by field and as a whole.

Events are small: a few hundred bytes of ids, dates and short codes. The per-field limits keep
each text to what the domain needs (a sector code is a word, an issuer a name); `MAX_EVENT_BYTES`
bounds the serialised event, and so every message a producer stages (`check_event_size`, called
where events are written to the outbox). The nats-server configs allow several times as much
(`max_payload`), so that a dead letter carrying an event of this size, with its headers, always
fits; anything larger that still reaches a stream is dead-lettered unread.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from pydantic import Field

if TYPE_CHECKING:
    from .envelope import Event

MAX_EVENT_BYTES = 64 * 1024
"""The largest serialised event, in bytes: some hundred times a real one."""

CODE_MAX_LENGTH = 40
"""A code such as a sector (`caregiver`) or a corrected field's name."""
LEVEL_MAX_LENGTH = 16
"""An education or language level (`SMK`, `N4`)."""
PROVINCE_CODE_MAX_LENGTH = 2
"""A two-digit province code (`64`)."""
RULE_MAX_LENGTH = 64
"""The name of a rule or rule set (`age_between_18_and_30`)."""
NAME_MAX_LENGTH = 200
"""The name of an organisation, issuer, training centre or cohort (never of a person)."""
RULE_STATEMENT_MAX_LENGTH = 400
"""A rule met, in words with its evidence (`Japanese at N4 or better: JLPT N4 from Japan
Foundation, 2026-06-07`): a description, an issuer's name and a date."""
LIST_MAX_ITEMS = 20
"""Rules checked, rules met, fields corrected: a handful each."""
INSTALMENTS_MAX_ITEMS = 600
"""Instalments one payment can settle: more than any loan has."""

Code = Annotated[str, Field(max_length=CODE_MAX_LENGTH)]
RuleName = Annotated[str, Field(max_length=RULE_MAX_LENGTH)]
RuleStatement = Annotated[str, Field(max_length=RULE_STATEMENT_MAX_LENGTH)]


class EventTooLarge(ValueError):
    """An event whose serialised form exceeds `MAX_EVENT_BYTES`; it is never staged."""


def check_event_size(event_type: str, serialised: str | bytes) -> None:
    """Refuse a serialised event larger than `MAX_EVENT_BYTES`, naming the rule."""
    size = len(serialised.encode() if isinstance(serialised, str) else serialised)
    if size > MAX_EVENT_BYTES:
        raise EventTooLarge(
            f"{event_type} is {size} bytes serialised; an event may be at most"
            f" {MAX_EVENT_BYTES} bytes (MAX_EVENT_BYTES)"
        )


def serialise_within_limit(event: Event) -> str:
    """The event as JSON for the bus, refused (`EventTooLarge`) if larger than the limit."""
    serialised = event.model_dump_json()
    check_event_size(event.event_type, serialised)
    return serialised


DEAD_LETTER_HEADER_VALUE_MAX_LENGTH = 1000
"""Each header of a dead letter (the reason above all) is cut to this many characters."""
DEAD_LETTER_MAX_BYTES = MAX_EVENT_BYTES + 16 * 1024
"""The largest dead letter: an event-sized body and its dozen headers, each bounded. The
nats-server's `max_payload` must allow it (`deploy/nats`)."""
