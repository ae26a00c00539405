"""`jembatan deadletter`: the operator's path for the messages a consumer gave up on.

A dead letter is a message of the DEADLETTER stream, on `deadletter.<durable>`, whose headers
(`DeadLetterHeader`) say which consumer gave up, why, and where the original came from. Its body
is the original's, or empty when the original was too large to carry: it is then kept in the
`DEAD_LETTER_BODIES` object store under the name in the `BODY_OBJECT` header.

A replay republishes the original body on its original subject, into its original stream, with
its traceparent, under a fresh `Nats-Msg-Id` (`replay:<sequence>:<original id>`): the original's
id may still be in JetStream's 15-minute duplicate window, which would drop the republished copy
without a word. `REPLAY_FOR_HEADER` names the consumer that gave up, so only that consumer
handles the copy and its inbox decides (an event it has processed since has no second effect).
The dead letter is removed only once the publish is acknowledged; a replay interrupted between
the two is repeated under the same id, which the duplicate window (or after it, the inbox) drops.

Every replay and discard is appended to a JSON-lines log: who, what, which, why, when.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import getpass
import json
import os
import uuid
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from nats.aio.client import Client as NatsClient
from nats.errors import Error as NatsError
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.errors import (
    APIError,
    BucketNotFoundError,
    NoStreamResponseError,
    NotFoundError,
    ObjectNotFoundError,
)
from pydantic import ValidationError

from jembatan_contracts import (
    CATALOGUE,
    DEAD_LETTER,
    DEAD_LETTER_BODIES,
    REPLAY_FOR_HEADER,
    DeadLetterHeader,
    Event,
    dead_letter_subject,
)

from .bus_health import BusRefused, BusUnreachable, connect
from .system import DEFAULT_NATS_PORT, operator_nats_url, without_credentials

ACTION_LOG = Path("logs") / "deadletter-actions.jsonl"
"""Inside the data folder: one JSON line for each replay or discard."""

REASON_WIDTH = 60
PUBLISH_TIMEOUT_S = 10.0

T = TypeVar("T")


class DeadLetterError(Exception):
    """Something an operator can act on: printed as it is, never as a traceback."""


@dataclass(frozen=True)
class DeadLetter:
    sequence: int
    """Its sequence in the DEADLETTER stream: what the commands name it by."""
    stored_at: datetime
    """When the DEADLETTER stream stored it (the server's clock, not the consumer's)."""
    headers: dict[str, str]
    body: bytes
    """The original body, or empty when it is kept in the object store (`body_object`)."""
    subject: str

    @property
    def consumer(self) -> str:
        return self.headers.get(DeadLetterHeader.CONSUMER) or self.subject.removeprefix(
            dead_letter_subject("")
        )

    @property
    def reason(self) -> str:
        return self.headers.get(DeadLetterHeader.REASON, "")

    @property
    def original_subject(self) -> str:
        return self.headers.get(DeadLetterHeader.ORIGINAL_SUBJECT, "")

    @property
    def original_stream(self) -> str:
        return self.headers.get(DeadLetterHeader.ORIGINAL_STREAM, "")

    @property
    def body_object(self) -> str:
        return self.headers.get(DeadLetterHeader.BODY_OBJECT, "")

    @functools.cached_property
    def _fields(self) -> dict[str, Any]:
        try:
            fields = json.loads(self.body)
        except ValueError:
            return {}
        return fields if isinstance(fields, dict) else {}

    @property
    def event_type(self) -> str | None:
        """The body's event type, when it is one of the catalogue's."""
        event_type = self._fields.get("event_type")
        return event_type if isinstance(event_type, str) and event_type in EVENT_MODELS else None

    @property
    def event_id(self) -> str | None:
        """From the body where it has one; else from the original's `Nats-Msg-Id` (the relay
        publishes each event under its event id, a replay under `replay:...:<event id>`). Only
        ever a UUID: a malformed body's values are never shown."""
        for candidate in (
            self._fields.get("event_id"),
            self.headers.get(DeadLetterHeader.ORIGINAL_MSG_ID, "").rsplit(":", 1)[-1],
        ):
            if isinstance(candidate, str) and _is_uuid(candidate):
                return candidate
        return None

    @property
    def replay_msg_id(self) -> str:
        """Fresh, so the duplicate window that remembers the original never drops the replay;
        the same for every replay of this dead letter, so an interrupted replay done again is."""
        original = self.headers.get(DeadLetterHeader.ORIGINAL_MSG_ID) or (
            f"{self.original_stream}:{self.headers.get(DeadLetterHeader.ORIGINAL_SEQUENCE, '')}"
        )
        return f"replay:{self.sequence}:{original}"


