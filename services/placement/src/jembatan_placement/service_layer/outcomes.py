"""What a handler answers for each item of its list, and how a list is applied in order when a
request at the same moment may win some of its writes."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from jembatan_kit.auth import Caller, require_agency
from jembatan_kit.errors import RuleViolation

from ..adapters.repository import PlacementRepository


@dataclass(frozen=True)
class Refused:
    refusal: RuleViolation


@dataclass(frozen=True)
class PlacementIds:
    """A placement started or moved, and its candidate."""

    placement_id: uuid.UUID
    candidate_id: uuid.UUID


Answer = TypeVar("Answer")
Command = TypeVar("Command")


def raise_if_refused(outcome: Answer | Refused) -> Answer:
    """The answer to a command, or its refusal raised (for an endpoint serving one command)."""
    if isinstance(outcome, Refused):
        raise outcome.refusal
    return outcome


def in_scope(caller: Caller | None, agency: str | None, what: str) -> None:
    """Refuse a caller outside the agency of a record (none for a record not found, which its
    own rule refuses, nor for events, which have no caller)."""
    if caller is not None and agency is not None:
        require_agency(caller, agency, what)


@dataclass(frozen=True)
class Decided(Generic[Answer]):
    outcome: Answer | Refused
    writes: frozenset[uuid.UUID] = frozenset()
    """The job orders or placements whose writes the answer stands on: if `save` leaves one
    unwritten, nothing of the item was written."""


WRITE_ATTEMPTS = 3
"""How often an item whose writes a request at the same moment won is decided again, afresh."""


async def applied_in_order(
    commands: Sequence[Command],
    decide: Callable[[list[Command]], Awaitable[list[Decided[Answer]]]],
    repo: PlacementRepository,
    changed_meanwhile: Callable[[Command], RuleViolation],
) -> list[Answer | Refused]:
    """`decide` the commands in order (loading, applying the rules, adding to `repo`), then save.
    An item whose writes were left unwritten, because a request at the same moment changed the
    same order or placement first, is decided again with what is stored now: refused by the rule
    it now breaks, or accepted. After `WRITE_ATTEMPTS` it is refused as `changed_meanwhile`."""
    answers: dict[int, Answer | Refused] = {}
    pending = list(range(len(commands)))
    for _ in range(WRITE_ATTEMPTS):
        decided = await decide([commands[index] for index in pending])
        lost = await repo.save()
        again = []
        for index, decision in zip(pending, decided, strict=True):
            if decision.writes & lost:
                again.append(index)
            else:
                answers[index] = decision.outcome
        pending = again
        if not pending:
            break
    for index in pending:
        answers[index] = Refused(changed_meanwhile(commands[index]))
    return [answers[index] for index in range(len(commands))]
