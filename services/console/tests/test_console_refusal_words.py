"""Every refusal the four services can answer with has words in the console, in Bahasa
Indonesia and English, chosen by its code: the services' sources are scanned for the codes
they refuse with, so a new refusal without words fails here rather than reaching an operator
in English under an Indonesian heading."""

from __future__ import annotations

import re
from pathlib import Path

from jembatan_console.refusals import REFUSALS, refusal_words

ROOT = Path(__file__).resolve().parents[3]
SOURCES = [
    *(ROOT / "services" / name / "src" for name in ("registration", "training", "placement")),
    ROOT / "services" / "financing" / "src",
    ROOT / "kit" / "src" / "jembatan_kit",  # the refusals every service shares: tokens, scope
]
CODE = r'(f?)"([a-z{][a-z0-9_{}.]*)"'
SUBCLASS = re.compile(r"class (\w+)\((?:[\w.]+\.)?(\w+)\)")
TAKES_A_RULE = re.compile(r"def (\w+)\((?:self, )?rule: str")
NOT_CODES = {"NotFound"}
"""Its first argument names what was not found; its code is `not_found`."""
BUILT_OTHERWISE = {"invalid_request", "unknown_field"}
"""Codes chosen by an expression the scan does not read (kit/bodies.py)."""


def sources() -> dict[Path, str]:
    return {
        path: path.read_text()
        for directory in SOURCES
        for path in directory.rglob("*.py")
        if "testing" not in path.parts and "migrations" not in path.parts
    }


def refusal_codes() -> set[str]:
    """Each code in the sources: the first argument of a refusal (`RuleViolation`, `Conflict`
    and their subclasses, a function taking a `rule`), a rule check's rule (a failed check is
    a refusal's reason, and placement refuses with it), a `rule=` argument, a placement step's
    rule, an `"error"` answered. An f-string's code is kept as written, `{...}` and all."""
    texts = sources()
    callers = {"RuleViolation", "Conflict", "RuleCheck", "Transition"}
    while True:
        found = {
            name
            for text in texts.values()
            for name, base in SUBCLASS.findall(text)
            if base in callers
        }
        found |= {name for text in texts.values() for name in TAKES_A_RULE.findall(text)}
        if found <= callers:
            break
        callers |= found
    callers -= NOT_CODES
    patterns = [
        re.compile(r"\b(?:" + "|".join(sorted(callers - {"Transition"})) + r")\(\s*" + CODE),
        re.compile(r"super\(\).__init__\(\s*" + CODE + r"\s*,"),
        re.compile(r"\brule\s*=\s*" + CODE),
        re.compile(r'"error":\s*' + CODE),
        re.compile(r"Transition\(\s*[^,()]+,\s*[^,()]+,\s*" + CODE),
    ]
    return {
        code
        for text in texts.values()
        for pattern in patterns
        for _f, code in pattern.findall(text)
    } | BUILT_OTHERWISE


def test_the_scan_finds_the_services_refusals() -> None:
    codes = refusal_codes()
    assert len(codes) > 120
    for known in (
        "one_active_registration",  # registration
        "candidate_not_enrolled",  # training
        "contract_needs_offer",  # placement, a step's rule
        "payment_reference_reused",  # financing
        "agency_scope",  # the kit's, answered by every service
        "nik_{problem.part}",  # an f-string
    ):
        assert known in codes


def test_every_refusal_code_has_words_in_indonesian_and_english() -> None:
    missing = []
    for code in sorted(refusal_codes()):
        if "{" in code:  # made from a value: some code of its shape needs words
            shape = re.compile(re.sub(r"\\\{[^}]*\\\}", "[a-z0-9_]+", re.escape(code)) + "$")
            if not any(shape.match(known) for known in REFUSALS):
                missing.append(code)
        elif code not in REFUSALS:
            missing.append(code)
    assert missing == []
    for code, (indonesian, english) in REFUSALS.items():
        assert indonesian.strip() and english.strip(), code
        assert indonesian != english, code


def test_words_are_chosen_by_the_code_and_an_unknown_code_still_has_words() -> None:
    assert refusal_words("cohort_full", "id") == "Kelas sudah penuh."
    assert refusal_words("cohort_full", "en") == "The cohort is full."
    assert refusal_words("a_code_of_tomorrow", "id") == REFUSALS["unknown"][0]
    assert refusal_words("http_418", "en") == REFUSALS["unknown"][1]
