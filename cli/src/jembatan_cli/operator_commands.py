"""`jembatan operator add|remove|list`: the consoles' operators on the embedded default, kept
per agency in <data-dir>/console-operators/<agency>.json (Argon2id hashes, 0600) beside the
agencies' keys."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Annotated

import typer

from jembatan_console.operators import (
    LOGIN_PATTERN,
    ROLES,
    add_operator,
    read_operators,
    remove_operator,
)

from .system import DEFAULT_CONSOLE_AGENCY, console_operators_file

operator_app = typer.Typer(
    help="The console's operators (sign-in of the embedded default).", no_args_is_help=True
)

DataDir = Annotated[
    Path, typer.Option(help="The data folder of `jembatan up` (./dev run uses var/)")
]
Agency = Annotated[
    str, typer.Option(help="The agency whose console the operator signs in to (kemnaker too)")
]


@operator_app.command("add")
def add(
    login: Annotated[str, typer.Option(help="The login the operator signs in with")],
    role: Annotated[
        list[str],
        typer.Option(help=f"A role (repeatable): {', '.join(ROLES)}"),
    ],
    name: Annotated[str | None, typer.Option(help="The name the console shows")] = None,
    password_stdin: Annotated[
        bool, typer.Option(help="Read the password from standard input (for scripts)")
    ] = False,
    agency: Agency = DEFAULT_CONSOLE_AGENCY,
    data_dir: DataDir = Path("var"),
) -> None:
    """Add an operator, or give an existing one a new password, name and roles."""
    if not re.fullmatch(LOGIN_PATTERN, login):
        raise typer.BadParameter(
            "lowercase letters, digits, '.', '_' or '-', 2 to 64 characters", param_hint="--login"
        )
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        path = console_operators_file(data_dir, agency)
        operator = add_operator(path, login, password, role, name)
    except ValueError as exc:
        typer.secho(str(exc), fg="red", err=True)
        raise typer.Exit(1) from exc
    typer.echo(
        f"{operator.login} may sign in to {agency}'s console with the roles"
        f" {', '.join(sorted(operator.roles))} ({path})"
    )


@operator_app.command("remove")
def remove(
    login: Annotated[str, typer.Option(help="The operator's login")],
    agency: Agency = DEFAULT_CONSOLE_AGENCY,
    data_dir: DataDir = Path("var"),
) -> None:
    """Remove an operator: they cannot sign in again (a token already issued lives until it
    expires; `jembatan revoke --user` ends it at once)."""
    if not remove_operator(console_operators_file(data_dir, agency), login):
        typer.secho(f"no operator {login}", fg="red", err=True)
        raise typer.Exit(1)
    typer.echo(f"{login} removed")


@operator_app.command("list")
def list_operators(
    agency: Agency = DEFAULT_CONSOLE_AGENCY, data_dir: DataDir = Path("var")
) -> None:
    """The operators of an agency's console and their roles."""
    for operator in read_operators(console_operators_file(data_dir, agency)).values():
        typer.echo(f"{operator.login:<20} {operator.name:<30} {', '.join(sorted(operator.roles))}")
