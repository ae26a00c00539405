"""Each agency's yearly departure target, as dated configuration (domain/data/targets.toml).

Kemnaker's target is national: it counts the departures of every agency. Any other agency's
target counts its own candidates.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

TARGETS_FILE = Path(__file__).parent / "data" / "targets.toml"


@dataclass(frozen=True)
class Target:
    agency: str
    from_year: int
    departures: int
    source: str = ""


class Targets:
    def __init__(self, targets: Iterable[Target]) -> None:
        self._targets = sorted(targets, key=lambda t: (t.agency, t.from_year))
        for target in self._targets:
            if target.departures <= 0:
                raise ValueError(
                    f"target of {target.agency} from {target.from_year}: departures must be "
                    f"positive, not {target.departures}"
                )

    @classmethod
    def from_file(cls, path: Path = TARGETS_FILE) -> Targets:
        entries = tomllib.loads(path.read_text())["target"]
        return cls(Target(**entry) for entry in entries)

    def for_year(self, agency: str, year: int) -> Target | None:
        """The target in force for `agency` in `year`: the latest entry from that year or before."""
        found = None
        for target in self._targets:
            if target.agency == agency and target.from_year <= year:
                found = target
        return found

    def all(self) -> list[Target]:
        return list(self._targets)
