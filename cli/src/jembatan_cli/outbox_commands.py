"""`jembatan outbox resend`: publish again the events a service sent in a time window, for when the
bus lost them after acknowledging them (a hub node lost its disk)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import nats
import typer
from nats.errors import Error as NatsError
from sqlalchemy.exc import SQLAlchemyError

from jembatan_kit.db import create_engine, create_session_factory, is_sqlite
from jembatan_kit.outbox import resend_sent

from .system import DEFAULT_NATS_PORT, SERVICES, operator_nats_url

outbox_app = typer.Typer(
    help="The services' outboxes: the events each staged with its state changes.",
    no_args_is_help=True,
)


def _moment(value: str, option: str) -> datetime:
    """An ISO 8601 time; one without a time zone is taken as UTC."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(
            f"{value!r} is not an ISO 8601 time, e.g. 2026-12-01T08:00:00+07:00", param_hint=option
        ) from exc
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@outbox_app.command()
def resend(
    service: Annotated[str, typer.Option(help=f"Whose outbox: one of {', '.join(SERVICES)}")],
    since: Annotated[
        str, typer.Option(help="Resend events staged from this time (ISO 8601; UTC if no zone)")
    ],
    until: Annotated[
        str | None, typer.Option(help="... and staged before this time (default: now)")
    ] = None,
    data_dir: Annotated[
        Path, typer.Option(help="The data folder of `jembatan up` (its <service>.db)")
    ] = Path("var"),
    database_url: Annotated[
        str | None,
        typer.Option(help="The service's database instead, e.g. postgresql+asyncpg://..."),
    ] = None,
    nats_url: Annotated[
        str, typer.Option(envvar="NATS_URL", help="The NATS server the service publishes to")
    ] = f"nats://127.0.0.1:{DEFAULT_NATS_PORT}",
) -> None:
    """Publish again every event SERVICE sent that was staged in the window, each journey's in
    order, under a fresh message id: consumers' inboxes drop those they already handled.

    Only events still in the outbox can be resent (OUTBOX_RETENTION_DAYS, 14 days by default)."""
    if service not in SERVICES:
        raise typer.BadParameter(f"must be one of {', '.join(SERVICES)}", param_hint="--service")
    start = _moment(since, "--since")
    end = _moment(until, "--until") if until is not None else None
    if end is not None and end <= start:
        raise typer.BadParameter("must be later than --since", param_hint="--until")
    url = database_url or f"sqlite+aiosqlite:///{(data_dir / f'{service}.db').resolve()}"
    if database_url is None and not (data_dir / f"{service}.db").exists():
        typer.secho(f"No database of {service} in {data_dir}; give --data-dir or --database-url")
        raise typer.Exit(1)
    try:
        resent = asyncio.run(_resend(url, operator_nats_url(nats_url, data_dir), start, end))
    except (TimeoutError, NatsError, OSError) as exc:
        typer.secho(f"NATS does not answer at {nats_url} ({exc or type(exc).__name__})", fg="red")
        raise typer.Exit(1) from exc
    except SQLAlchemyError as exc:
        where = "its SQLite file" if is_sqlite(url) else "--database-url"
        typer.secho(f"Could not read {service}'s outbox ({where}): {exc}", fg="red")
        raise typer.Exit(1) from exc
    window = f"from {start.isoformat()}" + (f" to {end.isoformat()}" if end else " to now")
    typer.echo(f"resent {resent} event(s) of {service} staged {window}")


async def _resend(database_url: str, nats_url: str, since: datetime, until: datetime | None) -> int:
    async def quiet(_error: Exception) -> None:
        return None

    client = await asyncio.wait_for(
        nats.connect(
            nats_url,
            connect_timeout=3,
            allow_reconnect=False,
            max_reconnect_attempts=0,
            error_cb=quiet,
        ),
        timeout=6,
    )
    engine = create_engine(database_url)
    try:
        return await resend_sent(
            create_session_factory(engine),
            client.jetstream(publish_async_max_pending=4000),
            since,
            until,
        )
    finally:
        await engine.dispose()
        await client.drain()
