"""Refusals that name the rule broken, in words an operator can act on."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class RuleViolation(Exception):
    """A request broke a business rule. `rule` is a stable code; `message` is for people."""

    rule: str
    message: str
    details: dict[str, object] = field(default_factory=dict)
    status_code: int = 422

    def __str__(self) -> str:
        return f"{self.rule}: {self.message}"


class NotFound(RuleViolation):
    def __init__(self, what: str, identifier: object) -> None:
        super().__init__("not_found", f"{what} {identifier} does not exist", status_code=404)


class Conflict(RuleViolation):
    def __init__(self, rule: str, message: str, **details: object) -> None:
        super().__init__(rule, message, dict(details), status_code=409)
