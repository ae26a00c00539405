"""`jembatan token` is an issuer's tool: it signs with the agency's own key, kept by the running
system (or given as an issuer file), only for agencies the deployment knows and roles the
services check, and for no longer than they accept."""

from __future__ import annotations

import stat
from pathlib import Path

import jwt
import pytest
from typer.testing import CliRunner

from jembatan_cli.main import app
from jembatan_cli.system import TRUST_FILE, local_issuer, local_issuers
from jembatan_kit.auth import TokenPolicy, TokenRefused, read_token
from jembatan_kit.issuers import LocalIssuer
from jembatan_kit.settings import SHIPPED_AGENCIES
from jembatan_kit.trust import TrustList

POLICY = TokenPolicy(frozenset(SHIPPED_AGENCIES))


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory outside the repository, with no system's data folder in it."""
    monkeypatch.chdir(tmp_path)
    for name in (
        "JEMBATAN_ISSUER_FILE",
        "KNOWN_AGENCIES",
        "AUTH_MAX_TOKEN_HOURS",
        "AGENCY",
        "AUTH_AUDIENCE",
    ):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def running_system(folder: Path, agencies: tuple[str, ...] = SHIPPED_AGENCIES) -> TrustList:
    """A data folder as `jembatan up` leaves it: each agency's key in it, and the trust list
    its services read."""
    local_issuers(folder, agencies, create=True)
    return TrustList.load(folder / TRUST_FILE)


def token(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["token", "--user", "officer-7", *args])
    return result.exit_code, result.output


def test_outside_a_running_system_it_says_where_it_looked_and_makes_no_key(
    elsewhere: Path,
) -> None:
    code, output = token("--agency", "kaltim")
    assert code == 1
    assert f"{elsewhere / 'var' / 'issuers' / 'kaltim.json'} does not exist" in output
    assert f"looked in var/ under {elsewhere}" in output
    assert not (elsewhere / "var").exists()


def test_a_data_dir_without_a_key_is_refused_and_left_without_one(elsewhere: Path) -> None:
    folder = elsewhere / "not-a-system"
    code, output = token("--agency", "kaltim", "--data-dir", str(folder))
    assert code == 1
    assert f"{folder / 'issuers' / 'kaltim.json'} does not exist" in output
    assert not folder.exists()
    with pytest.raises(FileNotFoundError):
        local_issuer(folder, "kaltim")  # nor does anything else that reads the key make one
    assert local_issuers(folder) == {}
    made = local_issuers(folder, ["kaltim"], create=True)  # `jembatan up` does, once
    assert local_issuer(folder, "kaltim").kid == made["kaltim"].kid
    assert local_issuers(folder, ["kaltim"], create=True)["kaltim"].kid == made["kaltim"].kid


def test_the_keys_are_private_to_their_owner_and_the_trust_list_holds_public_halves(
    elsewhere: Path,
) -> None:
    trust = running_system(elsewhere / "var")
    for agency in SHIPPED_AGENCIES:
        path = elsewhere / "var" / "issuers" / f"{agency}.json"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        issuer = trust.issuer(f"urn:jembatan:agency:{agency}")
        assert issuer is not None and issuer.agency == agency
    assert '"d"' not in (elsewhere / "var" / TRUST_FILE).read_text()


def test_it_signs_with_the_agencys_key_of_the_system_in_var(elsewhere: Path) -> None:
    trust = running_system(elsewhere / "var")
    code, output = token("--agency", "kaltim", "--role", "nik-reader")
    assert code == 0, output
    caller = read_token(trust, output.strip(), POLICY)
    assert (caller.user, caller.agency, caller.roles) == ("officer-7", "kaltim", {"nik-reader"})
    header = jwt.get_unverified_header(output.strip())
    assert header["alg"] == "EdDSA"
    assert header["kid"] == local_issuer(elsewhere / "var", "kaltim").kid


def test_another_systems_keys_sign_tokens_this_one_refuses(elsewhere: Path) -> None:
    trust = running_system(elsewhere / "var")
    other = elsewhere / "another-system"
    running_system(other)
    code, output = token("--agency", "kemnaker", "--data-dir", str(other))
    assert code == 0, output
    with pytest.raises(TokenRefused) as refused:
        read_token(trust, output.strip(), POLICY)
    assert refused.value.reason == "unknown_key"


def test_it_signs_with_an_issuer_file_kept_elsewhere(elsewhere: Path) -> None:
    kaltim = LocalIssuer.generate("kaltim")
    kaltim.save(elsewhere / "kaltim-issuer.json")
    trust = TrustList.from_document({"issuers": [kaltim.trust_entry()]})
    code, output = token(
        "--agency", "kaltim", "--issuer-file", str(elsewhere / "kaltim-issuer.json")
    )
    assert code == 0, output
    assert read_token(trust, output.strip(), POLICY).agency == "kaltim"

    code, output = token(
        "--agency", "kemnaker", "--issuer-file", str(elsewhere / "kaltim-issuer.json")
    )
    assert code == 1
    assert "signs for agency kaltim, not kemnaker" in output
    code, output = token("--agency", "kaltim", "--issuer-file", str(elsewhere / "none.json"))
    assert code == 1
    assert "none.json does not exist" in output


def test_an_unknown_agency_is_refused(elsewhere: Path) -> None:
    running_system(elsewhere / "var")
    code, output = token("--agency", "atlantis")
    assert code == 1
    assert "Agency 'atlantis' is not known to this deployment" in output
    assert "KNOWN_AGENCIES" in output


def test_an_agency_the_deployment_adds_is_issued(
    elsewhere: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = elsewhere / "system"
    trust = running_system(folder, ("kemnaker", "jabar"))
    monkeypatch.setenv("KNOWN_AGENCIES", "kemnaker,jabar")
    code, output = token("--agency", "jabar", "--data-dir", str(folder))
    assert code == 0, output
    assert read_token(trust, output.strip(), TokenPolicy(frozenset({"jabar"}))).agency == "jabar"


def test_an_unknown_role_is_refused(elsewhere: Path) -> None:
    running_system(elsewhere / "var")
    code, output = token("--agency", "kaltim", "--role", "nik-reader", "--role", "admin")
    assert code == 1
    assert "Unknown role admin: the services check only nik-reader" in output


@pytest.mark.parametrize(("maximum", "expected_hours"), [(None, 12), ("4", 4)])
def test_the_lifetime_is_capped_at_the_maximum_with_a_message(
    elsewhere: Path, monkeypatch: pytest.MonkeyPatch, maximum: str | None, expected_hours: int
) -> None:
    trust = running_system(elsewhere / "var")
    if maximum:
        monkeypatch.setenv("AUTH_MAX_TOKEN_HOURS", maximum)
    result = CliRunner().invoke(
        app, ["token", "--user", "u", "--agency", "kaltim", "--hours", "876000"]
    )
    assert result.exit_code == 0, result.output
    assert f"longer than the {expected_hours} hours the services accept" in result.output
    issued = result.output.strip().splitlines()[-1]
    claims = jwt.decode(issued, options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == expected_hours * 3600
    assert read_token(trust, issued, replace_hours(expected_hours)).agency == "kaltim"


def replace_hours(hours: int) -> TokenPolicy:
    return TokenPolicy(POLICY.agencies, max_lifetime_s=hours * 3600.0)
