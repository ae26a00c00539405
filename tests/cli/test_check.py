"""`jembatan check` without a system: its subject matching, and the errors a person sees for
bad arguments or a database it cannot read (exit 2, never a traceback)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from jembatan_cli.check import SERVICES, async_url, subject_matches
from jembatan_cli.main import app


@pytest.mark.parametrize(
    ("pattern", "subject", "matches"),
    [
        (
            "jembatan.*.financing.repayment.due.v1",
            "jembatan.kaltim.financing.repayment.due.v1",
            True,
        ),
        (
            "jembatan.*.financing.repayment.due.v1",
            "jembatan.kaltim.financing.loan.opened.v1",
            False,
        ),
        ("jembatan.*.registration.>", "jembatan.jatim.registration.candidate.registered.v1", True),
        ("jembatan.*.registration.>", "jembatan.jatim.registration", False),
        ("jembatan.*", "jembatan.kaltim.extra", False),
    ],
)
def test_subjects_match_as_nats_matches_them(pattern: str, subject: str, matches: bool) -> None:
    assert subject_matches(pattern, subject) is matches


def test_database_urls_get_the_asynchronous_driver() -> None:
    assert async_url("postgresql://db/financing") == "postgresql+asyncpg://db/financing"
    assert async_url("postgresql+psycopg://db/f") == "postgresql+asyncpg://db/f"
    assert async_url("sqlite:///var/training.db") == "sqlite+aiosqlite:///var/training.db"
    with pytest.raises(ValueError, match="sqlite or postgresql"):
        async_url("mysql://db/x")


def test_a_database_url_must_name_a_service(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["check", "--database-url", "payroll=sqlite:///x.db"])
    assert result.exit_code == 2
    assert "service=URL" in result.output


def test_a_missing_data_folder_is_named(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["check", "--data-dir", str(tmp_path / "nowhere")])
    assert result.exit_code == 2
    assert "no database at" in result.output


def test_an_unreadable_database_is_reported_not_raised(tmp_path: Path) -> None:
    urls = [f"--database-url={name}=postgresql://postgres@127.0.0.1:1/none" for name in SERVICES]
    result = CliRunner().invoke(app, ["check", *urls])
    assert result.exit_code == 2
    assert "cannot read its database" in result.output
