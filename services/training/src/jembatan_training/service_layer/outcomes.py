"""A handler answers each item of its list with what it made of it, or with its refusal."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TypeAlias, TypeVar

from jembatan_kit.errors import RuleViolation

T = TypeVar("T")
Item = TypeVar("Item")

Outcome: TypeAlias = T | RuleViolation
"""What a handler made of an item, or the rule that refused it."""


def each(items: Iterable[Item], apply: Callable[[Item], T]) -> list[Outcome[T]]:
    """`apply` to each item in order; an item refused by a rule keeps its refusal and the next
    item goes on."""
    outcomes: list[Outcome[T]] = []
    for item in items:
        try:
            outcomes.append(apply(item))
        except RuleViolation as refusal:
            outcomes.append(refusal)
    return outcomes


def only(outcomes: Sequence[T | Exception]) -> T:
    """The outcome of a list of one item: what the handler made of it, or its refusal raised."""
    [outcome] = outcomes
    if isinstance(outcome, Exception):
        raise outcome
    return outcome
