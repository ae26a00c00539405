"""`jembatan up` is each known agency's issuer on the embedded default: it makes one private key
per agency at first start, keeps them across restarts, and gives its services the trust list of
their public halves, so a token of one agency's key is accepted for that agency only."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import httpx
import jwt

from jembatan_cli.system import ISSUERS_DIR, TRUST_FILE, LocalSystem, local_issuers
from jembatan_kit.auth import bearer
from jembatan_kit.issuers import LocalIssuer, issue_token


def candidates(system: LocalSystem, headers: dict[str, str]) -> httpx.Response:
    return httpx.get(f"{system.services['registration'].url}/candidates", headers=headers)


def test_up_makes_each_agencys_key_once_and_its_services_trust_them(tmp_path: Path) -> None:
    data = tmp_path / "var"
    known = {"KNOWN_AGENCIES": "kemnaker,kaltim,jabar"}
    with LocalSystem.on_free_ports(data, names=("registration",), extra_env=known) as system:
        issuers = local_issuers(data)
        assert set(issuers) == {"kemnaker", "kaltim", "jabar"}
        for agency, issuer in issuers.items():
            assert issuer.agency == agency
            path = data / ISSUERS_DIR / f"{agency}.json"
            assert stat.S_IMODE(path.stat().st_mode) == 0o600
        listed = json.loads((data / TRUST_FILE).read_text())
        assert {entry["agency"] for entry in listed["issuers"]} == set(issuers)
        assert '"d"' not in (data / TRUST_FILE).read_text()

        jabar = issue_token(issuers["jabar"], "officer-1", [])
        assert candidates(system, bearer(jabar)).status_code == 200

        # Kaltim's key, claiming Kemnaker: refused, whatever else the token says.
        claims = jwt.decode(
            issue_token(issuers["kaltim"], "u", []), options={"verify_signature": False}
        )
        forged = jwt.encode(
            claims | {"agency": "kemnaker"},
            issuers["kaltim"].signing_key,
            "EdDSA",
            headers={"kid": issuers["kaltim"].kid},
        )
        refused = candidates(system, bearer(forged))
        assert refused.status_code == 401
        assert refused.json()["details"] == {"reason": "agency_not_issuers"}
        # A Kemnaker key of another system: refused.
        elsewhere = issue_token(LocalIssuer.generate("kemnaker"), "u", [])
        assert candidates(system, bearer(elsewhere)).json()["details"] == {"reason": "unknown_key"}

    with LocalSystem.on_free_ports(data, names=("registration",), extra_env=known) as again:
        kept = local_issuers(data)
        assert {agency: issuer.kid for agency, issuer in kept.items()} == {
            agency: issuer.kid for agency, issuer in issuers.items()
        }
        assert candidates(again, bearer(jabar)).status_code == 200  # the same key, still trusted
