"""Dated configuration: figures and rules that change on known days (a minimum wage, a cap, an
exchange rate), each entry in force from its `valid_from` until a later entry replaces it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Protocol, TypeVar

from .errors import RuleViolation


class Dated(Protocol):
    @property
    def valid_from(self) -> date: ...


D = TypeVar("D", bound=Dated)


def in_force(entries: Sequence[D], day: date) -> D | None:
    """The latest entry that started on or before `day`."""
    started = [entry for entry in entries if entry.valid_from <= day]
    return max(started, key=lambda entry: entry.valid_from, default=None)


def required(entry: D | None, what: str, day: date, *, rule: str, where: str) -> D:
    """`entry`, or a refusal (`rule`) saying that no `what` is configured for `day` and that
    `where` is the place to add one."""
    if entry is None:
        raise RuleViolation(
            rule, f"no {what} is configured for {day.isoformat()}; add one to {where}"
        )
    return entry
