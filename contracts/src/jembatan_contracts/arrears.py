"""The days-past-due buckets that financing reports arrears in and dashboards show."""

from __future__ import annotations

from enum import StrEnum


class ArrearsBucket(StrEnum):
    CURRENT = "current"
    DAYS_1_30 = "1-30"
    DAYS_31_60 = "31-60"
    DAYS_61_90 = "61-90"
    DAYS_OVER_90 = "90+"


def bucket_for(days_past_due: int) -> ArrearsBucket:
    if days_past_due <= 0:
        return ArrearsBucket.CURRENT
    if days_past_due <= 30:
        return ArrearsBucket.DAYS_1_30
    if days_past_due <= 60:
        return ArrearsBucket.DAYS_31_60
    if days_past_due <= 90:
        return ArrearsBucket.DAYS_61_90
    return ArrearsBucket.DAYS_OVER_90
