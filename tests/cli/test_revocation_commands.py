"""`jembatan revoke`, `unrevoke` and `revocations` as the operator, on a nats-server with the
embedded default's authorisation: what they write is what the services read, each action is
logged; a service's user reads the bucket and can neither write it nor open a consumer on it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import nats
import pytest
from nats.aio.client import Client as NatsClient
from typer.testing import CliRunner

from jembatan_cli.main import app
from jembatan_cli.revocation_commands import ACTION_LOG
from jembatan_cli.system import (
    NATS_CONFIG_FILE,
    OPERATOR,
    SERVICES,
    nats_passwords,
    render_authorization,
    with_credentials,
)
from jembatan_kit.nats_server import NatsServerProcess
from jembatan_kit.revocation import (
    STREAM,
    Kind,
    Revocation,
    ensure_bucket,
    key_subject,
    read_list,
    token_key,
    user_key,
    write,
)


@dataclass
class Guarded:
    url: str
    passwords: dict[str, str]
    data_dir: Path

    def url_of(self, user: str) -> str:
        return with_credentials(self.url, user, self.passwords[user])

    def jembatan(self, *args: str) -> tuple[int, str]:
        result = CliRunner().invoke(
            app, [*args, "--nats-url", self.url, "--data-dir", str(self.data_dir)]
        )
        return result.exit_code, result.output


@pytest.fixture
def guarded(tmp_path: Path) -> Iterator[Guarded]:
    """A nats-server with only the authorisation `jembatan up` writes, and the bucket `up`
    creates as ops; the data folder holds the passwords, as `up` leaves it."""
    data_dir = tmp_path / "var"
    passwords = nats_passwords(data_dir, create=True)
    config = tmp_path / NATS_CONFIG_FILE
    config.write_text(render_authorization(passwords))
    with NatsServerProcess(store_dir=tmp_path / "nats", config_file=config) as server:
        guarded = Guarded(server.url, passwords, data_dir)

        async def create() -> None:
            ops = await nats.connect(guarded.url_of(OPERATOR))
            await ensure_bucket(ops.jetstream())
            await ops.close()

        asyncio.run(create())
        yield guarded


async def listed(url: str) -> dict[str, Revocation]:
    client = await nats.connect(url)
    try:
        return (await read_list(client))[0]
    finally:
        await client.close()


def test_the_operator_revokes_lists_and_lifts_and_each_action_is_logged(
    guarded: Guarded,
) -> None:
    code, out = guarded.jembatan(
        "revoke", "--token-id", "0f3c9e", "--agency", "kaltim", "--reason", "laptop stolen"
    )
    assert code == 0, out
    assert "revoked token 0f3c9e of kaltim" in out
    code, out = guarded.jembatan("revoke", "--user", "siti.rahma", "--agency", "kota-serang")
    assert code == 0, out
    assert "every token of siti.rahma of kota-serang issued up to" in out

    stored = asyncio.run(listed(guarded.url_of(OPERATOR)))
    assert set(stored) == {token_key("kaltim", "0f3c9e"), user_key("kota-serang", "siti.rahma")}
    token = stored[token_key("kaltim", "0f3c9e")]
    assert (token.kind, token.reason) == (Kind.TOKEN, "laptop stolen")
    assert token.revoked_at is not None and token.by

    code, out = guarded.jembatan("revocations")
    assert code == 0, out
    assert "0f3c9e  laptop stolen" in out and "siti.rahma" in out
    assert "2 revocation(s)" in out
    code, out = guarded.jembatan("revocations", "--agency", "kaltim")
    assert "1 revocation(s)" in out and "siti.rahma" not in out

    code, out = guarded.jembatan("revoke", "--user", "siti.rahma", "--agency", "kota-serang")
    assert code == 0 and "was already revoked" in out

    code, out = guarded.jembatan("unrevoke", "--token-id", "0f3c9e", "--agency", "kaltim")
    assert code == 0, out
    assert "lifted: token 0f3c9e of kaltim" in out
    code, out = guarded.jembatan("unrevoke", "--token-id", "0f3c9e", "--agency", "kaltim")
    assert code == 1 and "is not revoked: nothing to lift" in out
    assert set(asyncio.run(listed(guarded.url_of(OPERATOR)))) == {
        user_key("kota-serang", "siti.rahma")
    }

    actions = [
        json.loads(line) for line in (guarded.data_dir / ACTION_LOG).read_text().splitlines()
    ]
    assert [(a["action"], a["kind"], a["agency"]) for a in actions] == [
        ("revoke", "token", "kaltim"),
        ("revoke", "user", "kota-serang"),
        ("revoke", "user", "kota-serang"),
        ("unrevoke", "token", "kaltim"),
    ]
    assert actions[0]["token_id"] == "0f3c9e" and actions[0]["reason"] == "laptop stolen"
    assert actions[1]["user"] == "siti.rahma"
    assert all(a["who"] and a["sequence"] > 0 for a in actions)
    assert all(guarded.passwords[OPERATOR] not in json.dumps(a) for a in actions)


def test_what_cannot_be_revoked_is_refused_with_the_reason(guarded: Guarded) -> None:
    code, out = guarded.jembatan("revoke", "--user", "u", "--agency", "atlantis")
    assert code == 1 and "Agency 'atlantis' is not known" in out
    code, out = guarded.jembatan("revoke", "--agency", "kaltim")
    assert code == 2 and "give either --token-id or --user" in out
    code, out = guarded.jembatan("revoke", "--token-id", "t", "--user", "u", "--agency", "kaltim")
    assert code == 2 and "give either --token-id or --user" in out
    assert asyncio.run(listed(guarded.url_of(OPERATOR))) == {}


@pytest.mark.parametrize("service", SERVICES)
async def test_a_service_reads_the_bucket_and_may_not_write_it_or_consume_it(
    guarded: Guarded, service: str
) -> None:
    ops = await nats.connect(guarded.url_of(OPERATOR))
    revoked = Revocation(Kind.TOKEN, "kaltim", "0f3c9e", datetime.now(UTC), by="ops")
    await write(ops, revoked)
    errors: list[str] = []

    async def heard(error: Exception) -> None:
        errors.append(str(error).lower())

    client: NatsClient = await nats.connect(guarded.url_of(service), error_cb=heard)
    try:
        assert set((await read_list(client))[0]) == {revoked.key}  # reading is its right
        js = client.jetstream(timeout=0.5)
        purge = {"KV-Operation": "PURGE", "Nats-Rollup": "sub"}
        refused = {
            f"$kv.jembatan_revocations.{revoked.key}": js.publish(
                key_subject(revoked.key), b"", headers=purge
            ),
            "$kv.jembatan_revocations.user.kaltim.dq": js.publish(
                key_subject(user_key("kaltim", "u")), b"{}"
            ),
            f"$js.api.consumer.create.{STREAM.lower()}": js.add_consumer(STREAM),
            f"$js.api.stream.purge.{STREAM.lower()}": js.purge_stream(STREAM),
        }
        outcomes = await asyncio.gather(*refused.values(), return_exceptions=True)
        assert all(isinstance(o, nats.errors.Error | TimeoutError) for o in outcomes), outcomes
        for _ in range(100):
            if len(errors) >= len(refused):
                break
            await asyncio.sleep(0.02)
    finally:
        await client.close()
    violations = {e.split('"')[1] for e in errors if "permissions violation for publish" in e}
    assert violations == set(refused), errors
    try:
        assert set((await read_list(ops))[0]) == {revoked.key}, "nothing changed"
    finally:
        await ops.close()
