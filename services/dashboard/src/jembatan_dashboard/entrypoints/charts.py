"""Geometry of the page's charts, drawn as inline SVG by the template (no script, no network).
Each chart has a fixed viewBox and scales to the width of the screen."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    x: float
    y: float
    width: float
    height: float
    caption: str = ""


FUNNEL_WIDTH = 640
FUNNEL_ROW = 42
LABEL_WIDTH = 150
VALUE_WIDTH = 70


def funnel_bars(stages: list[tuple[str, int]]) -> list[Bar]:
    """Centred bars, widest first: the funnel's shape shows where candidates are lost."""
    widest = max((value for _, value in stages), default=0) or 1
    area = FUNNEL_WIDTH - LABEL_WIDTH - VALUE_WIDTH
    bars = []
    for row, (label, value) in enumerate(stages):
        width = area * value / widest if value else 0.0
        width = max(width, 3.0) if value else 0.0
        bars.append(
            Bar(
                label,
                value,
                LABEL_WIDTH + (area - width) / 2,
                row * FUNNEL_ROW + 6,
                width,
                FUNNEL_ROW - 12,
            )
        )
    return bars


def funnel_height(rows: int) -> int:
    return rows * FUNNEL_ROW


COLUMNS_WIDTH = 640
COLUMNS_HEIGHT = 220
COLUMNS_TOP = 24
COLUMNS_BOTTOM = 190


def column_bars(values: list[tuple[str, int]]) -> list[Bar]:
    """One column per month; the tallest reaches the top of the chart."""
    tallest = max((value for _, value in values), default=0) or 1
    slot = COLUMNS_WIDTH / max(len(values), 1)
    span = COLUMNS_BOTTOM - COLUMNS_TOP
    bars = []
    for index, (label, value) in enumerate(values):
        height = span * value / tallest
        bars.append(
            Bar(
                label,
                value,
                index * slot + slot * 0.18,
                COLUMNS_BOTTOM - height,
                slot * 0.64,
                height,
            )
        )
    return bars


BUCKETS_WIDTH = 640
BUCKET_ROW = 40


def bucket_bars(buckets: list[tuple[str, int, str]]) -> list[Bar]:
    """Horizontal bars from the left, one per days-past-due bucket."""
    widest = max((value for _, value, _ in buckets), default=0) or 1
    area = BUCKETS_WIDTH - 110 - 230
    return [
        Bar(
            label,
            value,
            110,
            row * BUCKET_ROW + 6,
            max(area * value / widest, 3.0) if value else 0.0,
            BUCKET_ROW - 14,
            caption,
        )
        for row, (label, value, caption) in enumerate(buckets)
    ]


def percent(done: int, target: int | None) -> float:
    if not target:
        return 0.0
    return round(100 * done / target, 1)
