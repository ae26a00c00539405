"""The whole system as local processes: one nats-server, the four services, the dashboard and
the operators' console, each restarted when it dies (`LocalSystem.supervise`)."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self
from urllib.parse import quote, urlsplit, urlunsplit

import httpx
import nats
from nats.js.errors import NotFoundError

from jembatan_contracts import ALL_STREAMS
from jembatan_kit.auth import TokenPolicy
from jembatan_kit.broker import DEFAULT_MAX_AGE_DAYS, stream_config
from jembatan_kit.issuers import LocalIssuer, trust_list_of, write_trust_file
from jembatan_kit.nats_permissions import Permissions, service_permissions
from jembatan_kit.nats_server import NatsServerProcess, free_ports, port_is_open
from jembatan_kit.revocation import ensure_bucket
from jembatan_kit.sealed_nik import index_keys
from jembatan_kit.settings import ServiceSettings

from .consumers import consumers_by_service

SERVICES = ("identity", "registration", "training", "placement", "financing", "dashboard")
"""Every service `jembatan up` runs; the national identity index first, so the registrations it
is asked about find it."""
DEFAULT_PORTS = {
    "registration": 8001,
    "training": 8002,
    "placement": 8003,
    "financing": 8004,
    "dashboard": 8005,
    "identity": 8006,
    "console": 8007,
    "console-kemnaker": 8008,
}
CONSOLE = "console"
NATIONAL_CONSOLE = "console-kemnaker"
FRONT_ENDS = (CONSOLE, NATIONAL_CONSOLE)
"""Processes that hold no data and use no bus: they call the services' HTTP APIs. The
embedded default runs two consoles: a province's (`--console-agency`, Kalimantan Timur by
default: registration desk, training centre, its candidates' placements and loans) and
Kemnaker's, whose placement office opens the job orders and whose loan officers see every
agency's loans."""
PROCESSES = (*SERVICES, *FRONT_ENDS)
CONSOLE_OPERATORS_DIR = "console-operators"
"""<data-dir>/console-operators/<agency>.json: each console's operators (`jembatan operator`)."""
DEFAULT_CONSOLE_AGENCY = "kaltim"
NATIONAL_AGENCY = "kemnaker"


def console_operators_file(data_dir: Path, agency: str) -> Path:
    return data_dir / CONSOLE_OPERATORS_DIR / f"{agency}.json"


DEFAULT_NATS_PORT = 14222
NATS = "nats-server"
OPERATOR = "ops"
"""The embedded server's operator user: the `jembatan` commands and the fault and benchmark
drivers connect as it."""
NATS_USERS_FILE = "nats-users.json"
NATS_CONFIG_FILE = "nats-server.conf"


@dataclass(frozen=True)
class RestartPolicy:
    """How `jembatan up` treats a process (a service or nats-server) that dies on its own.

    It is restarted after a back-off that doubles with each crash inside the window (1, 2, 4,
    8 ... s, at most `max_delay_s`), so a process that crashes at once is not restarted in a
    tight loop, and one that crashed long ago starts again from the shortest wait. At the
    `max_crashes`-th crash within `window_s`, restarting is no cure: everything is stopped and
    `up` exits non-zero, naming the process.
    """

    max_crashes: int = 5
    window_s: float = 600.0
    first_delay_s: float = 1.0
    max_delay_s: float = 30.0

    def delay_s(self, crashes_in_window: int) -> float:
        return float(min(self.first_delay_s * 2 ** (crashes_in_window - 1), self.max_delay_s))


class GaveUp(RuntimeError):
    """A process crashed more often than the restart policy allows."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name


def describe_exit(status: int) -> str:
    if status < 0:
        try:
            return f"killed by {signal.Signals(-status).name}"
        except ValueError:
            return f"killed by signal {-status}"
    return f"exited with status {status}"


ISSUERS_DIR = "issuers"
"""Where `jembatan up` keeps each agency's private signing key, <data-dir>/issuers/<agency>.json."""
TRUST_FILE = "trust.json"
"""The trust list `jembatan up` gives its services (AUTH_TRUST_FILE): its agencies' public keys."""
IDENTITY_DIR = "identity"
INDEX_KEYS_FILE = "index-keys.json"
"""The national identity index's private key and national key, <data-dir>/identity/ (0600): only
the identity service is given it (IDENTITY_KEYS_FILE)."""
INDEX_PUBLIC_KEY_FILE = "index-public.key"
"""The index's public key, which registration seals each NIK to (IDENTITY_PUBLIC_KEY_FILE)."""


