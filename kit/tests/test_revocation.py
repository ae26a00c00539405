"""Revoked tokens and users are refused by a running service within seconds of `jembatan revoke`
writing them to the bucket, through restarts of the service and of nats-server; lifting a
revocation lets the token in again; before a service knows the list it refuses every
authenticated request; a service restarted while NATS is down serves with the snapshot of the
list it kept, if it is young enough. A real nats-server and the service app as services build
it."""

from __future__ import annotations

import json
import stat
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
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
    Snapshot,
    SnapshotFile,
    SnapshotUnusable,
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
KEPT_WITHIN_S = 15.0
"""A read reaches the snapshot file a moment after the list: written beside the reads, it
waits for the disk, which other processes keep busy."""

whoami = APIRouter()


@whoami.get("/whoami")
async def who(caller: CurrentCaller) -> dict[str, Any]:
    return {"user": caller.user, "agency": caller.agency}


def service_app(nats_url: str, folder: Path, **overrides: Any) -> Any:
    settings = service_settings(
        agency="kaltim",
        database_url=f"sqlite+aiosqlite:///{folder / 'service.db'}",
        nats_url=nats_url,
        **overrides,
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


def snapshot_of(path: Path) -> dict[str, Any]:
    """The snapshot file as written (empty while there is none)."""
    if not path.exists():
        return {}
    content: dict[str, Any] = json.loads(path.read_text())
    return content


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


def test_a_snapshot_reads_back_as_written_and_only_its_owner_may_read_it(tmp_path: Path) -> None:
    odd = Revocation(Kind.TOKEN, "kaltim", "id with spaces/and.dots", None, by="ops", reason="?")
    user = revocation(Kind.USER, "siti.rahma@serang", agency="kota-serang")
    entries = {odd.key: odd, user.key: user}
    read_at = datetime.now(UTC) - timedelta(minutes=5)
    kept = SnapshotFile(tmp_path / "var" / "revocations.json", timedelta(hours=12))
    kept.save(Snapshot(entries, 42, read_at))
    assert stat.S_IMODE(kept.path.stat().st_mode) == 0o600
    assert sorted(p.name for p in kept.path.parent.iterdir()) == ["revocations.json"]
    restored = kept.load()
    assert restored is not None
    assert (restored.sequence, restored.read_at) == (42, read_at)
    assert restored.entries[odd.key] == odd, "an unknown time stays unknown: every token"
    assert restored.entries[user.key].revoked_at == user.revoked_at.replace(microsecond=0)  # type: ignore[union-attr]
    assert (restored.entries[user.key].by, restored.entries[user.key].reason) == (
        "ops-test",
        "lost phone",
    )
    with pytest.raises(SnapshotUnusable, match=r"12 h a snapshot is trusted"):
        kept.load(now=read_at + timedelta(hours=12, seconds=1))
    with pytest.raises(SnapshotUnusable, match="clock was set back"):
        kept.load(now=read_at - timedelta(minutes=2))
    assert SnapshotFile(tmp_path / "none.json", timedelta(hours=1)).load() is None


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


@pytest.mark.parametrize("kept", [False, True], ids=["no snapshot file", "no snapshot yet"])
async def test_until_the_list_is_read_authenticated_requests_are_refused_with_503(
    tmp_path: Path, kept: bool
) -> None:
    server = NatsServerProcess(store_dir=tmp_path / "nats", port=free_port())
    snapshot = tmp_path / "revocations.json"
    app = service_app(server.url, tmp_path, revocations_snapshot_file=snapshot if kept else None)
    async with running_app(app, agency=None) as client:
        # No nats-server: HTTP serves, but no caller can be told apart from a revoked one.
        response = await client.get("/whoami", headers=bearer(token()))
        assert response.status_code == 503, response.text
        assert response.headers["Retry-After"] == "5"
        assert response.json()["error"] == "revocations_not_loaded"
        status = await health(client)
        assert status["revocations"]["loaded"] is False
        assert status["revocations"]["source"] is None
        reason = next(r for r in status["reasons"] if r.startswith("revocations:"))
        assert reason.startswith("revocations: not read yet"), reason
        assert (
            f"snapshot: no snapshot in {snapshot} yet"
            if kept
            else "snapshot: none kept (REVOCATIONS_SNAPSHOT_FILE unset)"
        ) in reason
        assert (await client.get("/whoami")).status_code == 401, "no token: still a 401"
        server.start()
        try:
            await accepted_within(client, token(), 30)
            assert (await health(client))["revocations"]["loaded"] is True
            if kept:

                async def written() -> bool:
                    return snapshot_of(snapshot).get("revocations") == {}

                await eventually(written, timeout_s=KEPT_WITHIN_S)
            else:
                assert not snapshot.exists()
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


async def test_a_service_restarted_while_nats_is_down_refuses_what_its_snapshot_holds(
    tmp_path: Path,
) -> None:
    server = NatsServerProcess(store_dir=tmp_path / "nats", port=free_port())
    snapshot = tmp_path / "service-revocations.json"
    revoked, revoked_while_away, kept = token(), token("officer-9"), token("officer-8")
    revoked_key = token_key("kaltim", token_id(revoked))
    away_key = user_key("kaltim", "officer-9")

    def service() -> Any:
        return service_app(server.url, tmp_path, revocations_snapshot_file=snapshot)

    async def in_snapshot(*keys: str) -> bool:
        return set(snapshot_of(snapshot).get("revocations", {})) == set(keys)

    server.start()
    try:
        async with running_app(service(), agency=None) as client, operator(server.url) as ops:
            await write(ops, revocation(Kind.TOKEN, token_id(revoked)))
            await refused_within(client, revoked, SEEN_WITHIN_S)
            await eventually(lambda: in_snapshot(revoked_key), timeout_s=KEPT_WITHIN_S)
        assert stat.S_IMODE(snapshot.stat().st_mode) == 0o600
        assert [p.name for p in tmp_path.glob(f".{snapshot.name}*")] == [], "no partial file"

        # Revoked while the service is stopped: with NATS up, a start waits for the bucket, not
        # only for its snapshot, and writes what it read.
        async with operator(server.url) as ops:
            await write(ops, revocation(Kind.USER, "officer-9"))
        async with running_app(service(), agency=None) as client:
            assert await status_of(client, revoked_while_away) == 401
            assert (await health(client))["revocations"]["source"] == "bucket"
            await eventually(lambda: in_snapshot(revoked_key, away_key), timeout_s=KEPT_WITHIN_S)
        kept_before = snapshot_of(snapshot)

        server.stop()
        async with running_app(service(), agency=None) as client:
            # No NATS: the list of the snapshot, from the first request.
            assert await status_of(client, revoked) == 401
            assert await status_of(client, revoked_while_away) == 401
            assert await status_of(client, kept) == 200
            status = await health(client)
            assert status["status"] == "degraded"
            assert status["revocations"]["source"] == "snapshot"
            assert status["revocations"]["revoked"] == 2
            assert 0 <= status["revocations"]["age_s"] < 60
            assert any(
                reason.startswith("revocations: as read at")
                and f"before this service started, kept in {snapshot}" in reason
                for reason in status["reasons"]
            ), status["reasons"]

            server.start()  # on the same store: the bucket is on disk

            async def read_again() -> bool:
                revocations = (await health(client))["revocations"]
                return revocations["source"] == "bucket" and revocations["problem"] is None

            await eventually(read_again, timeout_s=30)
            async with operator(server.url) as ops:
                await lift(ops, revoked_key)
            await accepted_within(client, revoked, SEEN_WITHIN_S)
            assert await status_of(client, revoked_while_away) == 401
            await eventually(lambda: in_snapshot(away_key), timeout_s=KEPT_WITHIN_S)
        kept_after = snapshot_of(snapshot)
        assert kept_after["sequence"] > kept_before["sequence"]
        assert kept_after["read_at"] > kept_before["read_at"]
    finally:
        server.stop()


SNAPSHOTS = {
    # name: (hours since it was read, REVOCATIONS_SNAPSHOT_MAX_AGE_H, what /health says if unused)
    "11 h old": (11.0, None, None),
    "13 h old, tokens live 12 h": (13.0, None, "older than the 12 h a snapshot is trusted"),
    "2 h old, trusted 1 h": (2.0, 1.0, "older than the 60 min a snapshot is trusted"),
    "13 h old, trusted 48 h": (13.0, 48.0, "older than the 12 h a snapshot is trusted"),
    "from the future": (-1.0, None, "clock was set back"),
}


@pytest.mark.parametrize("case", SNAPSHOTS)
async def test_a_service_restarted_while_nats_is_down_serves_only_with_a_young_snapshot(
    tmp_path: Path, case: str
) -> None:
    read_ago_h, max_age_h, refused_because = SNAPSHOTS[case]
    revoked, other = token(), token("officer-8")
    listed = revocation(Kind.TOKEN, token_id(revoked))
    path = tmp_path / "revocations.json"
    read_at = datetime.now(UTC) - timedelta(hours=read_ago_h)
    SnapshotFile(path, timedelta(days=365)).save(Snapshot({listed.key: listed}, 7, read_at))
    nowhere = f"nats://127.0.0.1:{free_port()}"
    app = service_app(
        nowhere,
        tmp_path,
        revocations_snapshot_file=path,
        revocations_snapshot_max_age_h=max_age_h,
    )
    async with running_app(app, agency=None) as client:
        status = await health(client)
        if refused_because is None:
            assert await status_of(client, revoked) == 401
            assert await status_of(client, other) == 200
            assert status["revocations"]["source"] == "snapshot"
            assert any("11 h ago) before this service started" in r for r in status["reasons"])
        else:
            assert await status_of(client, revoked) == 503
            assert await status_of(client, other) == 503
            assert status["revocations"]["loaded"] is False
            reason = next(r for r in status["reasons"] if r.startswith("revocations:"))
            assert reason.startswith("revocations: not read yet"), reason
            assert "snapshot: not used:" in reason and refused_because in reason, reason


async def test_an_unreadable_snapshot_is_not_used(tmp_path: Path) -> None:
    path = tmp_path / "revocations.json"
    path.write_text('{"format": 1, "read_at": "yesterday"')
    nowhere = f"nats://127.0.0.1:{free_port()}"
    app = service_app(nowhere, tmp_path, revocations_snapshot_file=path)
    async with running_app(app, agency=None) as client:
        assert await status_of(client, token()) == 503
        reasons = (await health(client))["reasons"]
        assert any("is not a revocation snapshot" in r for r in reasons), reasons


async def test_a_snapshot_that_cannot_be_written_is_reported_and_the_list_still_followed(
    nats_url: str, tmp_path: Path
) -> None:
    (tmp_path / "not-a-folder").write_text("")
    path = tmp_path / "not-a-folder" / "revocations.json"
    revoked = token()
    app = service_app(nats_url, tmp_path, revocations_snapshot_file=path)
    async with running_app(app, agency=None) as client, operator(nats_url) as ops:

        async def reported() -> bool:
            return any(
                reason.startswith("revocations: not kept for a restart")
                and f"{path} cannot be written" in reason
                for reason in (await health(client))["reasons"]
            )

        await eventually(reported, timeout_s=KEPT_WITHIN_S)
        await write(ops, revocation(Kind.TOKEN, token_id(revoked)))
        await refused_within(client, revoked, SEEN_WITHIN_S)
        assert (await health(client))["revocations"]["snapshot_problem"] is not None
