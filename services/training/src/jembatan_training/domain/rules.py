"""The shape every training rule reports in: a stable code, passed or not, words for people."""

from __future__ import annotations

from dataclasses import dataclass

from jembatan_kit.errors import RuleViolation


@dataclass(frozen=True)
class RuleCheck:
    rule: str
    passed: bool
    message: str


class Refused(Exception):
    """A request that breaks one or more rules; every broken rule is listed."""

    def __init__(self, failures: list[RuleCheck]) -> None:
        super().__init__("; ".join(check.message for check in failures))
        self.failures = failures

    def violation(self, rule: str) -> RuleViolation:
        """The refusal as the use case reports it: `rule` names the use case's rule set, and
        every failed check is listed in `failed_rules`."""
        return RuleViolation(
            rule, str(self), {"failed_rules": [check.__dict__ for check in self.failures]}
        )


def refuse_unless(checks: list[RuleCheck]) -> None:
    failures = [check for check in checks if not check.passed]
    if failures:
        raise Refused(failures)
