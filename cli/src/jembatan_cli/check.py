"""`jembatan check`: the journey invariants, read from every service's database and the streams.

What a fault injector asks after recovery, and what an operator asks after an incident: nothing
lost (every registration enrolled, every departure financed, every outbox row sent, every event
in its consumers' inboxes, nothing dead-lettered), nothing twice (no key with two effects, no
instalment announced twice), and the dashboard telling the same story as the services.

It reads the databases with plain SQL (the services' packages are not imported: the command works
against any deployment) and the JetStream streams with an ephemeral reader. It reports ids only,
never personal data. Run it once the system is quiet: a row written a moment ago and not yet
relayed is reported as unsent.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from nats.aio.client import Client as NatsClient
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine

from jembatan_contracts import DEAD_LETTER

from .bus_health import BusRefused, BusUnreachable, connect
from .system import operator_nats_url

SERVICES = ("registration", "training", "placement", "financing", "dashboard")

INVARIANTS: dict[str, str] = {
    "registrations-enrolled": "every active registration has exactly one enrolment in training",
    "enrolments-registered": "every enrolment in training belongs to a registration",
    "departures-financed": "every departure has exactly one loan with a fixed schedule",
    "one-effect-per-key": "no duplicate enrolment, placement, loan or instalment per key",
    "inbox-effects": "every event an inbox records as handled has its effect, once",
    "outbox-sent": "every outbox row of every service was sent",
    "events-consumed": "every event sent is in the inbox of each durable consumer of its subject",
    "repayments-announced-once": "every due instalment has exactly one RepaymentDue on the bus",
    "no-dead-letters": "no message was dead-lettered",
    "dashboard-agrees": "the dashboard's figures agree with the services' own records",
}
"""Each invariant's name (as printed and in `Violation.invariant`) and what it asserts."""

SHOWN_IDS = 10
"""Ids printed per violation; the count is always given in full."""


@dataclass(frozen=True)
class Violation:
    invariant: str
    """A key of INVARIANTS."""
    detail: str
    """What is wrong, with a count; ids only."""
    ids: tuple[str, ...] = ()

    def __str__(self) -> str:
        shown = ", ".join(self.ids[:SHOWN_IDS])
        more = f" (+{len(self.ids) - SHOWN_IDS} more)" if len(self.ids) > SHOWN_IDS else ""
        return f"{self.detail}: {shown}{more}" if self.ids else self.detail


class CheckUnavailable(Exception):
    """A database or NATS could not be read: the check cannot say anything."""


def embedded_database_urls(data_dir: Path) -> dict[str, str]:
    """The embedded default's databases: `<data dir>/<service>.db` (SQLite)."""
    return {name: f"sqlite+aiosqlite:///{data_dir.resolve() / f'{name}.db'}" for name in SERVICES}


def async_url(url: str) -> str:
    """The URL with an asynchronous driver (aiosqlite, asyncpg): `check` only reads, on an engine
    of its own that takes no write lock."""
    scheme, rest = url.split("://", 1)
    base = scheme.split("+", 1)[0]
    if base == "sqlite":
        return f"sqlite+aiosqlite://{rest}"
    if base in ("postgresql", "postgres"):
        return f"postgresql+asyncpg://{rest}"
    raise ValueError(f"unsupported database URL scheme {scheme!r}: give sqlite or postgresql")


def _id(value: Any) -> str:
    """A uuid as stored by any backend (SQLite keeps 32 hex digits) in its usual text form."""
    return str(value if isinstance(value, uuid.UUID) else uuid.UUID(str(value)))


# --- reading ------------------------------------------------------------------------------------


@dataclass
class Records:
    """What the check needs from one service's database, as plain rows (dicts)."""

    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def rows(self, table: str) -> list[dict[str, Any]]:
        return self.tables.get(table, [])