@dataclass(frozen=True)
class Selection:
    """Which dead letters a command means: every one, or those matching all the filters given."""

    consumer: str | None = None
    reason: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    @property
    def filters(self) -> bool:
        return any(
            value is not None for value in (self.consumer, self.reason, self.since, self.until)
        )

    def matches(self, letter: DeadLetter) -> bool:
        return (
            (self.consumer is None or letter.consumer == self.consumer)
            and (self.reason is None or self.reason.casefold() in letter.reason.casefold())
            and (self.since is None or letter.stored_at >= self.since)
            and (self.until is None or letter.stored_at < self.until)
        )

    def describe(self) -> str:
        parts = [
            f"{name} {value}"
            for name, value in (
                ("consumer", self.consumer),
                ("reason containing", repr(self.reason) if self.reason else None),
                ("since", _iso(self.since) if self.since else None),
                ("until", _iso(self.until) if self.until else None),
            )
            if value
        ]
        return ", ".join(parts) or "any"


# -- reading and changing the DEADLETTER stream ------------------------------------------------


async def read_dead_letters(js: JetStreamContext, selection: Selection) -> list[DeadLetter]:
    """Every dead letter matching `selection`, in stream order. Reads message by message
    (`next_by_subj`), so it leaves no consumer behind on the server."""
    subject = dead_letter_subject(selection.consumer) if selection.consumer else "deadletter.>"
    letters: list[DeadLetter] = []
    sequence = 1
    while True:
        try:
            raw = await js.get_msg(DEAD_LETTER.name, seq=sequence, subject=subject, next=True)
        except NotFoundError:  # past the last one, or no DEADLETTER stream at all
            return letters
        letter = _letter(raw)
        if selection.matches(letter):
            letters.append(letter)
        sequence = letter.sequence + 1


async def dead_letter(js: JetStreamContext, sequence: int) -> DeadLetter:
    try:
        raw = await js.get_msg(DEAD_LETTER.name, seq=sequence)
    except NotFoundError as exc:
        raise DeadLetterError(
            f"There is no dead letter {sequence} (replayed or discarded already?). "
            "`jembatan deadletter list` shows those there are."
        ) from exc
    return _letter(raw)


def _letter(raw: Any) -> DeadLetter:
    return DeadLetter(
        sequence=raw.seq,
        stored_at=raw.time or datetime.fromtimestamp(0, UTC),
        headers={str(k): str(v) for k, v in (raw.headers or {}).items()},
        body=raw.data or b"",
        subject=raw.subject or "",
    )


async def body_of(js: JetStreamContext, letter: DeadLetter) -> bytes:
    """The original body, from the object store when the dead letter carries only its name."""
    if not letter.body_object:
        return letter.body
    try:
        store = await js.object_store(DEAD_LETTER_BODIES)
        stored = await store.get(letter.body_object)
    except (BucketNotFoundError, ObjectNotFoundError) as exc:
        raise DeadLetterError(
            f"dead letter {letter.sequence}: its body {letter.body_object!r} is not in the "
            f"object store {DEAD_LETTER_BODIES}"
        ) from exc
    return stored.data or b""


async def remove(js: JetStreamContext, letter: DeadLetter) -> str | None:
    """The dead letter, then its stored body. In that order: a body removed first would leave a
    dead letter that can no longer be replayed, where a body left over only takes room (until
    the bucket's age limit). Returns why a stored body was left over, if it was."""
    with contextlib.suppress(NotFoundError):  # removed in the meantime
        await js.delete_msg(DEAD_LETTER.name, letter.sequence)
    if not letter.body_object:
        return None
    try:
        store = await js.object_store(DEAD_LETTER_BODIES)
        await store.delete(letter.body_object)
    except (BucketNotFoundError, ObjectNotFoundError):
        return None
    except (NatsError, APIError) as exc:  # e.g. a user that may not publish on $O.<bucket>.>
        return (
            f"its stored body {letter.body_object!r} is left in {DEAD_LETTER_BODIES}: "
            f"{exc or type(exc).__name__}"
        )
    return None


@dataclass(frozen=True)
class Republished:
    stream: str
    sequence: int
    duplicate: bool
    """Already republished by an earlier, interrupted replay of this dead letter."""
    body_left_over: str | None = None


