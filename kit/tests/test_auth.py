import time
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

import httpx
import jwt
import pytest
from fastapi import APIRouter
from pydantic import ValidationError
from runtime_test_service import MIGRATIONS, service_settings

from jembatan_kit.auth import (
    NATIONAL_AGENCY,
    Caller,
    CurrentCaller,
    OutOfScope,
    TokenPolicy,
    TokenRefused,
    agency_filter,
    bearer,
    environment_policy,
    issue_token,
    read_token,
    require_agency,
)
from jembatan_kit.nats_server import NatsServerProcess
from jembatan_kit.runtime import ServiceRuntime, create_service_app
from jembatan_kit.settings import ServiceSettings
from jembatan_kit.testing.helpers import running_app

SECRET = "kit-test-signing-key-of-at-least-32-bytes"


def test_a_token_names_the_user_agency_and_roles() -> None:
    caller = read_token(SECRET, issue_token(SECRET, "officer-7", "kaltim", ["nik-reader"]))
    assert (caller.user, caller.agency, caller.roles) == ("officer-7", "kaltim", {"nik-reader"})


def test_a_token_signed_with_another_key_is_refused() -> None:
    with pytest.raises(jwt.InvalidSignatureError):
        read_token(SECRET, issue_token("another-key-of-at-least-32-bytes!!", "u", "kaltim", []))


def test_an_expired_token_is_refused() -> None:
    stale = issue_token(SECRET, "u", "kaltim", [], valid_for=timedelta(seconds=-1))
    with pytest.raises(jwt.ExpiredSignatureError):
        read_token(SECRET, stale)


def test_a_token_read_before_is_refused_once_it_has_expired() -> None:
    # `exp` is in whole seconds: the token lives between one and two seconds.
    token = issue_token(SECRET, "u", "kaltim", [], valid_for=timedelta(seconds=2))
    assert read_token(SECRET, token).agency == "kaltim"
    time.sleep(2.1)
    with pytest.raises(jwt.ExpiredSignatureError):
        read_token(SECRET, token)


def test_a_token_read_with_one_key_is_refused_with_another() -> None:
    token = issue_token(SECRET, "u", "kaltim", [])
    assert read_token(SECRET, token).user == "u"
    with pytest.raises(jwt.InvalidSignatureError):
        read_token("another-key-of-at-least-32-bytes!!", token)


def test_a_token_without_an_agency_is_refused() -> None:
    token = jwt.encode({"sub": "u", "exp": 9999999999}, SECRET, algorithm="HS256")
    with pytest.raises(jwt.MissingRequiredClaimError):
        read_token(SECRET, token)


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


# The attack table: tokens a caller could forge or keep with the deployment's own key, each
# refused by a real service app with a 401 that names the reason.

POLICY = TokenPolicy(frozenset({"kemnaker", "kaltim"}))


def forged(
    *, algorithm: str = "HS256", key: str | None = None, drop: tuple[str, ...] = (), **claims: Any
) -> str:
    now = int(time.time())
    body = {"sub": "u", "agency": "kaltim", "roles": [], "iat": now, "exp": now + 3600}
    body |= {"aud": "jembatan"} | claims
    body = {name: value for name, value in body.items() if name not in drop}
    return jwt.encode(body, SECRET if key is None else key, algorithm=algorithm)


HOUR = 3600
YEAR = 365 * 24 * HOUR
ATTACKS: dict[str, tuple[Callable[[], str], str, str]] = {
    # case: (token, reason, what the message says)
    "unknown agency": (
        lambda: forged(agency="atlantis"),
        "unknown_agency",
        "'atlantis', which is not known to this deployment",
    ),
    "agency left out of KNOWN_AGENCIES": (
        lambda: forged(agency="kota-serang"),
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
    "no agency": (lambda: forged(drop=("agency",)), "missing_claim", '"agency"'),
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
    "alg none": (
        lambda: jwt.encode(jwt.decode(forged(), options={"verify_signature": False}), None, "none"),
        "algorithm_not_allowed",
        "alg",
    ),
    "HS512 with the same key": (
        lambda: forged(algorithm="HS512"),
        "algorithm_not_allowed",
        "alg",
    ),
    "another key": (
        lambda: forged(key="another-key-of-at-least-32-bytes!!"),
        "bad_signature",
        "Signature verification failed",
    ),
}

whoami = APIRouter()


@whoami.get("/whoami")
async def who(caller: CurrentCaller) -> dict[str, Any]:
    return {"user": caller.user, "agency": caller.agency, "roles": sorted(caller.roles)}


@pytest.fixture(scope="module")
async def service(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[httpx.AsyncClient]:
    """A service app as services build it, running its lifespan (migrations on SQLite; a
    nats-server, where it reads the revocation list), for agency boyolali in a deployment that
    knows kemnaker and kaltim."""
    folder = tmp_path_factory.mktemp("auth-service")
    with NatsServerProcess(store_dir=folder / "nats") as nats_server:
        settings = service_settings(
            agency="boyolali",
            known_agencies=["kemnaker", "kaltim"],
            auth_jwt_secret=SECRET,
            database_url=f"sqlite+aiosqlite:///{folder / 'service.db'}",
            nats_url=nats_server.url,
        )
        app = create_service_app(
            lambda: ServiceRuntime(settings, migrations=MIGRATIONS), title="auth", routers=[whoami]
        )
        async with running_app(app, agency=None) as client:
            yield client


@pytest.mark.parametrize("case", ATTACKS)
@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")  # HS512's key
async def test_a_forged_or_unbounded_token_is_refused_with_the_reason(
    service: httpx.AsyncClient, case: str
) -> None:
    token, reason, says = ATTACKS[case]
    response = await service.get("/whoami", headers=bearer(token()))
    assert response.status_code == 401, response.text
    body = response.json()
    assert body["error"] == "authentication"
    assert body["details"] == {"reason": reason}
    assert says in body["message"]


async def test_a_bounded_token_of_a_known_agency_is_accepted(service: httpx.AsyncClient) -> None:
    for agency in ("kaltim", "kemnaker", "boyolali"):  # boyolali: the service's own agency
        token = issue_token(SECRET, "officer-7", agency, ["nik-reader"])
        response = await service.get("/whoami", headers=bearer(token))
        assert response.status_code == 200, response.text
        assert response.json() == {"user": "officer-7", "agency": agency, "roles": ["nik-reader"]}


def test_a_token_is_refused_past_the_maximum_lifetime_the_settings_give() -> None:
    token = issue_token(SECRET, "u", "kaltim", [], valid_for=timedelta(hours=3))
    assert read_token(SECRET, token, POLICY).agency == "kaltim"
    with pytest.raises(TokenRefused) as refused:
        read_token(SECRET, token, replace(POLICY, max_lifetime_s=2 * HOUR))
    assert refused.value.reason == "token_lifetime"


def test_without_a_policy_the_environment_names_the_known_agencies(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token = issue_token(SECRET, "u", "jabar", [])
    environment_policy.cache_clear()
    with pytest.raises(TokenRefused, match="'jabar', which is not known"):
        read_token(SECRET, token)
    monkeypatch.setenv("KNOWN_AGENCIES", "kemnaker, kaltim,jabar")
    environment_policy.cache_clear()
    try:
        assert read_token(SECRET, token).agency == "jabar"
    finally:
        monkeypatch.delenv("KNOWN_AGENCIES")
        environment_policy.cache_clear()


def test_known_agencies_must_be_agency_codes() -> None:
    with pytest.raises(ValidationError, match="'Jabar' is not an agency code"):
        ServiceSettings(known_agencies="kemnaker,Jabar")
