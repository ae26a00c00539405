import time
from datetime import timedelta

import jwt
import pytest

from jembatan_kit.auth import (
    NATIONAL_AGENCY,
    Caller,
    OutOfScope,
    agency_filter,
    issue_token,
    read_token,
    require_agency,
)

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