QUERIES: dict[str, dict[str, str]] = {
    "registration": {"candidates": "SELECT id, status FROM candidates"},
    "training": {"enrolments": "SELECT candidate_id, journey_id FROM enrolments"},
    "placement": {
        "placements": "SELECT id, candidate_id, status FROM placements",
        "steps": "SELECT placement_id, status FROM placement_steps",
    },
    "financing": {
        "loans": "SELECT id, placement_id, candidate_id, schedule_fixed_at FROM loans",
        "instalments": "SELECT loan_id, number, due_date, announced_at, superseded_at "
        "FROM instalments",
    },
    "dashboard": {
        "candidates": "SELECT candidate_id, registered_on, placed_on, departed_on FROM candidates",
        "loans": "SELECT loan_id FROM loans",
        "repayments_due": "SELECT loan_id, instalment_number FROM repayments_due",
    },
}
MESSAGING = {
    "outbox": "SELECT event_id, event_type, subject, stream, payload, sent_at FROM outbox",
    "inbox": "SELECT consumer, event_id FROM inbox",
}


async def read_service(name: str, url: str) -> Records:
    engine = create_async_engine(async_url(url))
    records = Records()
    try:
        async with engine.connect() as connection:
            for table, sql in {**QUERIES[name], **MESSAGING}.items():
                result = await connection.execute(text(sql))
                records.tables[table] = [dict(row) for row in result.mappings()]
    except (DBAPIError, OSError) as exc:
        reason = (str(getattr(exc, "orig", None) or exc).splitlines() or ["?"])[0]
        raise CheckUnavailable(f"{name}: cannot read its database: {reason}") from exc
    finally:
        await engine.dispose()
    return records


@dataclass
class Bus:
    repayments_due: list[dict[str, Any]]
    """The bodies of every RepaymentDue in the FINANCING stream."""
    consumers: list[tuple[str, str, list[str]]]
    """(stream, durable, filter subjects) of every durable consumer."""
    dead_letters: list[tuple[int, str]]
    """(sequence, consumer) of every message in the DEADLETTER stream."""


REPAYMENT_DUE_SUBJECT = "jembatan.*.financing.repayment.due.v1"


async def read_bus(nats_url: str) -> Bus:
    try:
        # Fails at once where NATS does not answer (nats-py's own connect kept trying it).
        client = await connect(nats_url, timeout_s=3.0)
    except BusUnreachable as exc:
        hint = "" if isinstance(exc, BusRefused) else "; start the system, or give --nats-url"
        raise CheckUnavailable(f"{exc}{hint}") from exc
    try:
        js = client.jetstream()
        consumers = []
        for info in await js.streams_info():
            stream = info.config.name or ""
            for consumer in await js.consumers_info(stream):
                config = consumer.config
                if config.durable_name:
                    subjects = list(config.filter_subjects or []) or [config.filter_subject or ">"]
                    consumers.append((stream, config.durable_name, subjects))
        due = await _stored(client, "FINANCING", REPAYMENT_DUE_SUBJECT)
        dead = await _stored(client, DEAD_LETTER.name, ">", headers_only=True)
        return Bus(
            [json.loads(data) for _, _, data in due],
            consumers,
            [(sequence, subject.removeprefix("deadletter.")) for sequence, subject, _ in dead],
        )
    finally:
        await client.close()


async def _stored(
    client: NatsClient, stream: str, subject: str, headers_only: bool = False
) -> list[tuple[int, str, bytes]]:
    """Every message stored in `stream` on `subject`: (sequence, subject, body), read by an
    ephemeral consumer that acknowledges nothing and leaves no trace."""
    js = client.jetstream()
    try:
        info = await js.stream_info(stream, subjects_filter=subject)
    except NotFoundError:
        return []
    expected = sum((info.state.subjects or {}).values()) if subject != ">" else info.state.messages
    if not expected:
        return []
    subscription = await js.pull_subscribe(
        subject,
        stream=stream,
        config=ConsumerConfig(
            deliver_policy=DeliverPolicy.ALL,
            ack_policy=AckPolicy.NONE,
            inactive_threshold=30,
            headers_only=headers_only,
        ),
    )
    found: list[tuple[int, str, bytes]] = []
    try:
        while len(found) < expected:
            try:
                batch = await subscription.fetch(1000, timeout=2)
            except TimeoutError:
                break
            for msg in batch:
                sequence = msg.metadata.sequence.stream if msg.metadata.sequence else 0
                found.append((sequence, msg.subject, msg.data))
    finally:
        await subscription.unsubscribe()
    return found


# --- the invariants -----------------------------------------------------------------------------


def subject_matches(pattern: str, subject: str) -> bool:
    """NATS subject matching: `*` one token, `>` one or more trailing tokens."""
    wanted, tokens = pattern.split("."), subject.split(".")
    for index, token in enumerate(wanted):
        if token == ">":
            return len(tokens) > index
        if index >= len(tokens) or (token != "*" and token != tokens[index]):
            return False
    return len(tokens) == len(wanted)


