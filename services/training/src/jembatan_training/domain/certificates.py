"""Test results and their pass marks. Pure: no I/O, the day is passed in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from jembatan_contracts import TestKind

from .rules import Refused, RuleCheck

JLPT_LEVELS = ("N5", "N4", "N3", "N2", "N1")
"""Easiest first, so a higher index is a better level."""
JLPT_PASS_LEVEL = "N4"
JFT_BASIC_MAX_SCORE = 250
JFT_BASIC_A2_SCORE = 200
"""JFT-Basic judges A2 (accepted as equivalent to JLPT N4) from this score."""


@dataclass(frozen=True)
class RecordResult:
    """Command: a training centre records one test result for a candidate."""

    test: TestKind
    issuer: str
    taken_on: date
    level: str | None = None
    score: int | None = None
    sector: str | None = None
    passed: bool | None = None
    """Required for the SSW skill and nursing-care Japanese tests. For JLPT, false records a
    failed attempt (without it, the result is a certificate of its level); for JFT-Basic, the
    score decides and the flag, if given, must agree with it."""


@dataclass(frozen=True)
class ExamResult:
    """A recorded result, with the pass decided by the rules below."""

    test: TestKind
    issuer: str
    taken_on: date
    passed: bool
    level: str | None = None
    score: int | None = None
    sector: str | None = None


class ResultRefused(Refused):
    """A result that breaks one or more recording rules; every broken rule is listed."""


def normalise_sector(sector: str) -> str:
    return sector.strip().lower()


def jlpt_rank(level: str) -> int:
    return JLPT_LEVELS.index(level)


def grade(command: RecordResult, today: date) -> ExamResult:
    """Check the result is well formed for its test and decide whether it passes."""
    failures = [check for check in _checks(command, today) if not check.passed]
    if failures:
        raise ResultRefused(failures)
    match command.test:
        case TestKind.JLPT:
            # A JLPT result is a certificate of its level unless it says it was failed: a
            # failed attempt is kept as one and never counts, whatever its level.
            assert command.level is not None
            passed = command.passed is not False and jlpt_rank(command.level) >= jlpt_rank(
                JLPT_PASS_LEVEL
            )
        case TestKind.JFT_BASIC:
            assert command.score is not None
            passed = command.score >= JFT_BASIC_A2_SCORE
        case TestKind.SSW_SKILL | TestKind.NURSING_CARE_JAPANESE:
            passed = bool(command.passed)
    return ExamResult(
        test=command.test,
        issuer=command.issuer.strip(),
        taken_on=command.taken_on,
        passed=passed,
        level=command.level,
        score=command.score,
        sector=normalise_sector(command.sector) if command.sector else None,
    )


def _checks(command: RecordResult, today: date) -> list[RuleCheck]:
    checks = [
        RuleCheck("issuer_present", bool(command.issuer.strip()), "issuer must not be empty"),
        RuleCheck(
            "taken_on_not_in_future",
            command.taken_on <= today,
            f"the test date {command.taken_on.isoformat()} is after today ({today.isoformat()})",
        ),
    ]
    match command.test:
        case TestKind.JLPT:
            checks.append(
                RuleCheck(
                    "jlpt_level",
                    command.level in JLPT_LEVELS,
                    f"a JLPT result needs a level, one of {', '.join(JLPT_LEVELS)} "
                    f"(got {command.level!r})",
                )
            )
        case TestKind.JFT_BASIC:
            checks.append(
                RuleCheck(
                    "jft_basic_score",
                    command.score is not None and 0 <= command.score <= JFT_BASIC_MAX_SCORE,
                    f"a JFT-Basic result needs a score from 0 to {JFT_BASIC_MAX_SCORE} "
                    f"(got {command.score!r})",
                )
            )
            if command.passed is not None and command.score is not None:
                by_score = command.score >= JFT_BASIC_A2_SCORE
                checks.append(
                    RuleCheck(
                        "passed_flag_matches_score",
                        command.passed is by_score,
                        f"a JFT-Basic result is passed by its score (A2 from "
                        f"{JFT_BASIC_A2_SCORE}): score {command.score} with passed: "
                        f"{str(command.passed).lower()} contradicts itself; send the score "
                        "alone, or the passed flag the score gives",
                    )
                )
        case TestKind.SSW_SKILL:
            checks.append(
                RuleCheck(
                    "ssw_skill_sector",
                    bool(command.sector and command.sector.strip()),
                    "an SSW skill test result needs the sector it was taken in",
                )
            )
    if command.test in (TestKind.SSW_SKILL, TestKind.NURSING_CARE_JAPANESE):
        checks.append(
            RuleCheck(
                "passed_flag",
                command.passed is not None,
                f"a {command.test.value} result needs passed: true or false",
            )
        )
    return checks