async def replay(
    js: JetStreamContext, letter: DeadLetter, publish_to: JetStreamContext | None = None
) -> Republished:
    """Republish the original for the consumer that gave up on it, then remove the dead letter.

    `publish_to`: the server whose stream takes the original subject, when it is not the one of
    the DEADLETTER stream (at the hub, whose REGISTRATION and TRAINING only source the
    provinces' streams, a province's event is republished at the province)."""
    if not letter.original_subject:
        raise DeadLetterError(
            f"dead letter {letter.sequence} does not say where it came from "
            f"(no {DeadLetterHeader.ORIGINAL_SUBJECT} header); discard it instead"
        )
    headers = {"Nats-Msg-Id": letter.replay_msg_id, REPLAY_FOR_HEADER: letter.consumer}
    if traceparent := letter.headers.get(DeadLetterHeader.TRACEPARENT):
        headers[DeadLetterHeader.TRACEPARENT] = traceparent
    body = await body_of(js, letter)
    try:
        ack = await (publish_to or js).publish(
            letter.original_subject,
            body,
            stream=letter.original_stream or None,
            headers=headers,
            timeout=PUBLISH_TIMEOUT_S,
        )
    except NoStreamResponseError as exc:
        raise DeadLetterError(
            f"dead letter {letter.sequence}: no stream on this server takes "
            f"{letter.original_subject} (a stream that only sources another server's, as the "
            "hub's REGISTRATION and TRAINING do, takes nothing published here: give "
            "--publish-nats-url, the server of the stream that does)"
        ) from exc
    except NatsTimeoutError as exc:
        raise DeadLetterError(
            f"dead letter {letter.sequence}: no acknowledgement of the republish on "
            f"{letter.original_subject} within {PUBLISH_TIMEOUT_S:.0f} s (may this NATS user "
            "publish on it?); kept: a later replay of it has no second effect"
        ) from exc
    except APIError as exc:
        raise DeadLetterError(
            f"dead letter {letter.sequence}: the republish on {letter.original_subject} was "
            f"refused: {exc.description}"
        ) from exc
    try:
        left_over = await remove(js, letter)
    except (NatsError, APIError) as exc:
        raise DeadLetterError(
            f"dead letter {letter.sequence} was republished ({ack.stream} #{ack.seq}) but not "
            f"removed ({exc or type(exc).__name__}): replay it again to remove it; the copy is "
            "not taken twice"
        ) from exc
    return Republished(ack.stream, ack.seq, bool(ack.duplicate), left_over)


# -- the action log -----------------------------------------------------------------------------


@dataclass
class Action:
    """One replay or discard, as the log keeps it."""

    action: str
    why: str
    done: list[DeadLetter] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)
    republished: dict[int, Republished] = field(default_factory=dict)
    bodies_left_over: dict[int, str] = field(default_factory=dict)

    def removed(self, letter: DeadLetter, body_left_over: str | None) -> None:
        self.done.append(letter)
        if body_left_over:
            self.bodies_left_over[letter.sequence] = body_left_over
            typer.secho(f"  dead letter {letter.sequence}: {body_left_over}", fg="yellow")

    def record(self) -> dict[str, Any]:
        record: dict[str, Any] = {
            "at": _iso(datetime.now(UTC)),
            "who": operator(),
            "action": self.action,
            "why": self.why,
            "sequences": [letter.sequence for letter in self.done],
            "consumers": sorted({letter.consumer for letter in self.done}),
            "event_ids": [letter.event_id for letter in self.done],
        }
        if self.republished:
            record["republished"] = [
                {"sequence": seq, "stream": to.stream, "stream_sequence": to.sequence}
                for seq, to in self.republished.items()
            ]
        if self.bodies_left_over:
            record["bodies_left_over"] = [
                {"sequence": seq, "why": why} for seq, why in self.bodies_left_over.items()
            ]
        if self.failed:
            record["failed"] = [{"sequence": s, "error": e} for s, e in self.failed.items()]
        return record