def _duplicates(keys: Iterable[Any]) -> list[str]:
    return sorted(str(key) for key, count in Counter(keys).items() if count > 1)


def _instalment(loan_id: Any, number: Any) -> str:
    return f"{_id(loan_id)}:{number}"


class Findings:
    """The violations found so far; each names its ids, sorted, and counts them."""

    def __init__(self) -> None:
        self.found: list[Violation] = []

    def add(self, invariant: str, detail: str, ids: Iterable[Any]) -> None:
        listed = tuple(sorted({str(i) for i in ids}))
        if listed:
            self.found.append(Violation(invariant, f"{detail} ({len(listed)})", listed))


@dataclass
class Facts:
    """The services' records, keyed as the invariants compare them (ids in text form)."""

    records: dict[str, Records]
    registered: dict[str, str]  # candidate id: status
    enrolled: list[str]  # candidate ids, as many as there are rows
    placements: dict[str, dict[str, Any]]
    reached: dict[str, set[str]]  # placement status: the placements that reached it
    loans_by_placement: dict[str, list[dict[str, Any]]]
    instalments: list[dict[str, Any]]
    handled: set[tuple[str, str]]  # (durable consumer, event id) of every inbox row

    @classmethod
    def of(cls, records: dict[str, Records]) -> Facts:
        reached: dict[str, set[str]] = defaultdict(set)
        for row in records["placement"].rows("steps"):
            reached[row["status"]].add(_id(row["placement_id"]))
        loans: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in records["financing"].rows("loans"):
            loans[_id(row["placement_id"])].append(row)
        return cls(
            records=records,
            registered={
                _id(row["id"]): row["status"] for row in records["registration"].rows("candidates")
            },
            enrolled=[_id(row["candidate_id"]) for row in records["training"].rows("enrolments")],
            placements={_id(row["id"]): row for row in records["placement"].rows("placements")},
            reached=reached,
            loans_by_placement=loans,
            instalments=records["financing"].rows("instalments"),
            handled={
                (row["consumer"], _id(row["event_id"]))
                for name in SERVICES
                for row in records[name].rows("inbox")
            },
        )

    def outbox(self, service: str) -> list[dict[str, Any]]:
        return self.records[service].rows("outbox")


def _check_journeys(facts: Facts, findings: Findings) -> None:
    active = {c for c, status in facts.registered.items() if status == "active"}
    findings.add(
        "registrations-enrolled", "active registrations not enrolled", active - set(facts.enrolled)
    )
    findings.add(
        "enrolments-registered",
        "enrolments without a registration",
        set(facts.enrolled) - set(facts.registered),
    )
    loans = facts.loans_by_placement
    scheduled = {_id(row["loan_id"]) for row in facts.instalments}
    departed = facts.reached["departed"]
    findings.add(
        "departures-financed",
        "departed placements without exactly one loan",
        (p for p in departed if len(loans.get(p, [])) != 1),
    )
    findings.add(
        "departures-financed",
        "departed placements whose loan has no fixed schedule",
        (
            p
            for p in departed
            if len(loans.get(p, [])) == 1
            and (
                loans[p][0]["schedule_fixed_at"] is None or _id(loans[p][0]["id"]) not in scheduled
            )
        ),
    )


def _check_one_effect_per_key(facts: Facts, findings: Findings) -> None:
    training = facts.records["training"]
    findings.add("one-effect-per-key", "candidates enrolled twice", _duplicates(facts.enrolled))
    findings.add(
        "one-effect-per-key",
        "journeys enrolled twice",
        _duplicates(_id(row["journey_id"]) for row in training.rows("enrolments")),
    )
    findings.add(
        "one-effect-per-key",
        "candidates with two slot-holding placements",
        _duplicates(
            _id(row["candidate_id"])
            for row in facts.placements.values()
            if row["status"] in SLOT_HOLDING
        ),
    )
    findings.add(
        "one-effect-per-key",
        "placements with two loans",
        (p for p, loans in facts.loans_by_placement.items() if len(loans) > 1),
    )
    findings.add(
        "one-effect-per-key",
        "instalments (loan:number) scheduled twice",
        _duplicates(_instalment(row["loan_id"], row["number"]) for row in facts.instalments),
    )


