import base64
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from pydantic import ValidationError

from jembatan_kit.auth import (
    NATIONAL_AGENCY,
    Caller,
    OutOfScope,
    TokenPolicy,
    TokenRefused,
    agency_filter,
    bearer,
    environment_policy,
    read_token,
    require_agency,
)
from jembatan_kit.issuers import LocalIssuer, issue_token, trust_list_of
from jembatan_kit.settings import ServiceSettings
from jembatan_kit.testing.auth import b64, changes, hmac_signed, service_trusting
from jembatan_kit.trust import TrustList

# Each agency's own issuer. Kaltim has rotated its key: its previous key stays on the trust list
# beside the new one until the tokens it signed have expired. Boyolali has rotated too, and
# dropped its previous key. Kota Serang and Atlantis are trusted issuers whose agencies this
# deployment does not know.
KEMNAKER = LocalIssuer.generate("kemnaker")
KALTIM = LocalIssuer.generate("kaltim")
KALTIM_PREVIOUS = LocalIssuer.generate("kaltim")
BOYOLALI = LocalIssuer.generate("boyolali")
BOYOLALI_RETIRED = LocalIssuer.generate("boyolali")
KOTA_SERANG = LocalIssuer.generate("kota-serang")
ATLANTIS = LocalIssuer.generate("atlantis")
JABAR = LocalIssuer.generate("jabar")
STRANGER = LocalIssuer.generate("kaltim", issuer="https://idp.stranger.example")
"""Signs as it likes, but no trust list names it."""
NOBODY = LocalIssuer.generate("kaltim")
"""A key of no issuer, made by a forger."""


def trust_document() -> dict[str, Any]:
    document = trust_list_of([KEMNAKER, KALTIM, BOYOLALI, KOTA_SERANG, ATLANTIS, JABAR])
    kaltim = document["issuers"][1]
    kaltim["jwks"]["keys"].append(KALTIM_PREVIOUS.public_jwk())
    return document


TRUST = TrustList.from_document(trust_document())
POLICY = TokenPolicy(frozenset({"kemnaker", "kaltim", "boyolali"}))


def test_a_token_names_the_user_agency_and_roles() -> None:
    before = time.time()
    token = issue_token(KALTIM, "officer-7", ["nik-reader"])
    caller = read_token(TRUST, token, POLICY)
    assert (caller.user, caller.agency, caller.roles) == ("officer-7", "kaltim", {"nik-reader"})
    assert caller.token_id == jwt.decode(token, options={"verify_signature": False})["jti"]
    assert caller.issued_at is not None and before - 1 <= caller.issued_at <= time.time()


def test_an_expired_token_is_refused() -> None:
    stale = issue_token(KALTIM, "u", [], valid_for=timedelta(seconds=-1))
    with pytest.raises(jwt.ExpiredSignatureError):
        read_token(TRUST, stale, POLICY)


def test_a_token_read_before_is_refused_once_it_has_expired() -> None:
    # `exp` is in whole seconds: the token lives between one and two seconds.
    token = issue_token(KALTIM, "u", [], valid_for=timedelta(seconds=2))
    assert read_token(TRUST, token, POLICY).agency == "kaltim"
    time.sleep(2.1)
    with pytest.raises(jwt.ExpiredSignatureError):
        read_token(TRUST, token, POLICY)


def test_both_keys_of_a_rotating_issuer_are_accepted_and_a_removed_key_is_refused() -> None:
    old, new = issue_token(KALTIM_PREVIOUS, "u", []), issue_token(KALTIM, "u", [])
    assert read_token(TRUST, old, POLICY).agency == "kaltim"
    assert read_token(TRUST, new, POLICY).agency == "kaltim"
    # The old key's tokens have expired: the operator drops it from the list and reloads.
    rotated = TrustList.from_document(trust_list_of([KEMNAKER, KALTIM]))
    assert read_token(rotated, new, POLICY).agency == "kaltim"
    with pytest.raises(TokenRefused) as refused:
        read_token(rotated, old, POLICY)  # accepted a moment ago: no cache keeps it alive
    assert refused.value.reason == "unknown_key"


def test_a_token_without_an_agency_is_for_its_issuers_agency() -> None:
    token = forged(signer=KALTIM, drop=("agency",))
    assert read_token(TRUST, token, POLICY).agency == "kaltim"


