"""Geometry of the page's charts. The funnel and the arrears are CSS bars (they reflow on a
phone); the trend of departures is inline SVG with a fixed viewBox that scales to the screen.
No script, no network."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    width_percent: float
    caption: str = ""


def proportional_bars(rows: list[tuple[str, int, str]]) -> list[Bar]:
    """Bars as a share of the widest; a bar with any value stays visible."""
    widest = max((value for _, value, _ in rows), default=0) or 1
    return [
        Bar(label, value, max(round(100 * value / widest, 1), 1.5) if value else 0.0, caption)
        for label, value, caption in rows
    ]


@dataclass(frozen=True)
class Column:
    label: str
    value: int
    x: float
    y: float
    width: float
    height: float


COLUMNS_WIDTH = 640
COLUMNS_TOP = 30
COLUMNS_BOTTOM = 190


def columns(values: list[tuple[str, int]]) -> list[Column]:
    """One column per month; the tallest reaches the top of the chart."""
    tallest = max((value for _, value in values), default=0) or 1
    slot = COLUMNS_WIDTH / max(len(values), 1)
    span = COLUMNS_BOTTOM - COLUMNS_TOP
    return [
        Column(
            label,
            value,
            index * slot + slot * 0.18,
            COLUMNS_BOTTOM - span * value / tallest,
            slot * 0.64,
            span * value / tallest,
        )
        for index, (label, value) in enumerate(values)
    ]


def percent(done: int, target: int | None) -> float:
    if not target:
        return 0.0
    return round(100 * done / target, 1)
