"""When a candidate is ready for placement. Pure: the one place these rules live.

Both tracks need Japanese at N4 or better (JLPT N4+, or JFT-Basic A2). SSW also needs the skill
test of the candidate's sector, and caregivers also the nursing-care Japanese test.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from jembatan_contracts import TestKind, Track

from .certificates import (
    JFT_BASIC_A2_SCORE,
    JLPT_PASS_LEVEL,
    ExamResult,
    jlpt_rank,
    normalise_sector,
)

CAREGIVER = "caregiver"


@dataclass(frozen=True)
class RuleOutcome:
    rule: str
    description: str
    met: bool
    evidence: str | None = None

    def in_words(self) -> str:
        return f"{self.description}: {self.evidence}" if self.evidence else self.description


@dataclass(frozen=True)
class Readiness:
    rules: list[RuleOutcome]
    language_level: str | None
    """Best level on the JLPT scale; JFT-Basic A2 counts as N4."""

    @property
    def ready(self) -> bool:
        return all(rule.met for rule in self.rules)

    @property
    def met(self) -> list[RuleOutcome]:
        return [rule for rule in self.rules if rule.met]

    @property
    def missing(self) -> list[RuleOutcome]:
        return [rule for rule in self.rules if not rule.met]


def assess_readiness(track: Track, sector: str, results: Sequence[ExamResult]) -> Readiness:
    sector = normalise_sector(sector)
    passed = [result for result in results if result.passed]
    rules = [_japanese_n4(passed)]
    if track is Track.SSW:
        rules.append(_ssw_skill(sector, passed))
        if sector == CAREGIVER:
            rules.append(_nursing_care_japanese(passed))
    return Readiness(rules, _language_level(passed))


def _japanese_n4(passed: list[ExamResult]) -> RuleOutcome:
    evidence = _best(passed, TestKind.JLPT) or _best(passed, TestKind.JFT_BASIC)
    return RuleOutcome(
        "japanese_n4",
        f"Japanese at {JLPT_PASS_LEVEL} or better "
        f"(JLPT {JLPT_PASS_LEVEL}+ or JFT-Basic A2, score {JFT_BASIC_A2_SCORE}+)",
        evidence is not None,
        _describe(evidence) if evidence else None,
    )


def _ssw_skill(sector: str, passed: list[ExamResult]) -> RuleOutcome:
    evidence = next(
        (r for r in passed if r.test is TestKind.SSW_SKILL and r.sector == sector), None
    )
    return RuleOutcome(
        "ssw_skill_sector",
        f"SSW skill test passed in the candidate's sector ({sector})",
        evidence is not None,
        _describe(evidence) if evidence else None,
    )


def _nursing_care_japanese(passed: list[ExamResult]) -> RuleOutcome:
    evidence = _best(passed, TestKind.NURSING_CARE_JAPANESE)
    return RuleOutcome(
        "nursing_care_japanese",
        "Nursing-care Japanese test passed (required for caregivers)",
        evidence is not None,
        _describe(evidence) if evidence else None,
    )


def _language_level(passed: list[ExamResult]) -> str | None:
    jlpt = [r.level for r in passed if r.test is TestKind.JLPT and r.level]
    if jlpt:
        return max(jlpt, key=jlpt_rank)
    if _best(passed, TestKind.JFT_BASIC):
        return JLPT_PASS_LEVEL
    return None


def _best(passed: list[ExamResult], test: TestKind) -> ExamResult | None:
    """The highest JLPT level passed, or the earliest pass of any other test."""
    candidates = [r for r in passed if r.test is test]
    if not candidates:
        return None
    if test is TestKind.JLPT:
        return max(candidates, key=lambda r: jlpt_rank(r.level or JLPT_PASS_LEVEL))
    return min(candidates, key=lambda r: r.taken_on)


def _describe(result: ExamResult) -> str:
    match result.test:
        case TestKind.JLPT:
            what = f"JLPT {result.level}"
        case TestKind.JFT_BASIC:
            what = f"JFT-Basic A2 (score {result.score})"
        case TestKind.SSW_SKILL:
            what = f"SSW skill test ({result.sector})"
        case TestKind.NURSING_CARE_JAPANESE:
            what = "nursing-care Japanese test"
    return f"{what}, {result.issuer}, {result.taken_on.isoformat()}"
