"""Streams: one per owning service.

Subjects are `jembatan.<agency>.<service>.<entity>.<event>.v<major>`."""

from dataclasses import dataclass


@dataclass(frozen=True)
class StreamSpec:
    name: str
    subjects: tuple[str, ...]
    description: str


REGISTRATION = StreamSpec("REGISTRATION", ("jembatan.*.registration.>",), "Owned by registration")
TRAINING = StreamSpec("TRAINING", ("jembatan.*.training.>",), "Owned by training")
PLACEMENT = StreamSpec("PLACEMENT", ("jembatan.*.placement.>",), "Owned by placement")
FINANCING = StreamSpec("FINANCING", ("jembatan.*.financing.>",), "Owned by financing")
DEAD_LETTER = StreamSpec(
    "DEADLETTER",
    ("deadletter.>",),
    "Messages a consumer could never process, with the reason in the headers",
)

ALL_STREAMS: tuple[StreamSpec, ...] = (REGISTRATION, TRAINING, PLACEMENT, FINANCING, DEAD_LETTER)


def dead_letter_subject(durable: str) -> str:
    return f"deadletter.{durable}"


class DeadLetterHeader:
    """Headers of a dead-lettered message: why, by whom, and where the original came from, so an
    operator can inspect and replay it (`jembatan deadletter`)."""

    REASON = "Jembatan-Dead-Letter-Reason"
    CONSUMER = "Jembatan-Consumer"
    """The durable consumer that gave up on the message."""
    DEAD_LETTERED_AT = "Jembatan-Dead-Lettered-At"
    ORIGINAL_SUBJECT = "Jembatan-Original-Subject"
    ORIGINAL_STREAM = "Jembatan-Original-Stream"
    ORIGINAL_SEQUENCE = "Jembatan-Original-Sequence"
    ORIGINAL_MSG_ID = "Jembatan-Original-Msg-Id"
    """The original's `Nats-Msg-Id` (the event id, for events the relay published)."""
    TRACEPARENT = "traceparent"
    """Copied from the original, so the dead letter and its replay stay in the journey's trace."""
    BODY_OBJECT = "Jembatan-Body-Object"
    """Set when the body is too large to carry: the name of the object holding it in the
    `DEAD_LETTER_BODIES` object store; the dead letter's own body is then empty."""


DEAD_LETTER_BODIES = "DEADLETTER_BODIES"
"""JetStream object store bucket for the bodies of dead letters too large to carry inline."""

REPLAY_FOR_HEADER = "Jembatan-Replay-For"
"""On a replayed dead letter: the one durable consumer it is for. Every other consumer of the
subject acknowledges it without handling it; the named one's inbox decides as for any message."""
