"""Time comes from an injectable clock, so tests and demos can move it."""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Protocol

log = logging.getLogger(__name__)


class Clock(Protocol):
    def now(self) -> datetime: ...

    def today(self) -> date: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def today(self) -> date:
        return self.now().date()


class AdjustableClock(SystemClock):
    """The system clock plus an offset that can only move forward.

    With a state file (`keep_in`), the offset is written there at each move and read back when
    the service starts again, so a demo's or test's clock does not fall back to real time when
    the service restarts (due dates already announced would otherwise be due again only in
    real time, and the scheduler would fall silent).
    """

    def __init__(self, state_file: Path | None = None) -> None:
        self._offset = timedelta(0)
        self._state_file: Path | None = None
        if state_file is not None:
            self.keep_in(state_file)

    @property
    def offset(self) -> timedelta:
        return self._offset

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    def keep_in(self, state_file: Path) -> None:
        """Keep the offset in `state_file` from now on, taking up the one it holds, if any."""
        self._state_file = state_file
        if not state_file.exists():
            return
        try:
            saved = timedelta(seconds=float(json.loads(state_file.read_text())["offset_s"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(
                f"the clock state file {state_file} is unreadable ({exc}); delete it to start"
                " from real time"
            ) from exc
        self._offset = max(self._offset, saved)
        log.info("clock restored from %s: %s ahead of real time", state_file, self._offset)

    def move_to(self, moment: datetime) -> None:
        if moment.tzinfo is None:
            raise ValueError("the new time must carry a time zone")
        target = moment - datetime.now(UTC)
        if target < self._offset:
            raise ValueError("the clock only moves forward")
        self._save(target)
        self._offset = target

    def _save(self, offset: timedelta) -> None:
        """Write the offset beside, then over, the state file: a crash leaves the old or the new
        offset, never half of one; a failed write leaves the clock where it was."""
        if self._state_file is None:
            return
        self._state_file.parent.mkdir(parents=True, exist_ok=True)
        partial = self._state_file.with_name(self._state_file.name + ".tmp")
        partial.write_text(json.dumps({"offset_s": offset.total_seconds()}))
        os.replace(partial, self._state_file)