SLOT_HOLDING = ("placed", "coe_issued", "visa_issued", "departed")
"""Placement statuses in which a candidate holds an order's slot: one such placement each."""

EFFECTS = {
    "training-candidate-registered": ("candidate_id", "enrolment"),
    "financing-candidate-placed": ("placement_id", "loan"),
}
"""For these durable consumers, the event field naming the key of the effect each event has."""


def _check_inbox_effects(facts: Facts, findings: Findings) -> None:
    """Each event a consumer records as handled, found in its producer's outbox, has its
    effect: the enrolment of the registered candidate, the loan of the placement."""
    sent = {_id(row["event_id"]): row for name in SERVICES for row in facts.outbox(name)}
    effects = {"enrolment": set(facts.enrolled), "loan": set(facts.loans_by_placement)}
    for durable, (key, what) in EFFECTS.items():
        findings.add(
            "inbox-effects",
            f"{durable}: events handled without a {what}",
            (
                event_id
                for consumer, event_id in facts.handled
                if consumer == durable
                and event_id in sent
                and _id(json.loads(sent[event_id]["payload"])[key]) not in effects[what]
            ),
        )


def _check_messaging(facts: Facts, bus: Bus, findings: Findings) -> None:
    for name in SERVICES:
        findings.add(
            "outbox-sent",
            f"{name}: outbox rows never sent (event ids)",
            (_id(row["event_id"]) for row in facts.outbox(name) if row["sent_at"] is None),
        )
    # A durable is named after the service that consumes (`training-candidate-registered`), a
    # stream after the one that produces (REGISTRATION). Other durables (a reader's) are not ours.
    for stream, durable, subjects in bus.consumers:
        consumer_service, producer = durable.split("-", 1)[0], stream.lower()
        if consumer_service not in SERVICES or producer not in SERVICES:
            continue
        findings.add(
            "events-consumed",
            f"{durable}: events sent but not handled",
            (
                _id(row["event_id"])
                for row in facts.outbox(producer)
                if row["sent_at"] is not None
                and any(subject_matches(pattern, row["subject"]) for pattern in subjects)
                and (durable, _id(row["event_id"])) not in facts.handled
            ),
        )
    for consumer in sorted({consumer for _, consumer in bus.dead_letters}):
        findings.add(
            "no-dead-letters",
            f"dead letters of {consumer} (DEADLETTER stream sequences)",
            (seq for seq, who in bus.dead_letters if who == consumer),
        )


def _check_repayments(facts: Facts, bus: Bus, today: date, findings: Findings) -> None:
    announced: Counter[str] = Counter(
        _instalment(body["loan_id"], body["instalment_number"]) for body in bus.repayments_due
    )
    due = {
        _instalment(row["loan_id"], row["number"])
        for row in facts.instalments
        if row["announced_at"] is not None
        # due before today by any clock (financing's may be ahead), yet never announced
        or (row["superseded_at"] is None and _as_date(row["due_date"]) < today)
    }
    findings.add(
        "repayments-announced-once",
        "due instalments (loan:number) without a RepaymentDue",
        (key for key in due if announced[key] == 0),
    )
    findings.add(
        "repayments-announced-once",
        "instalments (loan:number) with two or more RepaymentDue",
        (key for key, count in announced.items() if count > 1),
    )
    known = {_instalment(row["loan_id"], row["number"]) for row in facts.instalments}
    findings.add(
        "repayments-announced-once",
        "RepaymentDue for instalments (loan:number) financing does not hold",
        set(announced) - known,
    )