def identity_keys(data_dir: Path) -> tuple[Path, Path]:
    """The index's key file and public key file in the data folder, made at the first start."""
    keys = data_dir / IDENTITY_DIR / INDEX_KEYS_FILE
    public = data_dir / IDENTITY_DIR / INDEX_PUBLIC_KEY_FILE
    index_keys(keys, public)
    return keys, public


class NoSigningKey(FileNotFoundError):
    """No key of the agency in the data folder of a system `jembatan up` ran."""


def local_issuer(data_dir: Path, agency: str) -> LocalIssuer:
    """The issuer of `agency` that `jembatan up` keeps in its data folder. Only `jembatan up`
    makes one (`local_issuers`): anything else given a folder without one would sign with a key
    no running service trusts, so it raises NoSigningKey."""
    path = data_dir / ISSUERS_DIR / f"{agency}.json"
    if not path.exists():
        raise NoSigningKey(
            f"no signing key of agency {agency}: {path.absolute()} does not exist; give"
            " --data-dir of the running system (`jembatan up` keeps each agency's key in"
            f" <data-dir>/{ISSUERS_DIR}/; ./dev run uses var/)"
        )
    return LocalIssuer.load(path)


def local_issuers(
    data_dir: Path, agencies: Iterable[str] = (), *, create: bool = False
) -> dict[str, LocalIssuer]:
    """The agencies' issuers kept in <data-dir>/issuers/ (each file 0600), by agency. `jembatan
    up` (`create`) makes one with a fresh key for each of `agencies` lacking one, once, and
    writes <data-dir>/trust.json naming them all with their public keys."""
    folder = data_dir / ISSUERS_DIR
    issuers = {
        path.stem: LocalIssuer.load(path)
        for path in sorted(folder.glob("*.json"))
        if not path.name.startswith(".")
    }
    if not create:
        return issuers
    for agency in agencies:
        if agency not in issuers:
            issuers[agency] = LocalIssuer.generate(agency)
            issuers[agency].save(folder / f"{agency}.json")
    write_trust_file(data_dir / TRUST_FILE, trust_list_of(issuers.values()))
    return issuers


def nats_passwords(data_dir: Path, *, create: bool = False) -> dict[str, str]:
    """The embedded server's users and their passwords, kept in <data-dir>/nats-users.json
    (0600): a random one per service and one for `ops`. Only `jembatan up` creates them
    (`create`), once; a later start keeps them, adding a user only for a service new since."""
    path = data_dir / NATS_USERS_FILE
    kept: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    if not create:
        return kept
    wanted = {**{user: secrets.token_urlsafe(24) for user in (*SERVICES, OPERATOR)}, **kept}
    if wanted != kept:
        data_dir.mkdir(parents=True, exist_ok=True)
        _write_private(path, json.dumps(wanted, indent=2) + "\n")
    return wanted


def _write_private(path: Path, text: str) -> None:
    """Write `path` readable by its owner only, replacing it whole (never half-written)."""
    partial = path.with_name(f".{path.name}.partial")
    partial.unlink(missing_ok=True)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    partial.replace(path)


def with_credentials(nats_url: str, user: str, password: str) -> str:
    """`nats_url` (one server or several, comma-separated) with `user:password` in each."""
    servers = []
    for server in nats_url.split(","):
        parts = urlsplit(server.strip())
        host = parts.netloc.rpartition("@")[2]
        netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{host}"
        servers.append(urlunsplit(parts._replace(netloc=netloc)))
    return ",".join(servers)


def without_credentials(nats_url: str) -> str:
    """`nats_url` fit to print: any password in it left out."""
    servers = []
    for server in nats_url.split(","):
        parts = urlsplit(server.strip())
        servers.append(urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2])))
    return ",".join(servers)


def operator_nats_url(nats_url: str, data_dir: Path) -> str:
    """The URL a `jembatan` command connects with: `nats_url` as given when it carries
    credentials, else with those of `ops` kept in the data folder of `jembatan up`, if any (a
    server without authorisation ignores them)."""
    if any(urlsplit(server.strip()).username for server in nats_url.split(",")):
        return nats_url
    password = nats_passwords(data_dir).get(OPERATOR)
    return nats_url if password is None else with_credentials(nats_url, OPERATOR, password)


