"""`jembatan scenario list` and `jembatan scenario run NAME`."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from jembatan_kit.issuers import LocalIssuer

from .scenarios.client import ScenarioError
from .scenarios.programmes import SCENARIOS
from .scenarios.runner import run_scenario, scenario_named
from .scenarios.summary import format_summary
from .system import DEFAULT_PORTS, ISSUERS_DIR, NoSigningKey, local_issuer, local_issuers

scenario_app = typer.Typer(
    help="Run the programmes of the source articles against a running system.",
    no_args_is_help=True,
)

FIRST_PORT = min(DEFAULT_PORTS.values())
SCENARIO_SERVICES = ("registration", "training", "placement", "financing")


def service_urls(base_port: int, host: str = "127.0.0.1") -> dict[str, str]:
    """The services' addresses when they listen on consecutive ports from `base_port`."""
    return {
        name: f"http://{host}:{DEFAULT_PORTS[name] - FIRST_PORT + base_port}"
        for name in DEFAULT_PORTS
    }


def signing_issuers(data_dir: Path) -> dict[str, LocalIssuer]:
    """The agencies' issuers `jembatan up` keeps in its data folder; never new ones."""
    issuers = local_issuers(data_dir)
    if issuers:
        return issuers
    typer.secho(
        f"No signing keys: {(data_dir / ISSUERS_DIR).absolute()} holds none. Give --data-dir of"
        " the running system (`jembatan up` keeps each agency's key in <data-dir>/"
        f"{ISSUERS_DIR}/; ./dev run uses var/).",
        fg="red",
        err=True,
    )
    raise typer.Exit(1)


def signing_issuer(data_dir: Path, agency: str) -> LocalIssuer:
    """The issuer of `agency` that `jembatan up` keeps in its data folder; never a new one."""
    try:
        return local_issuer(data_dir, agency)
    except NoSigningKey as exc:
        typer.secho(f"{str(exc)[:1].upper()}{str(exc)[1:]}.", fg="red", err=True)
        raise typer.Exit(1) from exc


@scenario_app.command("list")
def list_scenarios() -> None:
    """The scenarios, with their source article and default size."""
    for scenario in SCENARIOS.values():
        target = f", target {scenario.target:,}" if scenario.target else ""
        typer.echo(
            f"{scenario.name:<18} {scenario.title}  (seed {scenario.seed}, {scenario.track}, "
            f"agency {scenario.agency}; {scenario.size} applicants by default, "
            f"{scenario.full_size:,} in the programme's year{target})"
        )
        typer.echo(f"{'':<18} {scenario.story}")


@scenario_app.command("run")
def run(
    name: Annotated[str, typer.Argument(help="A scenario from `jembatan scenario list`")],
    scale: Annotated[
        float | None,
        typer.Option(help="Share of the programme's full year, e.g. 0.1 (default: a small run)"),
    ] = None,
    size: Annotated[int | None, typer.Option(help="Exactly this many applicants")] = None,
    seed: Annotated[
        int, typer.Option(help="Same seed, same people; change it to run a scenario again")
    ] = 0,
    base_port: Annotated[int, typer.Option(help="Port of the first service")] = FIRST_PORT,
    data_dir: Annotated[
        Path, typer.Option(help="The data folder of `jembatan up` (for the agencies' signing keys)")
    ] = Path("var"),
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON")] = False,
) -> None:
    """Run a scenario through the services' public APIs and print what happened."""
    try:
        scenario = scenario_named(name)
    except ScenarioError as exc:
        typer.secho(str(exc), fg="red", err=True)
        raise typer.Exit(2) from exc
    issuers = signing_issuers(data_dir)
    urls = {name: url for name, url in service_urls(base_port).items() if name in SCENARIO_SERVICES}
    console = Console(stderr=True)
    tasks: dict[str, TaskID] = {}
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description:<36}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=as_json,
    ) as progress:

        def report(step: str, done: int, total: int) -> None:
            if step not in tasks:
                for task in tasks.values():
                    progress.stop_task(task)
                tasks[step] = progress.add_task(step, total=total)
            progress.update(tasks[step], completed=done, total=total)

        try:
            summary = run_scenario(scenario, urls, issuers, seed, scale, size=size, progress=report)
        except ScenarioError as exc:
            progress.stop()
            typer.secho(f"\nScenario {scenario.name} stopped: {exc}", fg="red", err=True)
            raise typer.Exit(1) from exc
    if as_json:
        typer.echo(json.dumps(asdict(summary), default=str, indent=2))
    else:
        typer.echo("")
        typer.echo(format_summary(summary))
