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
