"""Every word a page asks for exists in both languages: a key missing from `i18n.WORDS` would
show the key itself to an operator."""

from __future__ import annotations

import re
from pathlib import Path

from jembatan_console.candidates import NATIONAL_STANDINGS
from jembatan_console.i18n import WORDS
from jembatan_console.placement import NEXT_STEPS, PATH
from jembatan_console.web import SCREENS

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "jembatan_console"
LITERAL_KEY = re.compile(r"""\bt\(\s*["']([a-z_.]+)["']\s*[,)]""")


def used_keys() -> set[str]:
    keys: set[str] = set()
    for path in [*PACKAGE.glob("templates/*.html"), *PACKAGE.glob("*.py")]:
        keys.update(LITERAL_KEY.findall(path.read_text()))
    # Keys made from a value: the screens, the path's states and steps.
    keys.update(f"screen.{screen}" for screen, _path, _role in SCREENS)
    keys.update(f"screen.{screen}.about" for screen, _path, _role in SCREENS)
    keys.update(f"step.{state}" for state in PATH)
    keys.update(f"do.{step}" for steps in NEXT_STEPS.values() for step in steps)
    keys.update(f"section.{name}" for name in ("registration", "training", "placement"))
    for standing in NATIONAL_STANDINGS:
        keys.update(f"national.{standing}{what}" for what in ("", ".means", ".todo"))
    return keys


def test_every_word_a_page_uses_is_there_in_indonesian_and_english() -> None:
    keys = used_keys()
    assert len(keys) > 100  # the scan finds the templates' words
    missing = sorted(keys - set(WORDS))
    assert missing == []
    for key in keys:
        indonesian, english = WORDS[key]
        assert indonesian.strip() and english.strip(), key
