"""The `jembatan` command."""

from __future__ import annotations

import asyncio
import signal
import time
from datetime import timedelta
from pathlib import Path
from typing import Annotated, NoReturn

import httpx
import typer
from pydantic import ValidationError

from jembatan_kit.auth import NATIONAL_AGENCY, ROLES, TokenPolicy
from jembatan_kit.issuers import IssuerFileInvalid, LocalIssuer, issue_token
from jembatan_kit.settings import ServiceSettings

from .asyncapi import write_documents
from .bus_health import (
    BusRefused,
    BusUnreachable,
    dead_letter_advice,
    read_bus_state,
    render_bus_state,
)
from .check import check_command
from .consumers import ServiceNotInstalled
from .deadletter import deadletter_app
from .funnel import render_funnel
from .journey import JourneyNotFound, find_journey, render_journey
from .operator_commands import operator_app
from .outbox_commands import outbox_app
from .revocation_commands import revocations_command, revoke_command, unrevoke_command
from .scenario_commands import FIRST_PORT, scenario_app, service_urls, signing_issuer
from .system import (
    DEFAULT_CONSOLE_AGENCY,
    DEFAULT_NATS_PORT,
    DEFAULT_PORTS,
    FRONT_ENDS,
    ISSUERS_DIR,
    NATS_USERS_FILE,
    PROCESSES,
    SERVICES,
    TRUST_FILE,
    GaveUp,
    LocalSystem,
    NoSigningKey,
    RestartPolicy,
    local_issuer,
    operator_nats_url,
)
from .traces import journey_spans, render_tree, traces_of_journey

app = typer.Typer(
    help="Jembatan: from registration in Indonesia to a job in Japan.", no_args_is_help=True
)
app.add_typer(scenario_app, name="scenario")
app.add_typer(deadletter_app, name="deadletter")
app.add_typer(outbox_app, name="outbox")
app.add_typer(operator_app, name="operator")
app.command("check")(check_command)


@app.command()
def up(
    data_dir: Annotated[
        Path, typer.Option(help="Where SQLite files, NATS data and logs live")
    ] = Path("var"),
    nats_port: Annotated[
        int, typer.Option(help="Port of the embedded nats-server")
    ] = DEFAULT_NATS_PORT,
    base_port: Annotated[
        int, typer.Option(help="Port of the first service; the others follow it")
    ] = FIRST_PORT,
    only: Annotated[
        list[str] | None,
        typer.Option(help="Run only this service (repeatable; default: all, the console too)"),
    ] = None,
    console_agency: Annotated[
        str,
        typer.Option(
            help="The agency the province's operators' console serves (its issuer signs them"
            " in); Kemnaker's console runs beside it"
        ),
    ] = DEFAULT_CONSOLE_AGENCY,
    restart_limit: Annotated[
        int,
        typer.Option(
            min=1,
            help="Crashes of one process within --restart-window after which everything is"
            " stopped and up exits with status 1",
        ),
    ] = RestartPolicy.max_crashes,
    restart_window: Annotated[
        float, typer.Option(min=1, help="The window of --restart-limit, in seconds")
    ] = RestartPolicy.window_s,
) -> None:
    """Run the whole system on the embedded default until Ctrl-C, restarting what crashes.

    A service or nats-server that dies is restarted after 1, 2, 4 ... s (at most 30 s); each
    restart is printed and written to <data-dir>/logs/supervisor.log. At the --restart-limit-th
    crash of one process within --restart-window, up stops everything and exits with status 1.
    """
    system = LocalSystem(
        data_dir=data_dir.resolve(),
        nats_port=nats_port,
        ports={name: port - FIRST_PORT + base_port for name, port in DEFAULT_PORTS.items()},
        names=tuple(only) if only else PROCESSES,
        console_agency=console_agency,
        restart_policy=RestartPolicy(max_crashes=restart_limit, window_s=restart_window),
        report=lambda message: typer.secho(message, fg=typer.colors.YELLOW),
    )
    typer.echo("Starting nats-server (JetStream) and the services ...")
    try:
        system.start()
    except (RuntimeError, IssuerFileInvalid) as exc:
        typer.secho(f"Could not start: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"\n  NATS          {system.nats_address}   (data in {data_dir}/nats)")
    typer.echo(
        f"                users and passwords in {data_dir}/{NATS_USERS_FILE}; the jembatan"
        " commands connect as ops"
    )
    typer.echo(
        f"  Tokens        each agency's signing key in {data_dir}/{ISSUERS_DIR}/; the services"
        f" trust {data_dir}/{TRUST_FILE} (`jembatan token --agency <agency>`)"
    )
    for name, service in system.services.items():
        if name in FRONT_ENDS:
            agency = system.console_agency_of(name)
            typer.echo(
                f"  {name:<13} {service.url}   {agency}'s operators"
                f" (`jembatan operator add --agency {agency}`)"
            )
            continue
        typer.echo(f"  {name:<13} {service.url}   API docs {service.url}/docs")
    typer.echo(f"\n  Logs in {data_dir}/logs. Press Ctrl-C to stop everything.\n")
    stopping = False

    def request_stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGHUP, request_stop)
    exit_status = 0
    try:
        while not stopping:
            system.supervise()
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    except GaveUp as exc:
        typer.secho(str(exc), fg=typer.colors.RED, err=True)
        exit_status = 1
    finally:
        typer.echo("\nStopping services and nats-server ...")
        system.stop()
        typer.echo("Stopped.")
    raise typer.Exit(exit_status)


