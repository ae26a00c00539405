"""Charges and subsidies as the participant sees them. All money is whole rupiah in `int`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class CostItem:
    """One upfront cost the participant will repay, shown to them line by line."""

    code: str
    description: str
    amount_idr: int


def principal_of(items: Iterable[CostItem]) -> int:
    return sum(item.amount_idr for item in items)