def render_authorization(passwords: dict[str, str]) -> str:
    """The embedded server's `authorization` block: each service's user with the rights the
    federated configs give it (`service_permissions`, publishing for every agency: one server
    serves them all here; its consumers read from the services' composition roots), and `ops`
    with every right.

    `ops` is not limited further: on the embedded default the operator owns the data folder,
    where the SQLite files and every service's password are, so a narrower bus user would stop
    nothing; and `jembatan deadletter replay`, `outbox resend` and the fault and benchmark
    drivers publish events and read every stream as it."""

    def listed(items: tuple[str, ...]) -> str:
        return "[" + ", ".join(json.dumps(item) for item in items) + "]"

    def user(name: str, rights: Permissions | None) -> str:
        entry = f"    {{ user: {json.dumps(name)}, password: {json.dumps(passwords[name])}"
        if rights is None:
            return entry + " }\n"
        deny = f", deny: {listed(rights.publish_deny)}" if rights.publish_deny else ""
        return (
            entry + ", permissions: {\n"
            f"        publish: {{ allow: {listed(rights.publish)}{deny} }}\n"
            f"        subscribe: {{ allow: {listed(rights.subscribe)} }}\n"
            "    } }\n"
        )

    consumers = consumers_by_service(SERVICES)
    users = [user(name, service_permissions(name, consumers, "*")) for name in SERVICES]
    return (
        "# Written by `jembatan up` from jembatan_kit.nats_permissions; the passwords are kept\n"
        f"# in {NATS_USERS_FILE} beside this file. Nothing connects without one.\n"
        "authorization {\n  users: [\n" + "".join(users) + user(OPERATOR, None) + "  ]\n}\n"
    )


def find_deploy_dir() -> Path | None:
    """The repository's deploy/ folder, found from here or the working directory upwards."""
    for start in (Path.cwd(), Path(__file__).resolve()):
        for folder in (start, *start.parents):
            candidate = folder / "deploy" / "nats" / "embedded.conf"
            if candidate.exists():
                return folder / "deploy"
    return None