@app.command()
def trace(
    journey_id: Annotated[str, typer.Argument(help="The journey id a registration returned")],
    data_dir: Annotated[Path, typer.Option(help="The data folder of `jembatan up`")] = Path("var"),
) -> None:
    """Print the span trees of a candidate's journey, with timings."""
    traces_dir = data_dir / "traces"
    if not traces_dir.exists():
        typer.secho(f"No traces in {traces_dir}; is the system running with `./dev run`?", fg="red")
        raise typer.Exit(1)
    found = traces_of_journey(journey_spans(traces_dir, journey_id), journey_id)
    if not found:
        typer.secho(
            f"No spans name journey {journey_id} yet (spans are written every few seconds).",
            fg="yellow",
        )
        raise typer.Exit(1)
    for trace_id, spans in found.items():
        services = sorted({span["service"] for span in spans})
        typer.echo(f"trace {trace_id}  ({len(spans)} spans; {', '.join(services)})")
        typer.echo(f"{'start':>12} {'duration':>11}  span")
        for line in render_tree(spans):
            typer.echo(line)
        typer.echo("")


@app.command()
def journey(
    journey_id: Annotated[str, typer.Argument(help="The journey id a registration returned")],
    agency: Annotated[
        str, typer.Option(help="Act for this agency (kemnaker sees every agency's candidates)")
    ] = "kemnaker",
    base_port: Annotated[int, typer.Option(help="Port of the first service")] = FIRST_PORT,
    data_dir: Annotated[
        Path, typer.Option(help="The data folder of `jembatan up` (for the agency's signing key)")
    ] = Path("var"),
) -> None:
    """A candidate's stages across the services, without personal data (the NIK masked)."""
    token = issue_token(
        signing_issuer(data_dir, agency), "jembatan-journey", [], timedelta(minutes=10)
    )
    try:
        found = find_journey(service_urls(base_port), token, journey_id)
    except (JourneyNotFound, ConnectionError, PermissionError) as exc:
        typer.secho(str(exc), fg="red", err=True)
        raise typer.Exit(1) from exc
    for line in render_journey(found):
        typer.echo(line)


