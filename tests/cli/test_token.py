"""`jembatan token` is an issuer's tool: it signs only with the running system's key, only for
agencies the deployment knows and roles the services check, and for no longer than they accept."""

from __future__ import annotations

from pathlib import Path

import jwt
import pytest
from typer.testing import CliRunner

from jembatan_cli.main import app
from jembatan_cli.system import auth_secret
from jembatan_kit.auth import TokenPolicy, read_token

KEY = "the-running-systems-key-of-at-least-32-bytes"


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory outside the repository, with no system's data folder in it."""
    monkeypatch.chdir(tmp_path)
    for name in ("AUTH_JWT_SECRET", "KNOWN_AGENCIES", "AUTH_MAX_TOKEN_HOURS", "AGENCY"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def running_system(folder: Path) -> Path:
    """A data folder as `jembatan up` leaves it: the signing key in it."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "auth-secret").write_text(KEY)
    return folder


def token(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["token", "--user", "officer-7", *args])
    return result.exit_code, result.output


def test_outside_a_running_system_it_says_where_it_looked_and_makes_no_key(
    elsewhere: Path,
) -> None:
    code, output = token("--agency", "kaltim")
    assert code == 1
    assert f"{elsewhere / 'var' / 'auth-secret'} does not exist" in output
    assert f"looked in var/ under {elsewhere}" in output
    assert not (elsewhere / "var").exists()


def test_a_data_dir_without_a_key_is_refused_and_left_without_one(elsewhere: Path) -> None:
    folder = elsewhere / "not-a-system"
    code, output = token("--agency", "kaltim", "--data-dir", str(folder))
    assert code == 1
    assert f"{folder / 'auth-secret'} does not exist" in output
    assert not folder.exists()
    with pytest.raises(FileNotFoundError):
        auth_secret(folder)  # nor does anything else that reads the key make one
    assert auth_secret(folder, create=True) == auth_secret(folder)  # `jembatan up` does


def test_it_signs_with_the_key_of_the_system_in_var(elsewhere: Path) -> None:
    running_system(elsewhere / "var")
    code, output = token("--agency", "kaltim", "--role", "nik-reader")
    assert code == 0, output
    caller = read_token(KEY, output.strip())
    assert (caller.user, caller.agency, caller.roles) == ("officer-7", "kaltim", {"nik-reader"})


def test_an_unknown_agency_is_refused(elsewhere: Path) -> None:
    running_system(elsewhere / "var")
    code, output = token("--agency", "atlantis")
    assert code == 1
    assert "Agency 'atlantis' is not known to this deployment" in output
    assert "KNOWN_AGENCIES" in output


def test_an_agency_the_deployment_adds_is_issued(
    elsewhere: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = running_system(elsewhere / "system")
    monkeypatch.setenv("KNOWN_AGENCIES", "kemnaker,jabar")
    code, output = token("--agency", "jabar", "--data-dir", str(folder))
    assert code == 0, output
    assert read_token(KEY, output.strip(), TokenPolicy(frozenset({"jabar"}))).agency == "jabar"


def test_an_unknown_role_is_refused(elsewhere: Path) -> None:
    running_system(elsewhere / "var")
    code, output = token("--agency", "kaltim", "--role", "nik-reader", "--role", "admin")
    assert code == 1
    assert "Unknown role admin: the services check only nik-reader" in output


@pytest.mark.parametrize(("maximum", "expected_hours"), [(None, 12), ("4", 4)])
def test_the_lifetime_is_capped_at_the_maximum_with_a_message(
    elsewhere: Path, monkeypatch: pytest.MonkeyPatch, maximum: str | None, expected_hours: int
) -> None:
    running_system(elsewhere / "var")
    if maximum:
        monkeypatch.setenv("AUTH_MAX_TOKEN_HOURS", maximum)
    result = CliRunner().invoke(
        app, ["token", "--user", "u", "--agency", "kaltim", "--hours", "876000"]
    )
    assert result.exit_code == 0, result.output
    assert f"longer than the {expected_hours} hours the services accept" in result.output
    issued = result.output.strip().splitlines()[-1]
    claims = jwt.decode(issued, KEY, algorithms=["HS256"], audience="jembatan")
    assert claims["exp"] - claims["iat"] == expected_hours * 3600
