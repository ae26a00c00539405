"""The trust list file and the issuer files: what a good one holds, and a bad one stopping the
service at start with a message naming what is wrong."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest

from jembatan_kit.auth import TokenPolicy, read_token
from jembatan_kit.issuers import (
    IssuerFileInvalid,
    LocalIssuer,
    issue_token,
    trust_list_of,
    write_trust_file,
)
from jembatan_kit.testing.auth import service_trusting
from jembatan_kit.trust import TrustList, TrustListInvalid

KALTIM = LocalIssuer.generate("kaltim")
KEMNAKER = LocalIssuer.generate("kemnaker")


def test_an_issuer_file_is_private_and_signs_what_its_trust_entry_checks(tmp_path: Path) -> None:
    path = tmp_path / "issuers" / "kaltim.json"
    KALTIM.save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = LocalIssuer.load(path)
    assert (loaded.issuer, loaded.agency, loaded.kid) == (
        "urn:jembatan:agency:kaltim",
        "kaltim",
        KALTIM.kid,
    )
    assert loaded.key["alg"] == "EdDSA" and "d" in loaded.key
    entry = loaded.trust_entry()
    assert entry["jwks"]["keys"] == [loaded.public_jwk()]
    assert "d" not in loaded.public_jwk()

    trust_file = tmp_path / "trust.json"
    write_trust_file(trust_file, trust_list_of([loaded]))
    caller = read_token(
        TrustList.load(trust_file),
        issue_token(loaded, "officer-7", ["nik-reader"]),
        TokenPolicy(frozenset({"kaltim"})),
    )
    assert (caller.user, caller.agency, caller.roles) == ("officer-7", "kaltim", {"nik-reader"})


def test_each_generated_key_is_new() -> None:
    assert LocalIssuer.generate("kaltim").kid != LocalIssuer.generate("kaltim").kid


@pytest.mark.parametrize(
    ("document", "says"),
    [
        ({"issuer": "x", "agency": "kaltim", "key": KALTIM.public_jwk()}, "no private part"),
        ({"issuer": "x", "agency": "Kaltim", "key": dict(KALTIM.key)}, "agency"),
        ({"issuer": "x", "agency": "kaltim", "key": dict(KALTIM.key) | {"alg": "HS256"}}, "HS256"),
        ({"issuer": "x", "agency": "kaltim"}, "key: Field required"),
    ],
    ids=["public key only", "bad agency code", "HS256", "no key"],
)
def test_an_issuer_file_that_cannot_sign_is_refused(document: dict[str, Any], says: str) -> None:
    with pytest.raises(IssuerFileInvalid, match="the issuer file is not valid") as refused:
        LocalIssuer.from_document(document)
    assert says in str(refused.value)


def trust_with(**changes: Any) -> dict[str, Any]:
    """A trust list of Kaltim's issuer, its entry changed by `changes` (None: left out)."""
    entry = KALTIM.trust_entry() | changes
    return {"issuers": [{k: v for k, v in entry.items() if v is not None}]}


def key_with(**changes: Any) -> dict[str, Any]:
    key = KALTIM.public_jwk() | changes
    return {"keys": [{k: v for k, v in key.items() if v is not None}]}


