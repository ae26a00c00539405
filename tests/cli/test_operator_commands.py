"""`jembatan operator`: the consoles' operators of the embedded default, per agency."""

from __future__ import annotations

import stat
from pathlib import Path

from typer.testing import CliRunner

from jembatan_cli.main import app
from jembatan_cli.system import console_operators_file
from jembatan_console.operators import authenticate

runner = CliRunner()
PASSWORD = "kata-sandi-petugas"


def test_an_operator_added_signs_in_to_their_agencys_console_only(tmp_path: Path) -> None:
    added = runner.invoke(
        app,
        [
            "operator", "add", "--agency", "boyolali", "--login", "sri", "--name", "Sri Wahyuni",
            "--role", "registrar", "--role", "trainer", "--password-stdin",
            "--data-dir", str(tmp_path),
        ],
        input=PASSWORD + "\n",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert "sri may sign in to boyolali's console with the roles registrar, trainer" in added.output
    path = console_operators_file(tmp_path, "boyolali")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    operator = authenticate(path, "sri", PASSWORD)
    assert operator is not None and operator.roles == {"registrar", "trainer"}
    assert not console_operators_file(tmp_path, "kaltim").exists()
    listed = runner.invoke(
        app, ["operator", "list", "--agency", "boyolali", "--data-dir", str(tmp_path)]
    )
    assert "sri" in listed.output and "Sri Wahyuni" in listed.output
    removed = runner.invoke(
        app,
        [
            "operator",
            "remove",
            "--agency",
            "boyolali",
            "--login",
            "sri",
            "--data-dir",
            str(tmp_path),
        ],
    )
    assert removed.exit_code == 0
    assert authenticate(path, "sri", PASSWORD) is None


def test_an_unknown_role_or_a_short_password_is_refused_in_words(tmp_path: Path) -> None:
    for role, password, words in (
        ("admin", PASSWORD, "unknown role admin"),
        ("registrar", "pendek", "at least 10 characters"),
    ):
        refused = runner.invoke(
            app,
            ["operator", "add", "--login", "sri", "--role", role, "--password-stdin",
             "--data-dir", str(tmp_path)],
            input=password + "\n",
        )  # fmt: skip
        assert refused.exit_code == 1
        assert words in refused.output
    assert not console_operators_file(tmp_path, "kaltim").exists()