@app.command()
def asyncapi(
    out: Annotated[Path, typer.Option(help="Folder for <service>.json and .html")] = Path(
        "docs/asyncapi"
    ),
) -> None:
    """Write the AsyncAPI documents of the events each service publishes and consumes."""
    for name in SERVICES:
        try:
            written = write_documents((name,), out)
        except ServiceNotInstalled as exc:
            typer.secho(f"{name}: skipped, {exc}", fg="yellow", err=True)
            continue
        for path in written:
            typer.echo(f"wrote {path}")


@app.command()
def funnel(
    agency: Annotated[
        str | None, typer.Option(help="One agency (left out: your token's agency; Kemnaker: all)")
    ] = None,
    year: Annotated[int | None, typer.Option(help="The year (default: this year)")] = None,
    url: Annotated[
        str, typer.Option(envvar="DASHBOARD_URL", help="Where the dashboard runs")
    ] = "http://127.0.0.1:8005",
    token: Annotated[
        str | None,
        typer.Option(
            envvar="JEMBATAN_TOKEN",
            help="Your bearer token (default: a Kemnaker operator's, signed with Kemnaker's local"
            " key)",
        ),
    ] = None,
    data_dir: Annotated[Path, typer.Option(help="The data folder of `jembatan up`")] = Path("var"),
) -> None:
    """Print the funnel of an agency and year from the dashboard."""
    bearer = token or issue_token(
        signing_issuer(data_dir, NATIONAL_AGENCY), "cli", [], timedelta(minutes=5)
    )
    params = {key: value for key, value in (("agency", agency), ("year", year)) if value}
    try:
        response = httpx.get(
            f"{url}/api/funnel",
            params=params,
            headers={"Authorization": f"Bearer {bearer}"},
            timeout=10,
        )
    except httpx.HTTPError as exc:
        typer.secho(
            f"The dashboard at {url} does not answer ({exc}); is `./dev run` running?", fg="red"
        )
        raise typer.Exit(1) from exc
    if response.status_code != 200:
        typer.secho(f"The dashboard refused: {response.text}", fg="red")
        raise typer.Exit(1)
    for line in render_funnel(response.json()):
        typer.echo(line)


@app.command()
def token(
    user: Annotated[str, typer.Option(help="Who the token is for, e.g. an operator's login")],
    agency: Annotated[str, typer.Option(help="The agency the user works for, e.g. kaltim")],
    role: Annotated[list[str], typer.Option(help="A role, e.g. nik-reader (repeatable)")] = [],  # noqa: B006
    hours: Annotated[
        int, typer.Option(min=1, help="How long the token is valid (at most AUTH_MAX_TOKEN_HOURS)")
    ] = 8,
    data_dir: Annotated[
        Path | None,
        typer.Option(help="The data folder of the running `jembatan up` (default: ./var)"),
    ] = None,
    issuer_file: Annotated[
        Path | None,
        typer.Option(
            envvar="JEMBATAN_ISSUER_FILE",
            help="The agency's issuer file (its private key), when it is kept elsewhere than"
            " in a data folder of `jembatan up`",
        ),
    ] = None,
) -> None:
    """Issue a bearer token for the services' APIs, signed with the agency's own key.

    The key is the agency's issuer file: --issuer-file, or the one `jembatan up` keeps in its
    data folder (--data-dir, else var/ here, at issuers/<agency>.json); this command never makes
    a new one. It issues tokens only for the agencies the deployment knows (KNOWN_AGENCIES) and
    the roles the services check, and for at most AUTH_MAX_TOKEN_HOURS.
    """
    try:
        policy = TokenPolicy.of(ServiceSettings())
    except ValidationError as exc:
        _refuse(f"The deployment's settings are not valid: {exc}")
    if not user.strip():
        _refuse("--user is empty; give the login of the person the token is for")
    if agency not in policy.agencies:
        _refuse(
            f"Agency '{agency}' is not known to this deployment (known:"
            f" {', '.join(sorted(policy.agencies))}). A new agency is added to KNOWN_AGENCIES in"
            " the environment of every service and of this command."
        )
    if unknown := sorted(set(role) - ROLES):
        _refuse(
            f"Unknown role {', '.join(unknown)}: the services check only"
            f" {', '.join(sorted(ROLES))}."
        )
    if hours > policy.max_hours:
        typer.secho(
            f"--hours {hours} is longer than the {policy.max_hours:g} hours the services accept"
            " (AUTH_MAX_TOKEN_HOURS); the token is valid for"
            f" {policy.max_hours:g} hours.",
            fg="yellow",
            err=True,
        )
    valid_for = timedelta(hours=min(hours, policy.max_hours))
    issuer = _issuer_for(agency, data_dir, issuer_file)
    typer.echo(issue_token(issuer, user, sorted(set(role)), valid_for, policy.audience))