BAD_TRUST_LISTS: dict[str, tuple[Any, str]] = {
    "a shared-secret algorithm": (
        trust_with(algorithms=["EdDSA", "HS256"]),
        "issuers[0] (issuer 'urn:jembatan:agency:kaltim').algorithms: HS256 is a shared-secret"
        " algorithm",
    ),
    "alg none": (trust_with(algorithms=["none"]), "'none' is not an algorithm issuers may sign"),
    "no algorithm": (trust_with(algorithms=[]), "name at least one algorithm"),
    "a private key": (
        trust_with(jwks={"keys": [dict(KALTIM.key)]}),
        f"key '{KALTIM.kid}' holds a private or secret part (d)",
    ),
    "a secret key": (
        trust_with(jwks={"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "s", "alg": "HS256"}]}),
        "key 's' holds a private or secret part (k)",
    ),
    "a key without kid": (trust_with(jwks=key_with(kid=None)), "jwks.keys[0] has no 'kid'"),
    "a key without alg": (trust_with(jwks=key_with(alg=None)), "names algorithm (alg) None"),
    "a key for an algorithm the issuer does not use": (
        trust_with(jwks=key_with(alg="ES256")),
        "is an OKP key, which does not sign with ES256",
    ),
    "a key for encryption": (trust_with(jwks=key_with(use="enc")), "not for signatures"),
    "a key that is not one": (trust_with(jwks=key_with(x="not-a-key")), "not a usable EdDSA"),
    "two keys of one kid": (
        trust_with(jwks={"keys": [KALTIM.public_jwk(), KALTIM.public_jwk()]}),
        "two keys are named",
    ),
    "no keys": (trust_with(jwks=None), "give the issuer's keys one way"),
    "keys two ways": (
        trust_with(jwks_uri="https://sso.example.go.id/certs"),
        "it gives jwks and jwks_uri",
    ),
    "keys over plain http from elsewhere": (
        trust_with(jwks=None, jwks_uri="http://sso.example.go.id/certs"),
        "must be an https URL",
    ),
    "discovery of an issuer that is no URL": (
        trust_with(jwks=None, discovery=True),
        "with discovery, the issuer 'urn:jembatan:agency:kaltim' must be an https URL",
    ),
    "a misspelt field": (trust_with(jwks_url="https://x"), "jwks_url: Extra inputs"),
    "a bad agency code": (trust_with(agency="Kaltim"), ".agency: String should match"),
    "an issuer listed twice": (
        {"issuers": [KALTIM.trust_entry(), KALTIM.trust_entry()]},
        "issuer 'urn:jembatan:agency:kaltim' is listed twice",
    ),
    "one key for two issuers": (
        {"issuers": [KALTIM.trust_entry(), KALTIM.trust_entry() | {"issuer": "urn:other"}]},
        "is also a key of issuer 'urn:jembatan:agency:kaltim': a key speaks for one issuer",
    ),
    "no issuers": ({"issuers": []}, "issuers: List should have at least 1 item"),
    "not a list of issuers": (["urn:jembatan:agency:kaltim"], "Input should be a valid"),
}


@pytest.mark.parametrize("case", BAD_TRUST_LISTS)
def test_a_trust_list_that_breaks_a_rule_is_refused_naming_it(case: str) -> None:
    document, says = BAD_TRUST_LISTS[case]
    with pytest.raises(TrustListInvalid) as refused:
        TrustList.from_document(document)
    assert says in str(refused.value)


def test_an_oidc_provider_and_a_jwks_url_are_listed_without_their_keys() -> None:
    trust = TrustList.from_document(
        trust_list_of(
            [KEMNAKER],
            [
                {
                    "issuer": "https://sso.example.go.id/realms/kaltim",
                    "agency": "kaltim",
                    "jwks_uri": "https://sso.example.go.id/realms/kaltim/certs",
                    "audience": "jembatan-kaltim",
                    "algorithms": ["RS256", "PS256"],
                },
                {"issuer": "https://idp.boyolali.go.id", "agency": "boyolali", "discovery": True},
            ],
        )
    )
    assert trust.agencies == {"kemnaker", "kaltim", "boyolali"}
    provider = trust.issuer("https://sso.example.go.id/realms/kaltim")
    assert provider is not None and provider.audience == "jembatan-kaltim"
    assert provider.algorithms == {"RS256", "PS256"}


def test_a_file_that_is_not_json_or_not_there_is_refused(tmp_path: Path) -> None:
    (tmp_path / "trust.json").write_text("{'issuers': []}")
    with pytest.raises(TrustListInvalid, match=r"trust.json \(AUTH_TRUST_FILE\) is not JSON"):
        TrustList.load(tmp_path / "trust.json")
    with pytest.raises(TrustListInvalid, match="cannot be read: No such file"):
        TrustList.load(tmp_path / "elsewhere.json")


def test_trust_lists_carry_no_private_key(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="public keys only"):
        write_trust_file(tmp_path / "trust.json", trust_with(jwks={"keys": [dict(KALTIM.key)]}))
    assert not (tmp_path / "trust.json").exists()


async def test_a_bad_trust_list_stops_the_service_at_start(tmp_path: Path) -> None:
    (tmp_path / "trust.json").write_text(json.dumps(trust_with(algorithms=["HS256"])))
    with pytest.raises(TrustListInvalid, match="HS256 is a shared-secret algorithm"):
        async with service_trusting(None, tmp_path, auth_trust_file=tmp_path / "trust.json"):
            pass
