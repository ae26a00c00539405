"""`jembatan revoke`, `unrevoke` and `revocations`: the operator's side of revocation.

A revocation is a key of the JEMBATAN_REVOCATIONS bucket (jembatan_kit.revocation), which every
service of every agency follows: a revoked token is refused within seconds everywhere. The
commands connect as the operator (`ops` of `jembatan up`'s data folder, or the credentials in
--nats-url). On the federated deployment the bucket is on Kemnaker's hub: a province's operator
works from the province's leaf server with --js-domain kemnaker, and the hub takes from them only
the keys of their own agency.

Every revocation and every lift is appended to <data-dir>/logs/revocation-actions.jsonl: who,
what, which, why, when.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import nats.errors
import typer
from nats.aio.client import Client as NatsClient
from nats.js.errors import APIError, NotFoundError
from pydantic import ValidationError

from jembatan_kit.auth import TokenPolicy
from jembatan_kit.revocation import (
    BUCKET,
    STREAM,
    BucketMissing,
    Kind,
    Revocation,
    RevocationsUnreachable,
    lift,
    read_list,
    token_key,
    user_key,
    write,
)
from jembatan_kit.settings import ServiceSettings

from .bus_health import BusRefused, BusUnreachable, connect
from .deadletter import operator
from .system import DEFAULT_NATS_PORT, operator_nats_url, without_credentials

ACTION_LOG = Path("logs") / "revocation-actions.jsonl"
"""Inside the data folder: one JSON line for each revocation and each lift."""

T = TypeVar("T")

TokenId = Annotated[str | None, typer.Option("--token-id", help="The token's id (its `jti` claim)")]
User = Annotated[
    str | None,
    typer.Option("--user", help="The user's login (their token's `sub`): all their tokens"),
]
Agency = Annotated[str, typer.Option("--agency", help="The agency the token or user is of")]
NatsUrl = Annotated[
    str,
    typer.Option(
        envvar="NATS_URL",
        help="The NATS server to work through: the embedded one, the hub, or a province's leaf"
        " server (with --js-domain)",
    ),
]
JsDomain = Annotated[
    str | None,
    typer.Option(
        "--js-domain",
        envvar="REVOCATIONS_JS_DOMAIN",
        help="The JetStream domain holding the bucket when it is not the server's own:"
        " kemnaker, for a province's operator at the province's leaf server",
    ),
]
DataDir = Annotated[
    Path,
    typer.Option(
        help="The data folder of `jembatan up`: NATS is used as its user ops (unless --nats-url"
        f" carries credentials); the action log is {ACTION_LOG} in it"
    ),
]
DEFAULT_NATS_URL = f"nats://127.0.0.1:{DEFAULT_NATS_PORT}"


class CannotRevoke(Exception):
    """Something an operator can act on: printed as it is."""


def revoke_command(
    agency: Agency,
    token_id: TokenId = None,
    user: User = None,
    reason: Annotated[
        str, typer.Option("--reason", help="Why (kept in the bucket and the action log)")
    ] = "",
    nats_url: NatsUrl = DEFAULT_NATS_URL,
    js_domain: JsDomain = None,
    data_dir: DataDir = Path("var"),
) -> None:
    """Revoke a token, or a user's tokens: every service refuses them within seconds.

    --token-id revokes one token; --user every token of the user issued until now (one issued
    later is accepted: revoke the user again to cut it off too). It lasts until `jembatan
    unrevoke`."""
    kind, target = _target(token_id, user)
    _known(agency)
    revocation = Revocation(
        kind, agency, target, datetime.now(UTC), by=operator(), reason=reason.strip()
    )
    url = operator_nats_url(nats_url, data_dir)

    async def act(client: NatsClient, denied: list[str]) -> tuple[Revocation | None, int]:
        entries, _ = await _list(client, js_domain)
        sequence = await _written(client, js_domain, denied, write(client, revocation, js_domain))
        return entries.get(revocation.key), sequence

    before, sequence = _run(url, act)
    if before is not None:
        typer.echo(f"was already revoked: {before.describe()}; revoked again now")
    typer.echo(
        f"revoked {revocation.describe()}. Every service refuses it within seconds"
        f" (key {revocation.key}, sequence {sequence})"
    )
    _log(data_dir, "revoke", revocation, sequence, url, revocation.reason)


def unrevoke_command(
    agency: Agency,
    token_id: TokenId = None,
    user: User = None,
    reason: Annotated[str, typer.Option("--reason", help="Why (kept in the action log)")] = "",
    nats_url: NatsUrl = DEFAULT_NATS_URL,
    js_domain: JsDomain = None,
    data_dir: DataDir = Path("var"),
) -> None:
    """Lift a revocation: the token (or the user's tokens) is accepted again within seconds."""
    kind, target = _target(token_id, user)
    _known(agency)
    key = token_key(agency, target) if kind is Kind.TOKEN else user_key(agency, target)
    url = operator_nats_url(nats_url, data_dir)

    async def act(client: NatsClient, denied: list[str]) -> tuple[Revocation | None, int]:
        entries, _ = await _list(client, js_domain)
        if (revocation := entries.get(key)) is None:
            return None, 0
        return revocation, await _written(client, js_domain, denied, lift(client, key, js_domain))

    revocation, sequence = _run(url, act)
    if revocation is None:
        what = f"token {target}" if kind is Kind.TOKEN else f"user {target}"
        _fail(f"{what} of {agency} is not revoked: nothing to lift (`jembatan revocations`)")
    typer.echo(f"lifted: {revocation.describe()}; it is accepted again within seconds")
    _log(data_dir, "unrevoke", revocation, sequence, url, reason.strip())


def revocations_command(
    agency: Annotated[
        str | None, typer.Option("--agency", help="Only this agency's revocations")
    ] = None,
    nats_url: NatsUrl = DEFAULT_NATS_URL,
    js_domain: JsDomain = None,
    data_dir: DataDir = Path("var"),
) -> None:
    """Every revocation in force: what, of which agency, when, by whom and why."""

    async def read(client: NatsClient, _denied: list[str]) -> dict[str, Revocation]:
        entries, _ = await _list(client, js_domain)
        return entries

    entries = _run(operator_nats_url(nats_url, data_dir), read)
    shown = sorted(
        (r for r in entries.values() if agency is None or r.agency == agency),
        key=lambda r: (r.revoked_at or datetime.min.replace(tzinfo=UTC), r.key),
    )
    if not shown:
        typer.echo("No revocations." if agency is None else f"No revocations of {agency}.")
        return
    typer.echo(f"{'KIND':<6} {'AGENCY':<12} {'REVOKED AT':<21} {'BY':<14} TOKEN ID / USER  REASON")
    for revocation in shown:
        when = _iso(revocation.revoked_at) if revocation.revoked_at else "?"
        typer.echo(
            f"{revocation.kind:<6} {revocation.agency:<12} {when:<21} {revocation.by:<14}"
            f" {revocation.target}  {revocation.reason}"
        )
    typer.echo(f"\n{len(shown)} revocation(s)")


def _target(token_id: str | None, user: str | None) -> tuple[Kind, str]:
    if (token_id is None) == (user is None):
        raise typer.BadParameter("give either --token-id or --user", param_hint="--token-id")
    if token_id is not None:
        if not token_id.strip():
            raise typer.BadParameter("the token id is empty", param_hint="--token-id")
        return Kind.TOKEN, token_id.strip()
    assert user is not None
    if not user.strip():
        raise typer.BadParameter("the user's login is empty", param_hint="--user")
    return Kind.USER, user.strip()


def _known(agency: str) -> None:
    try:
        agencies = TokenPolicy.of(ServiceSettings()).agencies
    except ValidationError as exc:
        _fail(f"The deployment's settings are not valid: {exc}")
    if agency not in agencies:
        _fail(
            f"Agency '{agency}' is not known to this deployment (known:"
            f" {', '.join(sorted(agencies))}); its tokens are refused anyway."
        )


async def _list(client: NatsClient, domain: str | None) -> tuple[dict[str, Revocation], int]:
    try:
        return await read_list(client, domain)
    except BucketMissing:
        return {}, 0


async def _written(
    client: NatsClient, domain: str | None, denied: list[str], writing: Coroutine[Any, Any, int]
) -> int:
    """The sequence the bucket stored a write at; or why it took none."""
    try:
        return await writing
    except (nats.errors.Error, APIError) as exc:
        await asyncio.sleep(0.1)  # a permissions violation arrives on its own
        if denied:
            raise CannotRevoke(
                f"NATS refused the write ({denied[0]}): this user may not write that key. A"
                " province's operator writes only the keys of its own agency"
            ) from exc
        try:
            await client.jetstream(domain=domain, timeout=5).stream_info(STREAM)
        except NotFoundError:
            raise CannotRevoke(
                f"the bucket {BUCKET} does not exist{' in domain ' + domain if domain else ''};"
                " `jembatan up` creates it on the embedded server, the hub-streams job on the"
                " hub"
            ) from exc
        except (nats.errors.Error, APIError):
            pass
        raise CannotRevoke(f"the bucket did not take the write ({exc!r})") from exc


def _run(url: str, work: Callable[[NatsClient, list[str]], Coroutine[Any, Any, T]]) -> T:
    """Connect, do the work, close; any failure becomes a message and exit status 1."""

    async def connected() -> T:
        denied: list[str] = []

        async def heard(error: Exception) -> None:
            if "permissions violation" in str(error).lower():
                denied.append(str(error).strip())

        client = await connect(url, timeout_s=3.0, on_error=heard)
        try:
            return await work(client, denied)
        finally:
            await client.close()

    try:
        return asyncio.run(connected())
    except (BusUnreachable, CannotRevoke) as exc:
        hint = "" if isinstance(exc, BusRefused | CannotRevoke) else "; is the system running?"
        _fail(f"{exc}{hint}")
    except (RevocationsUnreachable, nats.errors.Error, APIError, TimeoutError) as exc:
        _fail(
            f"the revocation bucket at {without_credentials(url)} did not answer:"
            f" {exc or type(exc).__name__}; nothing was changed"
        )


def _log(
    data_dir: Path, action: str, revocation: Revocation, sequence: int, url: str, reason: str
) -> None:
    record = {
        "at": _iso(datetime.now(UTC)),
        "who": operator(),
        "action": action,
        "kind": str(revocation.kind),
        "agency": revocation.agency,
        "token_id" if revocation.kind is Kind.TOKEN else "user": revocation.target,
        "key": revocation.key,
        "reason": reason,
        "revoked_at": _iso(revocation.revoked_at) if revocation.revoked_at else None,
        "sequence": sequence,
        "nats": without_credentials(url),
    }
    path = data_dir / ACTION_LOG
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as log:
        log.write(json.dumps(record, ensure_ascii=False) + "\n")
    typer.echo(f"logged in {path}")


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _fail(message: str) -> NoReturn:
    typer.secho(message, fg="red", err=True)
    raise typer.Exit(1)
