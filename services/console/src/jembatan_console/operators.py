"""The agency's operators for the console's own sign-in: one JSON file of logins, Argon2id
password hashes (argon2-cffi, its recommended parameters) and roles, kept beside the agency's
issuer key and readable by its owner only (0600). `jembatan operator add` writes it; the console
reads it at every sign-in, so an operator added or removed counts at once.

    {"operators": [{"login": "siti", "name": "Siti Rahma", "roles": ["registrar"],
                    "password_hash": "$argon2id$v=19$m=65536,t=3,p=4$..."}]}

Roles decide which of the console's screens an operator sees (`ROLES`); the services check
scope by agency, and the role `nik-reader` (full NIK, birth date and sex, each read logged)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from jembatan_kit.auth import NIK_READER

ROLES: dict[str, str] = {
    "registrar": "registration desk: register candidates, one by one or from a CSV file",
    "trainer": "training centre: cohorts, members, daily scores, test results",
    "placement-officer": "placement office: job orders, matches, each placement's path",
    "loan-officer": "loans: statements, transfers, restructuring, participants' links",
    NIK_READER: "may be shown a candidate's full NIK, birth date and sex (each read logged)",
}
LOGIN_PATTERN = r"^[a-z0-9][a-z0-9._-]{1,63}$"

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("a password nobody has")


class OperatorsFileInvalid(ValueError):
    """The operators file cannot be read; the message says why."""


@dataclass(frozen=True)
class Operator:
    login: str
    name: str
    roles: frozenset[str]
    password_hash: str

    def document(self) -> dict[str, object]:
        return {
            "login": self.login,
            "name": self.name,
            "roles": sorted(self.roles),
            "password_hash": self.password_hash,
        }


def read_operators(path: Path) -> dict[str, Operator]:
    """The operators in the file at `path`, by login (none when there is no file)."""
    if not path.exists():
        return {}
    try:
        document = json.loads(path.read_text())
        return {
            entry["login"]: Operator(
                entry["login"],
                entry.get("name") or entry["login"],
                frozenset(entry.get("roles", [])),
                entry["password_hash"],
            )
            for entry in document["operators"]
        }
    except (ValueError, KeyError, TypeError) as exc:
        raise OperatorsFileInvalid(f"the operators file {path} is not valid: {exc!r}") from None


def write_operators(path: Path, operators: dict[str, Operator]) -> None:
    """Write the file whole, readable by its owner only (never half written)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.unlink(missing_ok=True)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    document = {"operators": [operators[login].document() for login in sorted(operators)]}
    with os.fdopen(fd, "w") as handle:
        handle.write(json.dumps(document, indent=2) + "\n")
    partial.replace(path)


def add_operator(
    path: Path, login: str, password: str, roles: list[str], name: str | None = None
) -> Operator:
    """Add the operator, or replace their password, name and roles. Raises ValueError naming
    an unknown role or a password shorter than 10 characters."""
    unknown = sorted(set(roles) - set(ROLES))
    if unknown:
        raise ValueError(f"unknown role {', '.join(unknown)}; the roles are {', '.join(ROLES)}")
    if len(password) < 10:
        raise ValueError("the password must have at least 10 characters")
    operators = read_operators(path)
    operator = Operator(login, name or login, frozenset(roles), _hasher.hash(password))
    operators[login] = operator
    write_operators(path, operators)
    return operator


def remove_operator(path: Path, login: str) -> bool:
    operators = read_operators(path)
    if operators.pop(login, None) is None:
        return False
    write_operators(path, operators)
    return True


def authenticate(path: Path, login: str, password: str) -> Operator | None:
    """The operator whose login and password these are, else None. An unknown login costs
    the same hashing as a wrong password, so the answer's time does not tell logins apart."""
    operator = read_operators(path).get(login)
    try:
        _hasher.verify(operator.password_hash if operator else _DUMMY_HASH, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    return operator