@dataclass
class ServiceProcess:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_file: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class LocalSystem:
    data_dir: Path
    nats_port: int = DEFAULT_NATS_PORT
    ports: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_PORTS))
    extra_env: dict[str, str] = field(default_factory=dict)
    service_env: dict[str, dict[str, str]] = field(default_factory=dict)
    """Settings of one service only, over `extra_env` (e.g. each its own PostgreSQL database)."""
    services: dict[str, ServiceProcess] = field(default_factory=dict)
    nats: NatsServerProcess | None = None
    names: tuple[str, ...] = SERVICES
    """The processes to run: the services and the dashboard by default; `jembatan up` adds the
    console (`PROCESSES`)."""
    console_agency: str = DEFAULT_CONSOLE_AGENCY
    """The one agency the province's console serves; it signs its operators' tokens with that
    agency's key in <data-dir>/issuers/ (Kemnaker's console with Kemnaker's)."""
    restart_policy: RestartPolicy = field(default_factory=RestartPolicy)
    report: Callable[[str], None] = field(default=lambda _message: None)
    """Called with each line `supervise` writes to logs/supervisor.log (`up` prints it)."""
    _crashes: dict[str, list[float]] = field(default_factory=dict, init=False, repr=False)
    _restart_at: dict[str, float] = field(default_factory=dict, init=False, repr=False)
    _recovering: dict[str, float] = field(default_factory=dict, init=False, repr=False)

    @classmethod
    def on_free_ports(cls, data_dir: Path, **kwargs: Any) -> Self:
        """A system on loopback ports free now, all distinct (for tests and the benchmark)."""
        nats_port, *ports = free_ports(len(PROCESSES) + 1)
        return cls(
            data_dir=data_dir,
            nats_port=nats_port,
            ports=dict(zip(PROCESSES, ports, strict=True)),
            **kwargs,
        )

    @property
    def nats_address(self) -> str:
        """The server's URL without credentials (to show; nothing connects with it)."""
        return f"nats://127.0.0.1:{self.nats_port}"

    @property
    def nats_url(self) -> str:
        """The server's URL with the operator's credentials: what the `jembatan` commands, the
        fault tests and the benchmark drivers connect with."""
        return self.nats_url_of(OPERATOR)

    def nats_url_of(self, user: str) -> str:
        """The server's URL with `user`'s credentials (a service's, or `ops`)."""
        return with_credentials(self.nats_address, user, nats_passwords(self.data_dir)[user])

    @property
    def logs(self) -> Path:
        return self.data_dir / "logs"

    def start(self, timeout_s: float = 120.0) -> LocalSystem:
        unknown = sorted(set(self.names) - set(PROCESSES))
        if unknown:
            raise RuntimeError(f"no service named {', '.join(unknown)}; choose among {PROCESSES}")
        busy = [
            f"{name} ({self.ports[name]})" for name in self.names if port_is_open(self.ports[name])
        ]
        if busy:
            raise RuntimeError(f"ports already in use: {', '.join(busy)}; stop what uses them")
        self.logs.mkdir(parents=True, exist_ok=True)
        local_issuers(self.data_dir, self.agencies(), create=True)
        identity_keys(self.data_dir)
        self.nats = NatsServerProcess(
            store_dir=self.data_dir / "nats",
            port=self.nats_port,
            config_file=self._write_nats_config(),
            log_file=self.logs / "nats-server.log",
        ).start()
        try:
            _in_own_loop(self._ensure_streams)
            for name in self.names:
                self.services[name] = self.spawn(name)
            self.wait_healthy(timeout_s)
        except BaseException:
            self.stop()
            raise
        return self

    def agencies(self) -> frozenset[str]:
        """The agencies the services know (KNOWN_AGENCIES and AGENCY of the environment they
        are given), each of which gets its own issuer."""
        env = {**os.environ, **self.extra_env}
        given: dict[str, Any] = {
            name.lower(): env[name] for name in ("KNOWN_AGENCIES", "AGENCY") if name in env
        }
        return TokenPolicy.of(ServiceSettings(**given)).agencies

    def _write_nats_config(self) -> Path:
        """<data-dir>/nats-server.conf: deploy/nats/embedded.conf (when the repository is at
        hand) and the authorisation of the users kept in the data folder, created at first."""
        deploy = find_deploy_dir()
        base = (deploy / "nats" / "embedded.conf").read_text() if deploy else ""
        config = self.data_dir / NATS_CONFIG_FILE
        passwords = nats_passwords(self.data_dir, create=True)
        _write_private(config, base + "\n" + render_authorization(passwords))
        return config

    async def _ensure_streams(self) -> None:
        """Create each missing stream, and the revocation bucket, as `ops` before the services
        start. A service may create and update only its own stream and DEADLETTER
        (ENSURE_STREAMS=own), so one that consumes another's stream would otherwise wait,
        retrying, until that stream's owner has started; and it may only read the bucket.
        An existing stream is left as its owner made it."""
        max_age_days = float(
            self.extra_env.get("STREAM_MAX_AGE_DAYS", DEFAULT_MAX_AGE_DAYS)  # as the services
        )
        client = await nats.connect(self.nats_url, connect_timeout=5, allow_reconnect=False)
        js = client.jetstream()
        try:
            for spec in ALL_STREAMS:
                try:
                    await js.stream_info(spec.name)
                except NotFoundError:
                    await js.add_stream(stream_config(spec, 1, max_age_days))
            await ensure_bucket(js)
        finally:
            await client.close()

    # -- supervision ----------------------------------------------------------------------

    def supervise(self) -> None:
        """One round of supervision; call it every half second or so.

        Notices each process that died since the last round, schedules its restart after the
        policy's back-off, restarts those whose back-off has passed, and reports when a restarted
        one answers again. Each event is a line in logs/supervisor.log and goes to `report`.
        Raises `GaveUp` when a process reaches the policy's crash limit; the caller then stops
        the system.
        """
        now = time.monotonic()
        if (
            self.nats is not None
            and NATS not in self._restart_at
            and self.nats.process is not None
            and (status := self.nats.process.poll()) is not None
        ):
            self.nats.stop()  # reaps it and closes its pipe
            self._crashed(NATS, describe_exit(status), now)
        for name, service in self.services.items():
            if name not in self._restart_at and (status := service.process.poll()) is not None:
                self._crashed(name, describe_exit(status), now)
        for name, due in list(self._restart_at.items()):
            if now >= due:
                del self._restart_at[name]
                self._restart(name, now)
        for name, since in list(self._recovering.items()):
            if self._answers_again(name):
                del self._recovering[name]
                self._record(
                    f"{name} answers again, {time.monotonic() - since:.1f} s after it died"
                )

    def _crashed(self, name: str, how: str, now: float) -> None:
        policy = self.restart_policy
        crashes = [at for at in self._crashes.get(name, []) if now - at < policy.window_s]
        crashes.append(now)
        self._crashes[name] = crashes
        self._recovering.setdefault(name, now)
        log = self.logs / ("nats-server.log" if name == NATS else f"{name}.log")
        if len(crashes) >= policy.max_crashes:
            message = (
                f"{name} {how}: it crashed {len(crashes)} times within"
                f" {_duration(policy.window_s)}; giving up and stopping everything. See {log}"
            )
            self._record(message, report=False)  # the caller reports it, as it stops
            raise GaveUp(name, message)
        delay_s = policy.delay_s(len(crashes))
        self._record(
            f"{name} {how}; restarting it in {delay_s:.0f} s (crash {len(crashes)} within"
            f" {_duration(policy.window_s)}, giving up at {policy.max_crashes}; see {log})"
        )
        self._restart_at[name] = now + delay_s

    def _restart(self, name: str, now: float) -> None:
        if name == NATS:
            assert self.nats is not None
            try:
                self.nats.start()
            except RuntimeError as exc:
                self._crashed(NATS, f"did not start again ({exc})", now)
                return
            pid = self.nats.process.pid if self.nats.process else "?"
        else:
            self.services[name] = self.spawn(name)
            pid = self.services[name].process.pid
        self._record(f"restarted {name} (pid {pid})")

    def _answers_again(self, name: str) -> bool:
        if name == NATS:
            return (
                self.nats is not None
                and self.nats.process is not None
                and port_is_open(self.nats_port)
            )
        service = self.services[name]
        if name in self._restart_at or service.process.poll() is not None:
            return False
        try:
            return self.ready(service)
        except RuntimeError:
            return False

    def _record(self, message: str, report: bool = True) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        with (self.logs / "supervisor.log").open("a") as log:
            log.write(f"{datetime.now(UTC).isoformat(timespec='seconds')} {message}\n")
        if report:
            self.report(message)

    def spawn(
        self, name: str, *, port: int | None = None, env: dict[str, str] | None = None
    ) -> ServiceProcess:
        """Start one process of service `name` with the system's settings, on its port or on
        `port` (a second replica), with `env` over its settings. It is not added to
        `services`: the caller decides what it is."""
        port = self.ports[name] if port is None else port
        if name in FRONT_ENDS:
            return self._spawn_console(name, port, env)
        environment = {
            **os.environ,
            "SERVICE_NAME": name,
            "DATABASE_URL": f"sqlite+aiosqlite:///{self.data_dir / f'{name}.db'}",
            "NATS_URL": self.nats_url_of(name),
            "ENSURE_STREAMS": "own",
            "HTTP_HOST": "127.0.0.1",
            "HTTP_PORT": str(port),
            "CLOCK_ADJUSTABLE": "true",
            # A moved clock stays moved when the service is restarted.
            "CLOCK_STATE_FILE": str(self.data_dir / f"{name}-clock.json"),
            "SECRETS_FILE": str(self.data_dir / f"{name}-secrets.json"),
            # A service restarted while NATS is down serves with the revocations it read last.
            "REVOCATIONS_SNAPSHOT_FILE": str(self.data_dir / f"{name}-revocations.json"),
            "JEMBATAN_TRACES_DIR": str(self.data_dir / "traces"),
            "AUTH_TRUST_FILE": str(self.data_dir / TRUST_FILE),
            # Where the dashboard links each service's API docs.
            "SERVICE_URLS": json.dumps(
                {other: f"http://127.0.0.1:{at}" for other, at in self.ports.items()}
            ),
            **self._identity_env(name),
            **self.extra_env,
            **self.service_env.get(name, {}),
            **(env or {}),
        }
        log_file = self.logs / f"{name}.log"
        executable = Path(sys.executable).parent / f"jembatan-{name}"
        with log_file.open("ab") as log:
            process = subprocess.Popen(
                [str(executable)], env=environment, stdout=log, stderr=subprocess.STDOUT
            )
        return ServiceProcess(name, port, process, log_file)

    def console_agency_of(self, name: str) -> str:
        return NATIONAL_AGENCY if name == NATIONAL_CONSOLE else self.console_agency

    def console_environment(self, name: str, port: int) -> dict[str, str]:
        """A console's settings: its agency's issuer file (the key it signs its operators'
        short-lived tokens with), the operators file of `jembatan operator add`, the key of its
        cookies and links, and where the services are."""
        agency = self.console_agency_of(name)
        return {
            "HTTP_HOST": "127.0.0.1",
            "HTTP_PORT": str(port),
            "CONSOLE_AGENCY": agency,
            "CONSOLE_ISSUER_FILE": str(self.data_dir / ISSUERS_DIR / f"{agency}.json"),
            "CONSOLE_OPERATORS_FILE": str(console_operators_file(self.data_dir, agency)),
            "CONSOLE_SECRET_FILE": str(self.data_dir / f"console-{agency}-secret"),
            "SERVICE_URLS": json.dumps(
                {
                    other: f"http://127.0.0.1:{self.ports[other]}"
                    for other in ("registration", "training", "placement", "financing")
                }
            ),
        }

    def _spawn_console(self, name: str, port: int, env: dict[str, str] | None) -> ServiceProcess:
        environment = {
            **os.environ,
            **self.console_environment(name, port),
            **self.service_env.get(name, {}),
            **(env or {}),
        }
        log_file = self.logs / f"{name}.log"
        executable = Path(sys.executable).parent / f"jembatan-{CONSOLE}"
        with log_file.open("ab") as log:
            process = subprocess.Popen(
                [str(executable)], env=environment, stdout=log, stderr=subprocess.STDOUT
            )
        return ServiceProcess(name, port, process, log_file)

    def _identity_env(self, name: str) -> dict[str, str]:
        """The index's keys to the index, its public key to registration; nothing to others."""
        keys = self.data_dir / IDENTITY_DIR / INDEX_KEYS_FILE
        public = self.data_dir / IDENTITY_DIR / INDEX_PUBLIC_KEY_FILE
        if name == "identity":
            return {"IDENTITY_KEYS_FILE": str(keys)}
        if name == "registration":
            return {"IDENTITY_PUBLIC_KEY_FILE": str(public)}
        return {}

    def wait_healthy(self, timeout_s: float) -> None:
        """Wait until each service answers on its port and is connected to NATS (a service
        answers HTTP as soon as its database is migrated, and connects to NATS after)."""
        deadline = time.monotonic() + timeout_s
        pending = dict(self.services)
        while pending:
            for name, service in list(pending.items()):
                if service.process.poll() is not None:
                    tail = service.log_file.read_text(errors="replace")[-2000:]
                    raise RuntimeError(f"{name} exited at start; its log ends:\n{tail}")
                if self.ready(service):
                    del pending[name]
            if time.monotonic() > deadline:
                raise RuntimeError(f"not healthy after {timeout_s}s: {', '.join(pending)}")
            time.sleep(0.1)

    @staticmethod
    def ready(service: ServiceProcess) -> bool:
        """Whether `service` itself is up on its port, connected to NATS: its /health names it,
        so another process that took the port first is not mistaken for it."""
        try:
            response = httpx.get(f"{service.url}/health", timeout=1)
        except httpx.HTTPError:
            return False
        if response.status_code != 200:
            return False
        try:
            status = response.json()
            answered = status.get("service")
        except (ValueError, AttributeError):
            status, answered = {}, None
        if answered != (CONSOLE if service.name in FRONT_ENDS else service.name):
            raise RuntimeError(
                f"port {service.port} answers as {answered!r}, not {service.name}: "
                "another process holds it; choose other ports"
            )
        return service.name in FRONT_ENDS or bool(status.get("nats") == "connected")

    def stop(self) -> None:
        for service in self.services.values():
            if service.process.poll() is None:
                service.process.terminate()
        for service in self.services.values():
            try:
                service.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                service.process.kill()
                service.process.wait()
        self.services.clear()
        self._restart_at.clear()
        self._recovering.clear()
        if self.nats is not None:
            self.nats.stop()
            self.nats = None

    def __enter__(self) -> LocalSystem:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _in_own_loop(work: Callable[[], Any]) -> None:
    """Run the coroutine function `work` to its end on an event loop of its own thread, so
    `start` works whether or not its caller runs one (the async fault tests do)."""
    failure: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(work())
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=run, name="jembatan-up-streams")
    thread.start()
    thread.join()
    if failure:
        raise failure[0]


def _duration(seconds: float) -> str:
    if seconds >= 120 and seconds % 60 == 0:
        return f"{seconds / 60:.0f} minutes"
    return f"{seconds:.0f} s"
