"""Revoked tokens and users are refused by a running service within seconds of `jembatan revoke`
writing them to the bucket, through restarts of the service and of nats-server; lifting a
revocation lets the token in again; before a service has read the list it refuses every
authenticated request. A real nats-server and the service app as services build it."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import jwt
import nats
import pytest
from fastapi import APIRouter
from nats.aio.client import Client as NatsClient

from jembatan_kit.auth import Caller, CurrentCaller, bearer
from jembatan_kit.issuers import issue_token
from jembatan_kit.nats_server import NatsServerProcess, free_port
from jembatan_kit.revocation import (
    BATCH,
    Kind,
    Revocation,
    RevocationList,
    ensure_bucket,
    lift,
    read_changes,
    read_list,
    token_key,
    user_key,
    write,
)
from jembatan_kit.runtime import ServiceRuntime, create_service_app
from jembatan_kit.testing.helpers import eventually, issuer_for_tests, running_app
from jembatan_kit.testing.runtime_service import MIGRATIONS, service_settings

SEEN_WITHIN_S = 5.0

whoami = APIRouter()


@whoami.get("/whoami")
async def who(caller: CurrentCaller) -> dict[str, Any]:
    return {"user": caller.user, "agency": caller.agency}


def service_app(nats_url: str, folder: Path) -> Any:
    settings = service_settings(
        agency="kaltim",
        database_url=f"sqlite+aiosqlite:///{folder / 'service.db'}",
        nats_url=nats_url,
    )
    return create_service_app(
        lambda: ServiceRuntime(settings, migrations=MIGRATIONS),
        title="revocation",
        routers=[whoami],
    )


def token(user: str = "officer-7", agency: str = "kaltim") -> str:
    return issue_token(issuer_for_tests(agency), user, [])


def token_id(signed: str) -> str:
    jti: str = jwt.decode(signed, options={"verify_signature": False})["jti"]
    return jti


async def status_of(client: httpx.AsyncClient, signed: str) -> int:
    return (await client.get("/whoami", headers=bearer(signed))).status_code


async def refused_within(client: httpx.AsyncClient, signed: str, seconds: float) -> None:
    async def refused() -> bool:
        return await status_of(client, signed) == 401

    await eventually(refused, timeout_s=seconds)


async def accepted_within(client: httpx.AsyncClient, signed: str, seconds: float) -> None:
    async def accepted() -> bool:
        return await status_of(client, signed) == 200

    await eventually(accepted, timeout_s=seconds)


def revocation(kind: Kind, target: str, agency: str = "kaltim") -> Revocation:
    return Revocation(kind, agency, target, datetime.now(UTC), by="ops-test", reason="lost phone")


@asynccontextmanager
async def operator(url: str) -> AsyncIterator[NatsClient]:
    client = await nats.connect(url)
    try:
        yield client
    finally:
        await client.close()


async def health(client: httpx.AsyncClient) -> dict[str, Any]:
    body: dict[str, Any] = (await client.get("/health")).json()
    return body


# --- the list itself -------------------------------------------------------------------------


def test_a_key_names_what_it_revokes_and_reads_back() -> None:
    assert token_key("kaltim", "0f3c9e") == "token.kaltim.0f3c9e"
    assert (
        user_key("kota-serang", "siti.rahma@serang") == "user.kota-serang.c2l0aS5yYWhtYUBzZXJhbmc"
    )
    odd = "id with spaces/and.dots"
    assert token_key("kaltim", odd).startswith("token.kaltim.=")
    for kind, target in ((Kind.TOKEN, "0f3c9e"), (Kind.TOKEN, odd), (Kind.USER, "siti.rahma")):
        written = revocation(kind, target)
        read = Revocation.from_entry(written.key, written.value())
        assert read is not None
        assert (read.kind, read.agency, read.target, read.by) == (
            kind,
            "kaltim",
            target,
            "ops-test",
        )
        assert read.revoked_at == written.revoked_at.replace(microsecond=0)  # type: ignore[union-attr]
    assert Revocation.from_entry("something.else", b"{}") is None


def test_a_user_revocation_refuses_the_tokens_issued_up_to_it() -> None:
    revoked = Revocation(Kind.USER, "kaltim", "u", datetime.fromtimestamp(1_000, UTC))
    revocations = RevocationList()
    revocations.replace({revoked.key: revoked}, 1)

    def caller(issued_at: float, agency: str = "kaltim") -> Caller:
        return Caller("u", agency, frozenset(), "t", issued_at)

    assert revocations.refusal(caller(999)) == revoked
    assert revocations.refusal(caller(1_000)) == revoked  # issued in the second it was revoked
    assert revocations.refusal(caller(1_001)) is None
    assert revocations.refusal(caller(999, agency="boyolali")) is None  # another agency's u
    unreadable = Revocation.from_entry(revoked.key, b"not json")
    assert unreadable is not None and unreadable.covers(10**12)  # when unknown: every token


# --- a running service -------------------------------------------------------------------------


async def test_a_revoked_token_and_user_are_refused_within_seconds_until_lifted(
    nats_url: str, tmp_path: Path
) -> None:
    lost, other, colleague = token(), token(), token("officer-8")
    async with running_app(service_app(nats_url, tmp_path), agency=None) as client:
        for signed in (lost, other, colleague):
            assert await status_of(client, signed) == 200
        async with operator(nats_url) as ops:
            await write(ops, revocation(Kind.TOKEN, token_id(lost)))
            started = time.monotonic()
            await refused_within(client, lost, SEEN_WITHIN_S)
            seen_after = time.monotonic() - started
            refused = (await client.get("/whoami", headers=bearer(lost))).json()
            assert refused["error"] == "authentication"
            assert refused["details"]["reason"] == "revoked"
            assert refused["details"]["revoked"] == "token"
            assert f"this token ({token_id(lost)}) was revoked at" in refused["message"]
            assert "jembatan token --user officer-7 --agency kaltim" in refused["message"]
            assert await status_of(client, other) == 200, "only that token"

            user = revocation(Kind.USER, "officer-7")
            await write(ops, user)
            await refused_within(client, other, SEEN_WITHIN_S)
            assert await status_of(client, colleague) == 200, "only that user"
            body = (await client.get("/whoami", headers=bearer(other))).json()
            assert body["details"]["revoked"] == "user"
            assert "issued up to" in body["message"]

            # A token issued after the user's revocation (`iat` is in whole seconds) is accepted.
            assert user.revoked_at is not None
            while time.time() < user.revoked_at.timestamp() + 1:
                time.sleep(0.05)
            assert await status_of(client, token()) == 200

            await lift(ops, user.key)
            await accepted_within(client, other, SEEN_WITHIN_S)
            assert await status_of(client, lost) == 401, "the token's own revocation stays"
            await lift(ops, token_key("kaltim", token_id(lost)))
            await accepted_within(client, lost, SEEN_WITHIN_S)
            assert (await read_list(ops))[0] == {}
    assert seen_after < SEEN_WITHIN_S


async def test_revocations_outlast_a_restart_of_the_service_and_of_nats_server(
    tmp_path: Path,
) -> None:
    server = NatsServerProcess(store_dir=tmp_path / "nats", port=free_port())
    revoked, kept = token(), token("officer-8")
    server.start()
    try:
        app = service_app(server.url, tmp_path)
        async with running_app(app, agency=None) as client, operator(server.url) as ops:
            await write(ops, revocation(Kind.TOKEN, token_id(revoked)))
            await refused_within(client, revoked, SEEN_WITHIN_S)

        # A new instance refuses it from its first request: it reads the list before serving.
        async with running_app(service_app(server.url, tmp_path), agency=None) as client:
            assert await status_of(client, revoked) == 401
            assert await status_of(client, kept) == 200

            server.stop()

            async def stale() -> bool:
                reasons = (await health(client))["reasons"]
                return any(r.startswith("revocations: as read at") for r in reasons)

            await eventually(stale, timeout_s=15)
            assert await status_of(client, revoked) == 401, "the list read before is kept"
            assert await status_of(client, kept) == 200

            server.start()  # on the same store: the bucket is on disk

            async def current() -> bool:
                status = await health(client)
                return status["nats"] == "connected" and status["revocations"]["problem"] is None

            await eventually(current, timeout_s=30)
            assert await status_of(client, revoked) == 401
            async with operator(server.url) as ops:
                await write(ops, revocation(Kind.USER, "officer-8"))
                await refused_within(client, kept, SEEN_WITHIN_S)
                await lift(ops, token_key("kaltim", token_id(revoked)))
                await accepted_within(client, revoked, SEEN_WITHIN_S)
    finally:
        server.stop()


async def test_until_the_list_is_read_authenticated_requests_are_refused_with_503(
    tmp_path: Path,
) -> None:
    server = NatsServerProcess(store_dir=tmp_path / "nats", port=free_port())
    async with running_app(service_app(server.url, tmp_path), agency=None) as client:
        # No nats-server: HTTP serves, but no caller can be told apart from a revoked one.
        response = await client.get("/whoami", headers=bearer(token()))
        assert response.status_code == 503, response.text
        assert response.headers["Retry-After"] == "5"
        assert response.json()["error"] == "revocations_not_loaded"
        status = await health(client)
        assert status["revocations"]["loaded"] is False
        assert any(r.startswith("revocations: not read yet") for r in status["reasons"])
        assert (await client.get("/whoami")).status_code == 401, "no token: still a 401"
        server.start()
        try:
            await accepted_within(client, token(), 30)
            assert (await health(client))["revocations"]["loaded"] is True
        finally:
            server.stop()


@pytest.mark.parametrize("kind", [Kind.TOKEN, Kind.USER])
async def test_a_revocation_of_another_agency_refuses_nobody_here(
    nats_url: str, tmp_path: Path, kind: Kind
) -> None:
    """The keys name the agency: officer-7 of boyolali is not officer-7 of kaltim."""
    signed = token()
    app = service_app(nats_url, tmp_path)
    async with running_app(app, agency=None) as client:
        async with operator(nats_url) as ops:
            target = token_id(signed) if kind is Kind.TOKEN else "officer-7"
            await write(ops, revocation(kind, target, agency="boyolali"))
            await write(ops, revocation(Kind.TOKEN, "unrelated"))

            async def both_read() -> bool:
                return len(app.state.runtime.revocations.entries) == 2

            await eventually(both_read, timeout_s=SEEN_WITHIN_S)
        assert await status_of(client, signed) == 200


async def test_a_list_longer_than_one_read_is_read_whole_and_followed(
    nats_client: NatsClient,
) -> None:
    await ensure_bucket(nats_client.jetstream())
    many = [revocation(Kind.TOKEN, f"t{n:04d}") for n in range(BATCH + 44)]
    for revoked in many:
        await write(nats_client, revoked)
    entries, last = await read_list(nats_client)
    assert set(entries) == {revoked.key for revoked in many}
    assert last == len(many)
    await lift(nats_client, many[0].key)
    await write(nats_client, revocation(Kind.USER, "officer-9"))
    changes, after = await read_changes(nats_client, last)
    assert [(c.key, c.revocation is None) for c in changes] == [
        (many[0].key, True),
        (user_key("kaltim", "officer-9"), False),
    ]
    assert after == last + 2
    assert await read_changes(nats_client, after) == ([], after)
