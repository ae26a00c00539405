from datetime import timedelta

import jwt
import pytest

from jembatan_kit.auth import issue_token, read_token

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


def test_a_token_without_an_agency_is_refused() -> None:
    token = jwt.encode({"sub": "u", "exp": 9999999999}, SECRET, algorithm="HS256")
    with pytest.raises(jwt.MissingRequiredClaimError):
        read_token(SECRET, token)