def _check_dashboard(facts: Facts, findings: Findings) -> None:
    dashboard = facts.records["dashboard"]
    board = dashboard.rows("candidates")

    def shown(column: str) -> set[str]:
        return {_id(row["candidate_id"]) for row in board if row[column] is not None}

    def compare(what: str, on_dashboard: set[str], in_services: set[str]) -> None:
        findings.add(
            "dashboard-agrees", f"{what} on the dashboard only", on_dashboard - in_services
        )
        findings.add(
            "dashboard-agrees", f"{what} missing on the dashboard", in_services - on_dashboard
        )

    candidate_of = {p: _id(row["candidate_id"]) for p, row in facts.placements.items()}

    def candidates_reaching(status: str) -> set[str]:
        return {candidate_of[p] for p in facts.reached[status] if p in candidate_of}

    compare("registered candidates", shown("registered_on"), set(facts.registered))
    compare("placed candidates", shown("placed_on"), candidates_reaching("placed"))
    compare("departed candidates", shown("departed_on"), candidates_reaching("departed"))
    compare(
        "loans",
        {_id(row["loan_id"]) for row in dashboard.rows("loans")},
        {_id(row["id"]) for row in facts.records["financing"].rows("loans")},
    )
    compare(
        "repayments due (loan:number)",
        {
            _instalment(row["loan_id"], row["instalment_number"])
            for row in dashboard.rows("repayments_due")
        },
        {
            _instalment(row["loan_id"], row["number"])
            for row in facts.instalments
            if row["announced_at"]
        },
    )


def evaluate(records: dict[str, Records], bus: Bus, today: date | None = None) -> list[Violation]:
    """Every invariant over what was read; the violations found (none: the system is sound)."""
    facts, findings = Facts.of(records), Findings()
    _check_journeys(facts, findings)
    _check_one_effect_per_key(facts, findings)
    _check_inbox_effects(facts, findings)
    _check_messaging(facts, bus, findings)
    _check_repayments(facts, bus, today or datetime.now(UTC).date(), findings)
    _check_dashboard(facts, findings)
    return findings.found


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


async def check_system(database_urls: dict[str, str], nats_url: str) -> list[Violation]:
    """Read every service's database and the streams, and return every invariant violated.

    `database_urls` maps each service of SERVICES to its database URL (sqlite or postgresql,
    with or without a driver). Raises CheckUnavailable when one cannot be read."""
    missing = [name for name in SERVICES if name not in database_urls]
    if missing:
        raise CheckUnavailable(f"no database URL for {', '.join(missing)}")
    read = await asyncio.gather(*(read_service(name, database_urls[name]) for name in SERVICES))
    bus = await read_bus(nats_url)
    return evaluate(dict(zip(SERVICES, read, strict=True)), bus)


def render(violations: list[Violation]) -> list[str]:
    """One line per invariant, `ok` or its violations beneath it."""
    lines = []
    for name, meaning in INVARIANTS.items():
        own = [violation for violation in violations if violation.invariant == name]
        lines.append(f"{'ok  ' if not own else 'FAIL'}  {name:<26} {meaning}")
        lines.extend(f"        {violation}" for violation in own)
    return lines


def check_command(
    data_dir: Annotated[
        Path, typer.Option(help="The data folder of `jembatan up` (SQLite files <service>.db)")
    ] = Path("var"),
    nats_url: Annotated[
        str, typer.Option(envvar="NATS_URL", help="The NATS server the services use")
    ] = "nats://127.0.0.1:14222",
    database_url: Annotated[
        list[str],
        typer.Option(
            help="service=URL, e.g. financing=postgresql://host/financing (repeatable; "
            "a service not named uses <data dir>/<service>.db)"
        ),
    ] = [],  # noqa: B006
) -> None:
    """Check the journey invariants across every service's database and the streams (ids only).

    Exits 1 on any violation, 2 when a database or NATS cannot be read."""
    urls = embedded_database_urls(data_dir)
    for given in database_url:
        service, separator, url = given.partition("=")
        if not separator or service not in SERVICES:
            raise typer.BadParameter(
                f"{given!r}: give service=URL with a service among {', '.join(SERVICES)}",
                param_hint="--database-url",
            )
        urls[service] = url
    for service, url in urls.items():
        if url.startswith("sqlite") and not Path(url.split("///", 1)[-1]).exists():
            typer.secho(
                f"{service}: no database at {url}; give --data-dir or --database-url",
                fg="red",
                err=True,
            )
            raise typer.Exit(2)
    try:
        violations = asyncio.run(check_system(urls, operator_nats_url(nats_url, data_dir)))
    except (CheckUnavailable, ValueError) as exc:
        typer.secho(str(exc), fg="red", err=True)
        raise typer.Exit(2) from exc
    for line in render(violations):
        typer.secho(line, fg=None if line.startswith("ok") else "red")
    failed = len({violation.invariant for violation in violations})
    typer.echo(f"\n{len(INVARIANTS) - failed} of {len(INVARIANTS)} invariants hold.")
    raise typer.Exit(1 if violations else 0)