def _issuer_for(agency: str, data_dir: Path | None, issuer_file: Path | None) -> LocalIssuer:
    """The issuer that signs for `agency`: its file, or the one in the system's data folder."""
    try:
        if issuer_file is not None:
            issuer = LocalIssuer.load(issuer_file)
        else:
            issuer = local_issuer(data_dir if data_dir is not None else Path("var"), agency)
    except NoSigningKey as exc:
        looked = "" if data_dir is not None else f" (looked in var/ under {Path.cwd()})"
        _refuse(f"{str(exc)[:1].upper()}{str(exc)[1:]}{looked}.")
    except FileNotFoundError:
        _refuse(f"The issuer file {issuer_file} does not exist.")
    except IssuerFileInvalid as exc:
        _refuse(f"{str(exc)[:1].upper()}{str(exc)[1:]}.")
    if issuer.agency != agency:
        _refuse(
            f"The issuer file {issuer_file} signs for agency {issuer.agency}, not {agency}: an"
            " agency's tokens are signed with its own key."
        )
    return issuer


app.command("revoke")(revoke_command)
app.command("unrevoke")(unrevoke_command)
app.command("revocations")(revocations_command)


def _refuse(message: str) -> NoReturn:
    typer.secho(message, fg="red", err=True)
    raise typer.Exit(1)


@app.command()
def health(
    base_port: Annotated[int, typer.Option(help="Port of the first service")] = FIRST_PORT,
    nats_url: Annotated[
        str, typer.Option(envvar="NATS_URL", help="The NATS server the services use")
    ] = f"nats://127.0.0.1:{DEFAULT_NATS_PORT}",
    data_dir: Annotated[
        Path,
        typer.Option(help="The data folder of `jembatan up`: NATS is read as its user ops"),
    ] = Path("var"),
) -> None:
    """Check every service and NATS: streams, consumers' backlogs, redeliveries, dead letters."""
    healthy = True
    urls = service_urls(base_port)
    for name in SERVICES:
        url = f"{urls[name]}/health"
        try:
            response = httpx.get(url, timeout=5)
            status = response.json()
            state = status["status"]
        except (httpx.HTTPError, ValueError, KeyError, TypeError):
            healthy = False
            typer.secho(f"{name:<13} DOWN ({url}); is `./dev run` running?", fg="red")
            continue
        unsent = status.get("outbox_unsent")
        line = f"{name:<13} {state:<9} nats={status.get('nats')} outbox_unsent={unsent}"
        if state == "ok":
            typer.echo(line)
            continue
        healthy = False
        typer.secho(line, fg="yellow")
        for reason in status.get("reasons", []):
            typer.secho(f"{'':<13} - {reason}", fg="yellow")
    try:
        bus = asyncio.run(read_bus_state(operator_nats_url(nats_url, data_dir)))
    except BusUnreachable as exc:
        hint = (
            ""
            if isinstance(exc, BusRefused)
            else "; start the system with ./dev run, or give --nats-url"
        )
        typer.secho(f"{exc}{hint}", fg="red")
        raise typer.Exit(1) from exc
    typer.echo("")
    for line in render_bus_state(bus):
        typer.echo(line)
    if advice := dead_letter_advice(bus):
        healthy = False
        typer.secho(advice, fg="yellow")
    raise typer.Exit(0 if healthy else 1)
