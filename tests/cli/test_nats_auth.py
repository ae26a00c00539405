"""The embedded default's nats-server admits only the users `jembatan up` generated, each with
the rights the federated configs give it; the operator's commands find `ops` in the data folder.

A real nats-server with the written config throughout; the whole system where it matters."""

from __future__ import annotations

import asyncio
import json
import stat
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import nats
import pytest
from nats.aio.client import Client as NatsClient
from nats.errors import Error as NatsError
from typer.testing import CliRunner

from jembatan_cli.main import app
from jembatan_cli.system import (
    DEFAULT_PORTS,
    NATS_CONFIG_FILE,
    NATS_USERS_FILE,
    OPERATOR,
    SERVICES,
    LocalSystem,
    nats_passwords,
    render_authorization,
    with_credentials,
)
from jembatan_contracts import ALL_STREAMS
from jembatan_kit.broker import ensure_streams
from jembatan_kit.nats_permissions import INDEX, READ_MODELS
from jembatan_kit.nats_server import NatsServerProcess, free_port, port_is_open

REGISTERED = "jembatan.kota-serang.registration.candidate.registered.v1"


def consecutive_free_ports(count: int) -> int:
    """The first of `count` consecutive free loopback ports (`jembatan health --base-port`)."""
    for _ in range(50):
        base = free_port()
        if base + count < 65536 and not any(port_is_open(base + n) for n in range(count)):
            return base
    raise RuntimeError(f"no {count} consecutive free ports")


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalSystem]:
    """The whole system as `jembatan up` runs it, its data folder `var` in a folder of its own;
    on consecutive ports, as `jembatan health` expects them."""
    nats_port = free_port()
    base = consecutive_free_ports(len(SERVICES))
    local = LocalSystem(
        data_dir=tmp_path_factory.mktemp("up") / "var",
        nats_port=nats_port,
        ports={name: base + DEFAULT_PORTS[name] - min(DEFAULT_PORTS.values()) for name in SERVICES},
    )
    with local:
        yield local


async def connect_as(system: LocalSystem, user: str, errors: list[Exception]) -> NatsClient:
    password = nats_passwords(system.data_dir)[user]

    async def keep(error: Exception) -> None:
        errors.append(error)

    return await nats.connect(
        with_credentials(system.nats_address, user, password),
        allow_reconnect=False,
        error_cb=keep,
    )


async def stream_messages(system: LocalSystem, stream: str) -> int:
    client = await nats.connect(system.nats_url)
    try:
        return (await client.jetstream().stream_info(stream)).state.messages
    finally:
        await client.close()


def test_each_service_and_ops_has_a_password_kept_private_in_the_data_folder(
    system: LocalSystem,
) -> None:
    users = system.data_dir / NATS_USERS_FILE
    passwords = json.loads(users.read_text())
    assert set(passwords) == {*SERVICES, OPERATOR}
    assert len(set(passwords.values())) == len(passwords)
    for private in (users, system.data_dir / NATS_CONFIG_FILE):
        assert stat.S_IMODE(private.stat().st_mode) == 0o600, private
    assert nats_passwords(system.data_dir, create=True) == passwords  # kept, not made anew
    assert json.loads(users.read_text()) == passwords


async def test_a_connection_without_credentials_or_with_a_wrong_password_is_refused(
    system: LocalSystem,
) -> None:
    for url in (
        system.nats_address,
        with_credentials(system.nats_address, OPERATOR, "guessed"),
        with_credentials(system.nats_address, "atlantis", "guessed"),
    ):
        with pytest.raises(NatsError, match="Authorization Violation"):
            await nats.connect(url, allow_reconnect=False, connect_timeout=3)


async def test_training_cannot_publish_a_registration_and_nothing_lands(
    system: LocalSystem,
) -> None:
    before = await stream_messages(system, "REGISTRATION")
    errors: list[Exception] = []
    training = await connect_as(system, "training", errors)
    try:
        # Its own rights work: the credentials are good, the subject is what is refused.
        assert (await training.jetstream().stream_info("TRAINING")).config.name == "TRAINING"
        await training.publish(REGISTERED, b'{"event_type": "CandidateRegistered"}')
        await training.flush()
        with pytest.raises(asyncio.TimeoutError):  # JetStream never sees it to acknowledge
            await training.jetstream().publish(REGISTERED, b"{}", timeout=1)
        for _ in range(50):
            if errors:
                break
            await asyncio.sleep(0.02)
    finally:
        await training.close()
    assert any(
        "permissions violation for publish" in str(error) and REGISTERED in str(error)
        for error in errors
    ), errors
    assert await stream_messages(system, "REGISTRATION") == before