def operator() -> str:
    """The OS user running the command."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid {os.getuid()}"


def append_to_log(path: Path, action: Action) -> str:
    line = json.dumps(action.record(), ensure_ascii=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as log:
        log.write(line + "\n")
    return line


# -- what the commands print --------------------------------------------------------------------


def render_line(letter: DeadLetter) -> str:
    if letter.body_object:
        event = f"(body in the object store) {letter.event_id or '?'}"
    elif letter.event_type or letter.event_id:
        event = f"{letter.event_type or '?'} {letter.event_id or '?'}"
    else:
        event = "(body not an event)"
    return (
        f"{letter.sequence:>7}  {_iso(letter.stored_at)}  {letter.consumer:<34}  "
        f"{letter.original_subject or '?'}  {event}  {_cut(letter.reason)}"
    )


def render_counts(letters: list[DeadLetter]) -> list[str]:
    counts = Counter(letter.consumer for letter in letters)
    lines = [f"{len(letters)} dead letter(s)"]
    lines += [f"  {consumer:<45} {count:>6}" for consumer, count in sorted(counts.items())]
    return lines


def render_body(body: bytes) -> list[str]:
    """The body as the event it is, pretty. Only an event's own fields are ever printed: a body
    that is not a valid event of the catalogue shows its size, its field names and what is wrong
    with it, never its values (it could hold anything, personal data too)."""
    try:
        data = json.loads(body)
    except ValueError:
        return [f"({len(body)} bytes, not JSON; not printed)"]
    if not isinstance(data, dict):
        return [f"({len(body)} bytes of JSON, not an object; not printed)"]
    event_type = data.get("event_type")
    model = EVENT_MODELS.get(event_type) if isinstance(event_type, str) else None
    if model is None:
        return [
            f"({len(body)} bytes; no event type of the catalogue; not printed)",
            f"fields: {', '.join(sorted(map(str, data)))}",
        ]
    try:
        event = model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, error['loc']))}: {error['msg']}" for error in exc.errors()
        )
        return [
            f"({len(body)} bytes; not a valid {event_type}: {problems}; not printed)",
            f"fields: {', '.join(sorted(map(str, data)))}",
        ]
    return json.dumps(event.model_dump(mode="json"), indent=2, ensure_ascii=False).splitlines()


EVENT_MODELS: dict[str, type[Event]] = {model.name: model for model in CATALOGUE}


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _cut(text: str, width: int = REASON_WIDTH) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


# -- the commands ---------------------------------------------------------------------------------

deadletter_app = typer.Typer(
    help="Messages a consumer gave up on: list, show, replay once the cause is fixed, discard.",
    no_args_is_help=True,
)

NatsUrl = Annotated[
    str, typer.Option(envvar="NATS_URL", help="The NATS server whose DEADLETTER stream to use")
]
DEFAULT_NATS_URL = f"nats://127.0.0.1:{DEFAULT_NATS_PORT}"
ConsumerOption = Annotated[
    str | None,
    typer.Option("--consumer", help="Only this consumer's, e.g. training-candidate-registered"),
]
ReasonOption = Annotated[
    str | None, typer.Option("--reason", help="Only those whose reason contains this text")
]
SinceOption = Annotated[
    str | None,
    typer.Option(
        "--since", help="Only those dead-lettered at or after this ISO time (UTC unless it says)"
    ),
]
UntilOption = Annotated[
    str | None, typer.Option("--until", help="Only those dead-lettered before this ISO time")
]
Sequences = Annotated[
    list[int] | None,
    typer.Argument(help="Dead letters by sequence (the first column of `list`)", min=1),
]
AllOption = Annotated[bool, typer.Option("--all", help="Every dead letter")]
YesOption = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation")]
DataDir = Annotated[
    Path,
    typer.Option(
        help="The data folder of `jembatan up`: NATS is used as its user ops (unless --nats-url"
        f" carries credentials); the action log is {ACTION_LOG} in it"
    ),
]


@deadletter_app.command("list")
def list_dead_letters(
    consumer: ConsumerOption = None,
    reason: ReasonOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    nats_url: NatsUrl = DEFAULT_NATS_URL,
    data_dir: DataDir = Path("var"),
) -> None:
    """One line each: sequence, time, consumer, original subject, event, reason; then counts."""
    selection = _selection(consumer, reason, since, until)
    url = operator_nats_url(nats_url, data_dir)
    letters = _run(url, lambda js: read_dead_letters(js, selection))
    if not letters:
        if selection.filters:
            _fail(f"No dead letters match ({selection.describe()}).")
        typer.echo("No dead letters.")
        return
    typer.echo(
        f"{'SEQ':>7}  {'DEAD-LETTERED':<20}  {'CONSUMER':<34}  ORIGINAL SUBJECT  EVENT  REASON"
    )
    for letter in letters:
        typer.echo(render_line(letter))
    typer.echo("")
    for line in render_counts(letters):
        typer.echo(line)


@deadletter_app.command()
def show(
    sequence: Annotated[int, typer.Argument(help="The dead letter's sequence", min=1)],
    nats_url: NatsUrl = DEFAULT_NATS_URL,
    data_dir: DataDir = Path("var"),
) -> None:
    """Every header of one dead letter, and its body as the event it is."""

    async def read(js: JetStreamContext) -> tuple[DeadLetter, bytes | DeadLetterError]:
        letter = await dead_letter(js, sequence)
        try:
            return letter, await body_of(js, letter)
        except DeadLetterError as exc:
            return letter, exc

    letter, body = _run(operator_nats_url(nats_url, data_dir), read)
    typer.echo(f"dead letter {letter.sequence}, stored {_iso(letter.stored_at)}")
    typer.echo("headers:")
    for name, value in letter.headers.items():
        typer.echo(f"  {name}: {value}")
    if isinstance(body, DeadLetterError):
        _fail(f"body: {body}")
    kept = f", kept in the object store {DEAD_LETTER_BODIES}" if letter.body_object else ""
    typer.echo(f"body ({len(body)} bytes{kept}):")
    for line in render_body(body):
        typer.echo(f"  {line}")
    typer.echo(
        f"\nOnce the cause is fixed: jembatan deadletter replay {sequence}; or: "
        f"jembatan deadletter discard {sequence} --because '...'"
    )


@deadletter_app.command("replay")
def replay_dead_letters(
    sequences: Sequences = None,
    consumer: ConsumerOption = None,
    reason: ReasonOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    every: AllOption = False,
    yes: YesOption = False,
    because: Annotated[
        str, typer.Option("--because", help="Why (kept in the action log), e.g. the fix")
    ] = "",
    nats_url: NatsUrl = DEFAULT_NATS_URL,
    publish_nats_url: Annotated[
        str | None,
        typer.Option(
            help="Where to republish, when the original's stream is on another server than "
            "DEADLETTER (a province's event dead-lettered at the hub); default: --nats-url"
        ),
    ] = None,
    data_dir: DataDir = Path("var"),
) -> None:
    """Once the cause is fixed: republish each for its consumer, then remove the dead letter.

    Only the consumer that gave up handles the copy, and its inbox decides: an event it has
    handled since has no second effect."""
    if publish_nats_url is not None and publish_nats_url != nats_url:
        publish_nats_url = operator_nats_url(publish_nats_url, data_dir)
    else:
        publish_nats_url = None
    nats_url = operator_nats_url(nats_url, data_dir)
    letters = _chosen(nats_url, sequences, _selection(consumer, reason, since, until), every)
    _confirm(letters, "Replay", yes)
    action = Action("replay", because)

    async def act(js: JetStreamContext) -> None:
        if publish_nats_url is None:
            await replay_each(js, js)
            return
        publisher = await connect(publish_nats_url, timeout_s=3.0)
        try:
            await replay_each(js, publisher.jetstream(timeout=10))
        finally:
            await publisher.close()

    async def replay_each(js: JetStreamContext, publish_to: JetStreamContext) -> None:
        for letter in letters:
            try:
                to = await replay(js, letter, publish_to)
            except (DeadLetterError, NatsError, APIError) as exc:
                action.failed[letter.sequence] = str(exc)
                typer.secho(f"not replayed {letter.sequence}: {exc}", fg="red", err=True)
                continue
            action.republished[letter.sequence] = to
            again = " (already republished by an earlier replay)" if to.duplicate else ""
            typer.echo(
                f"replayed {letter.sequence} for {letter.consumer}: {letter.original_subject} "
                f"is {to.stream} #{to.sequence}{again}; dead letter removed"
            )
            action.removed(letter, to.body_left_over)

    _act_and_log(nats_url, act, action, data_dir)


@deadletter_app.command("discard")
def discard_dead_letters(
    because: Annotated[
        str, typer.Option("--because", help="Why they are thrown away (kept in the action log)")
    ],
    sequences: Sequences = None,
    consumer: ConsumerOption = None,
    reason: ReasonOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    every: AllOption = False,
    yes: YesOption = False,
    nats_url: NatsUrl = DEFAULT_NATS_URL,
    data_dir: DataDir = Path("var"),
) -> None:
    """Remove dead letters for good (and their stored bodies), with the reason why."""
    if not because.strip():
        raise typer.BadParameter("say why they are discarded", param_hint="--because")
    nats_url = operator_nats_url(nats_url, data_dir)
    letters = _chosen(nats_url, sequences, _selection(consumer, reason, since, until), every)
    _confirm(letters, "Discard", yes)
    action = Action("discard", because)

    async def act(js: JetStreamContext) -> None:
        for letter in letters:
            try:
                left_over = await remove(js, letter)
            except (NatsError, APIError) as exc:
                action.failed[letter.sequence] = str(exc)
                typer.secho(f"not discarded {letter.sequence}: {exc}", fg="red", err=True)
                continue
            typer.echo(
                f"discarded {letter.sequence} ({letter.consumer}, "
                f"{letter.event_id or 'no event id'})"
            )
            action.removed(letter, left_over)

    _act_and_log(nats_url, act, action, data_dir)


def _selection(
    consumer: str | None, reason: str | None, since: str | None, until: str | None
) -> Selection:
    if consumer is not None and (not consumer or any(c in consumer for c in ". *>")):
        raise typer.BadParameter(
            f"{consumer!r} is not a consumer's name, e.g. training-candidate-registered "
            "(the names are in `jembatan deadletter list`)",
            param_hint="--consumer",
        )
    return Selection(consumer, reason, _time(since, "--since"), _time(until, "--until"))


def _time(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(
            f"{value!r} is not an ISO time, e.g. 2026-12-05 or 2026-12-05T08:30+07:00",
            param_hint=option,
        ) from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _chosen(
    nats_url: str, sequences: list[int] | None, selection: Selection, every: bool
) -> list[DeadLetter]:
    """The dead letters a replay or discard names: by sequence, by filters, or all. Each named
    sequence must exist, or nothing is done."""
    ways = sum((bool(sequences), selection.filters, every))
    if ways != 1:
        raise typer.BadParameter(
            "name the dead letters one way: sequences (from `jembatan deadletter list`), "
            "filters (--consumer, --reason, --since, --until), or --all",
            param_hint="SEQUENCES",
        )

    async def find(js: JetStreamContext) -> list[DeadLetter]:
        if sequences:
            return [await dead_letter(js, sequence) for sequence in dict.fromkeys(sequences)]
        return await read_dead_letters(js, selection)

    letters = _run(nats_url, find)
    if not letters:
        _fail(
            "No dead letters."
            if every
            else f"No dead letters match ({selection.describe()}); `jembatan deadletter list`."
        )
    return letters


def _confirm(letters: list[DeadLetter], verb: str, yes: bool) -> None:
    for letter in letters:
        typer.echo(render_line(letter))
    counts = Counter(letter.consumer for letter in letters)
    summary = ", ".join(f"{count} of {consumer}" for consumer, count in sorted(counts.items()))
    if not yes:
        typer.confirm(f"{verb} these {len(letters)} dead letter(s) ({summary})?", abort=True)


def _act_and_log(
    nats_url: str,
    act: Callable[[JetStreamContext], Coroutine[Any, Any, None]],
    action: Action,
    data_dir: Path,
) -> None:
    """Do it, then log what was done, even when NATS stopped answering half-way."""
    try:
        _run(nats_url, act)
    finally:
        if action.done or action.failed:
            log = data_dir / ACTION_LOG
            line = append_to_log(log, action)
            typer.echo(f"logged in {log}: {line}")
    if action.failed:
        total = len(action.failed) + len(action.done)
        _fail(f"{len(action.failed)} of {total} not done; see above")


def _run(nats_url: str, work: Callable[[JetStreamContext], Coroutine[Any, Any, T]]) -> T:
    """Connect, do the work, close; any failure becomes a message and exit status 1."""

    async def connected() -> T:
        client: NatsClient = await connect(nats_url, timeout_s=3.0)
        try:
            return await work(client.jetstream(timeout=10))
        finally:
            await client.close()

    try:
        return asyncio.run(connected())
    except BusRefused as exc:
        _fail(str(exc))
    except BusUnreachable as exc:
        _fail(f"{exc}; is the system running (`jembatan up`), or give --nats-url")
    except DeadLetterError as exc:
        _fail(str(exc))
    except (NatsError, APIError, TimeoutError) as exc:
        _fail(
            f"NATS at {without_credentials(nats_url)} failed to answer: {exc or type(exc).__name__}"
        )


def _fail(message: str) -> NoReturn:
    typer.secho(message, fg="red", err=True)
    raise typer.Exit(1)
