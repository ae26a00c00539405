"""A revocation reaches every agency: on the federated test topology (the hub and every province
from the committed configs, each service as its own process and NATS user), a token revoked at
the hub, or by a province's operator at its leaf, is refused by every service of every agency
within 5 s, and accepted again once lifted. A province's operator writes only its own agency's
keys, whatever the province's own server allows: the hub takes no other."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import jwt
import nats
import nats.errors
import pytest
from typer.testing import CliRunner

from jembatan_cli.main import app
from jembatan_kit.auth import bearer
from jembatan_kit.issuers import issue_token
from jembatan_kit.nats_server import NatsServerProcess
from jembatan_kit.revocation import Kind, Revocation, key_subject, read_list, user_key
from jembatan_kit.testing.helpers import issuer_for_tests

from .agency_services import AgencyServices
from .conftest import Federation, dev_password, start_federation, topology

HUB = topology.HUB_AGENCY
SEEN_WITHIN_S = 5.0
EVERY_SERVICE = [(p, s) for p in topology.PROVINCES for s in topology.PROVINCE_SERVICES] + [
    (HUB, s) for s in topology.HUB_SERVICES
]


@pytest.fixture(scope="module")
def agencies(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AgencyServices]:
    """Every service of every agency of the topology, on SQLite (their databases are beside the
    point here), after the hub's streams and revocation bucket exist."""
    root = tmp_path_factory.mktemp("revocation")
    databases = {
        key: f"sqlite+aiosqlite:///{root / f'{key[0]}-{key[1]}.db'}" for key in EVERY_SERVICE
    }
    federation = start_federation(root, topology.PROVINCES)
    services = AgencyServices(federation, root, databases)
    try:
        asyncio.run(federation.create_hub_streams())
        for agency, service in EVERY_SERVICE:
            services.start(agency, service)
        yield services
    finally:
        services.stop()
        federation.stop()


def operator_url(federation: Federation, agency: str) -> str:
    password = dev_password(topology.password_var(agency, "ops"))
    return f"nats://ops:{password}@127.0.0.1:{federation.port_of(agency)}"


async def jembatan(
    federation: Federation, agency: str, data_dir: Path, *args: str
) -> tuple[int, str]:
    """A `jembatan` command as the agency's operator, at the agency's own server (in a thread:
    the command runs an event loop of its own)."""
    where = ["--nats-url", operator_url(federation, agency), "--data-dir", str(data_dir)]
    if agency != HUB:
        where += ["--js-domain", HUB]
    result = await asyncio.to_thread(CliRunner().invoke, app, [*args, *where])
    return result.exit_code, result.output


def routes(service: str) -> list[str]:
    """Where each service reads the caller: the kit's `current_caller` (the audit trail, on every
    service), and the dashboard's own access (its API)."""
    return ["/audit", "/api/targets"] if service == "dashboard" else ["/audit"]


async def answers(agencies: AgencyServices, token: str) -> dict[str, tuple[int, str | None]]:
    """What every route of every service answers the token: status, and the 401's reason."""
    async with httpx.AsyncClient(timeout=5, headers=bearer(token)) as client:

        async def ask(url: str) -> tuple[str, tuple[int, str | None]]:
            response = await client.get(url)
            if response.status_code != 401:
                return url, (response.status_code, None)
            return url, (401, response.json()["details"]["reason"])

        urls = [f"{agencies[key].url}{route}" for key in EVERY_SERVICE for route in routes(key[1])]
        return dict(await asyncio.gather(*(ask(url) for url in urls)))


async def seen_everywhere(
    agencies: AgencyServices, token: str, revoked: bool, within_s: float = SEEN_WITHIN_S
) -> float:
    """Wait until every service refuses the token as revoked (or no longer does); how long."""
    started = time.monotonic()
    while True:
        found = await answers(agencies, token)
        done = [(status == 401) == revoked for status, _ in found.values()]
        if all(done):
            if revoked:
                assert {reason for _, reason in found.values()} == {"revoked"}, found
            return time.monotonic() - started
        if time.monotonic() - started > within_s:
            late = {url: answer for url, answer in found.items() if (answer[0] == 401) != revoked}
            raise AssertionError(f"not seen within {within_s} s by {late}")
        await asyncio.sleep(0.05)


async def test_a_token_revoked_at_the_hub_is_refused_by_every_service_within_5_s(
    agencies: AgencyServices, tmp_path: Path
) -> None:
    federation = agencies.federation
    token = issue_token(issuer_for_tests(HUB), "officer-kemnaker", [])
    kept = issue_token(issuer_for_tests(HUB), "officer-kemnaker", [])
    before = await answers(agencies, token)
    assert {status for status, _ in before.values()} == {200}, before

    jti = str(jwt.decode(token, options={"verify_signature": False})["jti"])
    code, out = await jembatan(
        federation, HUB, tmp_path, "revoke", "--token-id", jti, "--agency", HUB, "--reason", "t"
    )
    assert code == 0, out
    took = await seen_everywhere(agencies, token, revoked=True)
    assert took < SEEN_WITHIN_S
    assert {status for status, _ in (await answers(agencies, kept)).values()} == {200}

    code, out = await jembatan(
        federation, HUB, tmp_path, "unrevoke", "--token-id", jti, "--agency", HUB
    )
    assert code == 0, out
    await seen_everywhere(agencies, token, revoked=False)