def test_a_token_is_refused_past_the_maximum_lifetime_the_settings_give() -> None:
    token = issue_token(KALTIM, "u", [], valid_for=timedelta(hours=3))
    assert read_token(TRUST, token, POLICY).agency == "kaltim"
    with pytest.raises(TokenRefused) as refused:
        read_token(TRUST, token, replace(POLICY, max_lifetime_s=2 * HOUR))
    assert refused.value.reason == "token_lifetime"


def test_without_a_policy_the_environment_names_the_known_agencies(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token = issue_token(JABAR, "u", [])
    environment_policy.cache_clear()
    with pytest.raises(TokenRefused, match="'jabar', which is not known"):
        read_token(TRUST, token)
    monkeypatch.setenv("KNOWN_AGENCIES", "kemnaker, kaltim,jabar")
    environment_policy.cache_clear()
    try:
        assert read_token(TRUST, token).agency == "jabar"
    finally:
        monkeypatch.delenv("KNOWN_AGENCIES")
        environment_policy.cache_clear()


def test_known_agencies_must_be_agency_codes() -> None:
    with pytest.raises(ValidationError, match="'Jabar' is not an agency code"):
        ServiceSettings(known_agencies="kemnaker,Jabar")


def caller(agency: str) -> Caller:
    return Caller("officer-7", agency, frozenset())


def test_an_agency_acts_for_itself_and_kemnaker_for_every_agency() -> None:
    require_agency(caller("kaltim"), "kaltim", "candidate C")
    require_agency(caller(NATIONAL_AGENCY), "kaltim", "candidate C")


def test_a_province_may_not_act_for_another() -> None:
    with pytest.raises(OutOfScope) as refused:
        require_agency(caller("boyolali"), "kaltim", "candidate C")
    assert refused.value.status_code == 403
    assert refused.value.rule == "agency_scope"
    assert "candidate C belongs to agency kaltim" in refused.value.message
    assert "boyolali" in refused.value.message


def test_lists_are_limited_to_the_callers_agency_unless_national() -> None:
    assert agency_filter(caller("kaltim")) == "kaltim"
    assert agency_filter(caller("kaltim"), "kaltim") == "kaltim"
    assert agency_filter(caller(NATIONAL_AGENCY)) is None
    assert agency_filter(caller(NATIONAL_AGENCY), "boyolali") == "boyolali"
    with pytest.raises(OutOfScope):
        agency_filter(caller("kaltim"), "boyolali")


# The attack table: tokens an agency, a service holding the trust list, or anyone who has seen
# a token could make, each refused by a real service app with a 401 that names the reason, and
# nothing changed by the request that carried it.


def claims_of(signer: LocalIssuer, drop: tuple[str, ...] = (), **claims: Any) -> dict[str, Any]:
    now = int(time.time())
    body = {
        "iss": signer.issuer,
        "sub": "u",
        "agency": signer.agency,
        "roles": [],
        "iat": now,
        "exp": now + 3600,
        "aud": "jembatan",
        "jti": uuid.uuid4().hex,
    }
    body |= claims
    return {name: value for name, value in body.items() if name not in drop}


def forged(
    *,
    signer: LocalIssuer = KALTIM,
    key: LocalIssuer | None = None,
    kid: str | None = None,
    drop: tuple[str, ...] = (),
    **claims: Any,
) -> str:
    """A token with `signer`'s issuer and agency (unless `claims` say otherwise), signed with
    `key`'s private key (the signer's own by default) and naming `kid` (the signer's)."""
    private = (key or signer).signing_key
    headers = {"kid": signer.kid if kid is None else kid}
    return jwt.encode(claims_of(signer, drop, **claims), private, "EdDSA", headers=headers)


def hmac_signed_for(secret: bytes, signer: LocalIssuer = KEMNAKER) -> str:
    """An HS256 token for `signer`'s issuer, naming its key, made with `secret`."""
    return hmac_signed(claims_of(signer), signer.kid, secret)


def hand_signed(signer: LocalIssuer = KALTIM, **claims: Any) -> str:
    """A token signed with `signer`'s key whose claims PyJWT would refuse to encode."""
    header = {"alg": "EdDSA", "typ": "JWT", "kid": signer.kid}
    signing_input = (
        f"{b64(json.dumps(header).encode())}."
        f"{b64(json.dumps(claims_of(signer, **claims)).encode())}"
    )
    return f"{signing_input}.{b64(signer.signing_key.sign(signing_input.encode()))}"


def public_pem(issuer: LocalIssuer) -> bytes:
    public = jwt.PyJWK(issuer.public_jwk()).key
    return bytes(
        public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


def altered(token: str, **claims: Any) -> str:
    """`token` with its payload changed after it was signed."""
    header, _, signature = token.split(".")
    body = jwt.decode(token, options={"verify_signature": False}) | claims
    return f"{header}.{b64(json.dumps(body).encode())}.{signature}"


HOUR = 3600
YEAR = 365 * 24 * HOUR
ATTACKS: dict[str, tuple[Callable[[], str], str, str]] = {
    # case: (token, reason, what the message says)
    "a province's issuer asserting agency kemnaker": (
        lambda: forged(signer=KALTIM, agency="kemnaker"),
        "agency_not_issuers",
        "claims agency 'kemnaker', but its issuer 'urn:jembatan:agency:kaltim' speaks only for"
        " agency 'kaltim'",
    ),
    "a province's issuer asserting another province": (
        lambda: forged(signer=BOYOLALI, agency="kaltim"),
        "agency_not_issuers",
        "speaks only for agency 'boyolali'",
    ),
    "another agency's key, claiming that agency's issuer and its key": (
        lambda: forged(signer=KEMNAKER, key=KALTIM),
        "bad_signature",
        "Signature verification failed",
    ),
    "another agency's key, naming that key under the claimed issuer": (
        lambda: forged(signer=KEMNAKER, key=KALTIM, kid=KALTIM.kid),
        "unknown_key",
        f"key '{KALTIM.kid}', which is not a key of its issuer 'urn:jembatan:agency:kemnaker'",
    ),
    "a token's payload altered to another issuer and agency": (
        lambda: altered(issue_token(KALTIM, "u", []), agency="kemnaker", iss=KEMNAKER.issuer),
        "unknown_key",
        "which is not a key of its issuer 'urn:jembatan:agency:kemnaker'",
    ),
    "a token's payload altered to another role": (
        lambda: altered(issue_token(KALTIM, "u", []), roles=["nik-reader"]),
        "bad_signature",
        "Signature verification failed",
    ),
    "HS256 with the issuer's public key (PEM) as its secret": (
        lambda: hmac_signed_for(public_pem(KEMNAKER)),
        "algorithm_not_allowed",
        "signed with alg 'HS256'; its issuer 'urn:jembatan:agency:kemnaker' signs only with",
    ),
    "HS256 with the issuer's public key (JWK) as its secret": (
        lambda: hmac_signed_for(json.dumps(KEMNAKER.public_jwk()).encode()),
        "algorithm_not_allowed",
        "signed with alg 'HS256'",
    ),
    "HS256 with the public key's raw bytes as its secret": (
        lambda: hmac_signed_for(base64.urlsafe_b64decode(KEMNAKER.public_jwk()["x"] + "=")),
        "algorithm_not_allowed",
        "signed with alg 'HS256'",
    ),
    "alg none": (
        lambda: jwt.encode(claims_of(KEMNAKER), None, "none", headers={"kid": KEMNAKER.kid}),
        "algorithm_not_allowed",
        "alg 'none'",
    ),
    "unknown issuer": (
        lambda: forged(signer=STRANGER),
        "unknown_issuer",
        "issued by 'https://idp.stranger.example', which this deployment does not trust",
    ),
    "no issuer": (lambda: forged(drop=("iss",)), "missing_claim", '"iss"'),
    "issuer a number": (lambda: hand_signed(iss=7), "claim_type", "claim 'iss'"),
    "unknown kid": (
        lambda: forged(signer=KALTIM, key=NOBODY, kid=NOBODY.kid),
        "unknown_key",
        f"key '{NOBODY.kid}', which is not a key of its issuer",
    ),
    "no kid": (lambda: forged(kid=""), "unknown_key", "names no key (kid)"),
    "a key its issuer removed from the list": (
        lambda: forged(signer=BOYOLALI_RETIRED),
        "unknown_key",
        f"key '{BOYOLALI_RETIRED.kid}', which is not a key of its issuer",
    ),
    "unknown agency, trusted issuer": (
        lambda: forged(signer=ATLANTIS),
        "unknown_agency",
        "'atlantis', which is not known to this deployment",
    ),
    "agency left out of KNOWN_AGENCIES": (
        lambda: forged(signer=KOTA_SERANG),
        "unknown_agency",
        "not known to this deployment",
    ),
    "100-year lifetime": (
        lambda: forged(exp=int(time.time()) + 100 * YEAR),
        "token_lifetime",
        "longer than the 12 this deployment allows",
    ),
    "13-hour lifetime": (
        lambda: forged(exp=int(time.time()) + 13 * HOUR),
        "token_lifetime",
        "AUTH_MAX_TOKEN_HOURS",
    ),
    "long-lived, issued long ago": (
        lambda: forged(iat=int(time.time()) - YEAR),
        "token_lifetime",
        "longer than",
    ),
    "no iat": (lambda: forged(drop=("iat",)), "missing_claim", '"iat"'),
    "no aud": (lambda: forged(drop=("aud",)), "missing_claim", '"aud"'),
    "no sub": (lambda: forged(drop=("sub",)), "missing_claim", '"sub"'),
    "wrong aud": (
        lambda: forged(aud="another-system"),
        "wrong_audience",
        "another audience than this deployment's ('jembatan'",
    ),
    "issued in the future": (
        lambda: forged(iat=int(time.time()) + HOUR, exp=int(time.time()) + 2 * HOUR),
        "not_yet_valid",
        "not yet valid",
    ),
    "expired": (lambda: forged(exp=int(time.time()) - 1), "expired", "expired"),
    "roles a number": (lambda: forged(roles=5), "claim_type", "claim 'roles'"),
    "roles a string": (lambda: forged(roles="nik-reader"), "claim_type", "claim 'roles'"),
    "a role a number": (lambda: forged(roles=[1]), "claim_type", "claim 'roles'"),
    "agency a number": (lambda: forged(agency=7), "claim_type", "claim 'agency'"),
    "agency a list": (lambda: forged(agency=["kaltim"]), "claim_type", "claim 'agency'"),
    "agency empty": (lambda: forged(agency=""), "claim_type", "claim 'agency'"),
    "sub empty": (lambda: forged(sub=""), "claim_type", "claim 'sub'"),
    "sub blank": (lambda: forged(sub="   "), "claim_type", "claim 'sub'"),
    "sub a number": (lambda: forged(sub=42), "claim_type", "claim 'sub'"),
    "iat a string": (lambda: forged(iat="yesterday"), "claim_type", "claim 'iat'"),
    "exp a string": (lambda: forged(exp="tomorrow"), "claim_type", "claim 'exp'"),
    "exp infinite": (lambda: forged(exp=float("inf")), "claim_type", "claim 'exp'"),
    "iat true": (lambda: forged(iat=True), "claim_type", "claim 'iat'"),
    "aud a number": (lambda: forged(aud=5), "claim_type", "claim 'aud'"),
    "not a token": (lambda: "not.a.token", "malformed", "not valid here"),
}


@pytest.fixture(scope="module")
async def service(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[httpx.AsyncClient]:
    """A service of agency boyolali in a deployment that knows kemnaker and kaltim."""
    async with service_trusting(
        trust_document(),
        tmp_path_factory.mktemp("auth-service"),
        agency="boyolali",
        known_agencies=["kemnaker", "kaltim"],
    ) as client:
        yield client


@pytest.mark.parametrize("case", ATTACKS)
async def test_a_forged_or_unbounded_token_is_refused_with_the_reason_and_changes_nothing(
    service: httpx.AsyncClient, case: str
) -> None:
    token, reason, says = ATTACKS[case]
    before = await changes(service)
    response = await service.post("/acts", headers=bearer(token()))
    assert response.status_code == 401, response.text
    body = response.json()
    assert body["error"] == "authentication"
    assert body["details"] == {"reason": reason}
    assert says in body["message"]
    assert await changes(service) == before


async def test_a_bounded_token_of_a_known_agency_is_accepted_and_acts(
    service: httpx.AsyncClient,
) -> None:
    issuers = (KALTIM, KALTIM_PREVIOUS, KEMNAKER, BOYOLALI)  # boyolali: the service's own agency
    for issuer in issuers:
        before = await changes(service)
        token = issue_token(issuer, "officer-7", ["nik-reader"])
        response = await service.post("/acts", headers=bearer(token))
        assert response.status_code == 201, response.text
        assert response.json() == {
            "user": "officer-7",
            "agency": issuer.agency,
            "roles": ["nik-reader"],
        }
        assert await changes(service) == before + 1


async def test_a_service_without_a_trust_list_refuses_every_caller(tmp_path: Path) -> None:
    async with service_trusting(None, tmp_path) as client:
        response = await client.post("/acts", headers=bearer(issue_token(KEMNAKER, "u", [])))
    assert response.status_code == 503
    assert response.json()["error"] == "authentication_not_configured"
    assert "AUTH_TRUST_FILE" in response.json()["message"]
