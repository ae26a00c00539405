"""Time comes from an injectable clock, so tests and demos can move it."""

from datetime import UTC, date, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...

    def today(self) -> date: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def today(self) -> date:
        return self.now().date()


class AdjustableClock(SystemClock):
    """The system clock plus an offset that can only move forward."""

    def __init__(self) -> None:
        self._offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    def move_to(self, moment: datetime) -> None:
        if moment.tzinfo is None:
            raise ValueError("the new time must carry a time zone")
        target = moment - datetime.now(UTC)
        if target < self._offset:
            raise ValueError("the clock only moves forward")
        self._offset = target