async def test_a_province_operator_revokes_its_own_users_everywhere_and_no_one_elses(
    agencies: AgencyServices, tmp_path: Path
) -> None:
    federation = agencies.federation
    officer = issue_token(issuer_for_tests("kaltim"), "officer-kaltim", [])
    assert all(status != 401 for status, _ in (await answers(agencies, officer)).values())

    code, out = await jembatan(
        federation, "kaltim", tmp_path, "revoke", "--user", "officer-kaltim", "--agency", "kaltim"
    )
    assert code == 0, out
    await seen_everywhere(agencies, officer, revoked=True)

    national = issue_token(issuer_for_tests(HUB), "officer-kemnaker", [])
    code, out = await jembatan(
        federation, "kaltim", tmp_path, "revoke", "--user", "officer-kemnaker", "--agency", HUB
    )
    assert code == 1, out
    assert "refused the write" in out or "did not take the write" in out
    listed = await _list(federation)
    assert user_key(HUB, "officer-kemnaker") not in listed
    assert {status for status, _ in (await answers(agencies, national)).values()} == {200}

    code, out = await jembatan(federation, "kaltim", tmp_path, "revocations")
    assert code == 0 and "officer-kaltim" in out, out
    code, out = await jembatan(
        federation, "kaltim", tmp_path, "unrevoke", "--user", "officer-kaltim", "--agency", "kaltim"
    )
    assert code == 0, out
    await seen_everywhere(agencies, officer, revoked=False)


async def test_the_hub_takes_from_a_province_only_its_own_keys_whatever_the_province_allows(
    agencies: AgencyServices, tmp_path: Path
) -> None:
    """A leaf server a province configures as it likes (its operator may publish anything) is
    still only the province's leaf connection at the hub: another agency's key, or a consumer
    on the bucket, finds no one; the province's own key is stored."""
    federation = agencies.federation
    leaf_password = dev_password(topology.password_var("kaltim", "leaf"))
    config = tmp_path / "rogue.conf"
    config.write_text(
        "server_name: kaltim-rogue\n"
        "leafnodes { remotes: [ { url: "
        f'"nats-leaf://kaltim-leaf:{leaf_password}@127.0.0.1:{federation.leaf_port}",'
        " account: ROGUE } ] }\n"
        'accounts { ROGUE { users: [ { user: "ops", password: "anything" } ] } }\n'
    )
    with NatsServerProcess(tmp_path / "rogue", config_file=config) as rogue:
        client = await nats.connect(f"nats://ops:anything@127.0.0.1:{rogue.port}")
        try:
            js = client.jetstream(domain=HUB, timeout=2)
            own = Revocation(Kind.USER, "kaltim", "someone", None, by="rogue")
            for _ in range(50):  # until the leaf connection is up
                try:
                    await js.publish(key_subject(own.key, HUB), own.value())
                    break
                except nats.errors.Error:
                    await asyncio.sleep(0.2)
            else:
                raise AssertionError("the province's own key was never stored")
            forged = Revocation(Kind.USER, HUB, "officer-kemnaker", None, by="rogue")
            attempts = [
                js.publish(key_subject(forged.key, HUB), forged.value()),
                js.publish(key_subject(forged.key), forged.value()),
                client.request(
                    f"$JS.{HUB}.API.CONSUMER.CREATE.KV_JEMBATAN_REVOCATIONS",
                    json.dumps(
                        {
                            "stream_name": "KV_JEMBATAN_REVOCATIONS",
                            "config": {"deliver_subject": "jembatan.kemnaker.placement.x"},
                        }
                    ).encode(),
                    timeout=2,
                ),
                client.request(
                    f"$JS.{HUB}.API.STREAM.PURGE.KV_JEMBATAN_REVOCATIONS", b"", timeout=2
                ),
            ]
            outcomes = await asyncio.gather(*attempts, return_exceptions=True)
            assert all(isinstance(o, nats.errors.Error | TimeoutError) for o in outcomes), outcomes
        finally:
            await client.close()
    listed = await _list(federation)
    assert own.key in listed and forged.key not in listed
    ops = await nats.connect(operator_url(federation, HUB))
    try:
        consumers = await ops.jetstream().consumers_info("KV_JEMBATAN_REVOCATIONS")
        assert consumers == []
        await ops.jetstream().publish(
            key_subject(own.key), b"", headers={"KV-Operation": "PURGE", "Nats-Rollup": "sub"}
        )
    finally:
        await ops.close()


async def _list(federation: Federation) -> dict[str, Revocation]:
    client = await nats.connect(operator_url(federation, HUB))
    try:
        return (await read_list(client))[0]
    finally:
        await client.close()