def test_health_and_deadletter_list_connect_as_ops_from_the_data_folder(
    system: LocalSystem, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NATS_URL", raising=False)
    monkeypatch.chdir(system.data_dir.parent)  # where `var` is, as after `./dev run`
    address = ["--nats-url", system.nats_address]  # the port only: no credentials given
    base = ["--base-port", str(system.ports["registration"])]
    health = CliRunner().invoke(app, ["health", *base, *address])
    assert health.exit_code == 0, health.output
    assert "stream REGISTRATION" in health.output
    assert "dead letters: none" in health.output
    listed = CliRunner().invoke(app, ["deadletter", "list", *address])
    assert listed.exit_code == 0, listed.output
    assert "No dead letters." in listed.output


def test_without_the_data_folder_the_refusal_says_where_the_credentials_are(
    system: LocalSystem, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NATS_URL", raising=False)
    monkeypatch.chdir(tmp_path)  # no var/ here
    refused = CliRunner().invoke(app, ["deadletter", "list", "--nats-url", system.nats_address])
    assert refused.exit_code == 1
    assert "refused the credentials" in refused.output
    assert NATS_USERS_FILE in refused.output
    given = CliRunner().invoke(
        app,
        [
            "deadletter",
            "list",
            "--data-dir",
            str(system.data_dir),
            "--nats-url",
            system.nats_address,
        ],
    )
    assert given.exit_code == 0, given.output
    for output in (refused.output, given.output):
        assert nats_passwords(system.data_dir)[OPERATOR] not in output


# --- every user's rights, on a server of its own --------------------------------------------


@pytest.fixture
async def guarded(tmp_path: Path) -> AsyncIterator[tuple[str, dict[str, str]]]:
    """A nats-server with only the generated authorisation, and every stream in place."""
    passwords = nats_passwords(tmp_path / "var", create=True)
    config = tmp_path / NATS_CONFIG_FILE
    config.write_text(render_authorization(passwords))
    with NatsServerProcess(store_dir=tmp_path / "nats", config_file=config) as server:
        ops = await nats.connect(with_credentials(server.url, OPERATOR, passwords[OPERATOR]))
        await ensure_streams(ops.jetstream(), ALL_STREAMS)
        await ops.close()
        yield server.url, passwords


async def test_each_service_publishes_only_its_own_events(
    guarded: tuple[str, dict[str, str]],
) -> None:
    url, passwords = guarded
    publishers = [s for s in SERVICES if s not in (*READ_MODELS, INDEX)]
    for service in SERVICES:
        errors: list[Exception] = []

        async def keep(error: Exception, errors: list[Exception] = errors) -> None:
            errors.append(error)

        client = await nats.connect(
            with_credentials(url, service, passwords[service]), error_cb=keep
        )
        refused = set()
        try:
            for owner in publishers:
                subject = f"jembatan.kaltim.{owner}.some.event.v1"
                if owner == service:
                    ack = await client.jetstream().publish(subject, b"{}")
                    assert ack.stream == owner.upper()
                else:
                    refused.add(subject)
                    await client.publish(subject, b"{}")
            refused.add("$JS.API.STREAM.DELETE.REGISTRATION")  # no service may
            await client.publish("$JS.API.STREAM.DELETE.REGISTRATION", b"")
            await client.flush()
            for _ in range(100):
                if len(errors) >= len(refused):
                    break
                await asyncio.sleep(0.02)
        finally:
            await client.close()
        violations = {str(error).split('"')[1] for error in errors if "violation" in str(error)}
        assert violations == {subject.lower() for subject in refused}, service
    ops = await nats.connect(with_credentials(url, OPERATOR, passwords[OPERATOR]))
    try:
        for owner in publishers:  # exactly one event each: its own service's
            info = await ops.jetstream().stream_info(owner.upper())
            assert info.state.messages == 1, owner
    finally:
        await ops.close()


def test_the_users_survive_a_restart_of_up(tmp_path: Path) -> None:
    """`jembatan up` run again on the same folder keeps the passwords and the server admits
    them (the services would otherwise fail to reconnect after a restart)."""
    data = tmp_path / "var"
    with LocalSystem.on_free_ports(data, names=()):
        kept = nats_passwords(data)
    with LocalSystem.on_free_ports(data, names=()) as again:
        assert nats_passwords(data) == kept
        asyncio.run(_admitted(again, [*SERVICES, OPERATOR]))


async def _admitted(system: LocalSystem, users: list[str]) -> None:
    for user in users:
        client = await connect_as(system, user, [])
        assert client.is_connected
        await client.close()
