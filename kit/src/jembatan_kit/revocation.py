"""Revoked tokens and users: refused by every service, of every agency, within seconds.

An operator revokes one token (by its id, the `jti`) or a user (every token of theirs issued up
to that moment) with `jembatan revoke`. A revocation is a key of the NATS KeyValue bucket
JEMBATAN_REVOCATIONS, on Kemnaker's hub in the federated deployment:

    token.<agency>.<token id>                 the token with that `jti`, of that agency
    user.<agency>.<login, base64url>          every token of that user of that agency whose
                                              `iat` is at or before `revoked_at`

with the value `{"revoked_at": <ISO UTC>, "by": <operator>, "reason": <text>}`. Deleting or
purging the key (`jembatan unrevoke`) lifts it. The bucket is a JetStream stream on disk: it
outlives the services and the servers.

Every service keeps the list in memory (`RevocationList`) and checks each authenticated request
against it (`refuse_if_revoked`), with no I/O. It follows the bucket by reading it: every
REVOCATIONS_POLL_S (a second) it asks for what was written after the last entry it has seen (a
JetStream batch direct get, by stream sequence), and every REVOCATIONS_RELOAD_S it reads the
whole bucket again. A restarted service reads the whole bucket before it serves.

Reads, not a consumer: a push consumer delivers to whatever subject its creator names, in the
account of the stream. A province allowed to create consumers on the hub's bucket (as a watch
or a mirror must) could make Kemnaker's JetStream publish copies of its own keys on any subject
of Kemnaker's account, its event subjects included. A direct get answers only the one who asked.
So a service's NATS user may read the bucket and nothing else: no consumer, no write.

Before a service knows the list it cannot tell a revoked token from a good one, so it refuses
every authenticated request with 503 and Retry-After (fail closed) and `/health` says why. Once
it has read the list it keeps it through an outage of NATS (or of a province's link to the hub),
refusing what it knew to be revoked, and `/health` says since when it is not updated.

It also keeps it across its own restarts (`SnapshotFile`, REVOCATIONS_SNAPSHOT_FILE): after each
read that changed the list, and at least every REVOCATIONS_RELOAD_S, it writes the list, the
stream sequence it has read up to and when it read it to a file. A service restarted while the
bucket does not answer serves with that snapshot, reported stale with its age, if it is younger
than REVOCATIONS_SNAPSHOT_MAX_AGE_H (never more than AUTH_MAX_TOKEN_HOURS: a list older than the
longest token's life refuses no token still valid, so it would only open the door). A snapshot
only adds refusals to the nothing a service knows at start, so it is as strong as the list a
service that did not restart keeps through the same outage. The first read once the bucket
answers is a whole one, which replaces the snapshot's list; with NATS up at start, the service
waits for it before it serves (`wait_read`).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import nats.errors
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

from .errors import RuleViolation
from .faults import InfrastructureUnavailable, RepeatedFailureLog, describe

if TYPE_CHECKING:
    from fastapi import FastAPI

    from .auth import Caller

log = logging.getLogger(__name__)

BUCKET = "JEMBATAN_REVOCATIONS"
STREAM = f"KV_{BUCKET}"
"""The stream behind the bucket, as NATS names a KeyValue bucket's stream."""
KEY_SUBJECT_PREFIX = f"$KV.{BUCKET}."
BATCH = 256
"""Entries a batch direct get asks for at once."""
READ_TIMEOUT_S = 5.0
OPERATION_HEADER = "KV-Operation"
MARKER_HEADER = "Nats-Marker-Reason"
"""A server's own delete marker (a key's TTL or age ran out), nats-server 2.11 on."""
STATUS_HEADER = "Status"
NO_MESSAGE = "404"
END_OF_BATCH = "204"
_KEY_SAFE = re.compile(r"[A-Za-z0-9_-]{1,200}")


class Kind(StrEnum):
    TOKEN = "token"
    USER = "user"


def token_key(agency: str, token_id: str) -> str:
    """The key revoking the token `token_id` of `agency`: the id as it is when it is a key's
    token already (a UUID, base64url), else `=` and its base64url (never the start of the
    former)."""
    encoded = token_id if _KEY_SAFE.fullmatch(token_id) else "=" + _b64(token_id)
    return f"{Kind.TOKEN}.{agency}.{encoded}"


def user_key(agency: str, user: str) -> str:
    """The key revoking the tokens of `user` of `agency`; a login may hold any character."""
    return f"{Kind.USER}.{agency}.{_b64(user)}"


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()


def _unb64(encoded: str) -> str:
    return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()


def api_prefix(domain: str | None) -> str:
    """The JetStream API of `domain` (None: of the server the client is connected to)."""
    return f"$JS.{domain}.API" if domain else "$JS.API"


def key_subject(key: str, domain: str | None = None) -> str:
    """Where a write of `key` is published: the bucket's subject on the client's own server, or
    through the JetStream domain that holds the bucket (a province writing at the hub)."""
    subject = KEY_SUBJECT_PREFIX + key
    return f"{api_prefix(domain)}.{subject}" if domain else subject


@dataclass(frozen=True)
class Revocation:
    """One key of the bucket: what is revoked, since when, by whom and why."""

    kind: Kind
    agency: str
    target: str
    """The token id, or the user's login."""
    revoked_at: datetime | None
    """None when the value does not say: the whole of a user's tokens is refused then."""
    by: str = ""
    reason: str = ""

    @property
    def key(self) -> str:
        if self.kind is Kind.TOKEN:
            return token_key(self.agency, self.target)
        return user_key(self.agency, self.target)

    def value(self) -> bytes:
        """The key's value in the bucket, revoked now when no time is given."""
        return json.dumps(
            self.fields(self.revoked_at or datetime.now(UTC)), ensure_ascii=False
        ).encode()

    def fields(self, revoked_at: datetime | None = None) -> dict[str, str | None]:
        """The value's fields (`revoked_at` as given, by default the revocation's own, which
        may be unknown: None)."""
        moment = revoked_at or self.revoked_at
        return {
            "revoked_at": moment.astimezone(UTC).isoformat(timespec="seconds") if moment else None,
            "by": self.by,
            "reason": self.reason,
        }

    def covers(self, issued_at: float | None) -> bool:
        """Whether a token of the target issued at `issued_at` (its `iat`) is revoked."""
        if self.kind is Kind.TOKEN or self.revoked_at is None or issued_at is None:
            return True
        return issued_at <= self.revoked_at.timestamp()

    def describe(self) -> str:
        when = _iso(self.revoked_at) if self.revoked_at else "an unknown time"
        if self.kind is Kind.TOKEN:
            return f"token {self.target} of {self.agency}, revoked at {when}"
        return f"every token of {self.target} of {self.agency} issued up to {when}"

    @classmethod
    def from_entry(cls, key: str, value: bytes) -> Revocation | None:
        """The revocation a key and its value say, or None for a key that revokes nothing (not
        one of ours). A value that cannot be read still revokes: a user's key then revokes every
        token of theirs, whenever issued."""
        kind_name, _, rest = key.partition(".")
        agency, _, encoded = rest.partition(".")
        try:
            kind = Kind(kind_name)
            if not agency or not encoded:
                return None
            if kind is Kind.USER:
                target = _unb64(encoded)
            else:
                target = _unb64(encoded[1:]) if encoded.startswith("=") else encoded
        except (ValueError, binascii.Error):
            return None
        fields = _fields(value)
        revoked_at = _time(fields.get("revoked_at"))
        if revoked_at is None:
            log.warning("revocation %s has no readable revoked_at; it revokes every token", key)
        return cls(
            kind,
            agency,
            target,
            revoked_at,
            by=str(fields.get("by") or ""),
            reason=str(fields.get("reason") or ""),
        )


def _fields(value: bytes) -> dict[str, Any]:
    try:
        fields = json.loads(value)
    except ValueError:
        return {}
    return fields if isinstance(fields, dict) else {}


def _time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _age(span: timedelta) -> str:
    """A span for people: `40 s`, `25 min`, `13 h 5 min`."""
    seconds = max(0, round(span.total_seconds()))
    if seconds < 120:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 120:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


# --- the bucket ------------------------------------------------------------------------------


def bucket_config(replicas: int = 1) -> StreamConfig:
    """The bucket's stream, as NATS makes a KeyValue bucket: one value a key, rollups for purges,
    direct gets from any replica; on disk, with a copy on each of `replicas` servers."""
    return StreamConfig(
        name=STREAM,
        description="Revoked tokens and users (jembatan revoke): every service refuses them",
        subjects=[f"{KEY_SUBJECT_PREFIX}>"],
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        discard=DiscardPolicy.NEW,
        num_replicas=replicas,
        max_msgs_per_subject=1,
        max_msgs=-1,
        max_consumers=-1,
        allow_rollup_hdrs=True,
        allow_direct=True,
        deny_delete=True,
        duplicate_window=120,
    )


async def ensure_bucket(js: JetStreamContext, replicas: int = 1) -> None:
    """Create the bucket unless it exists (an existing one is left as it is)."""
    try:
        await js.stream_info(STREAM)
    except NotFoundError:
        await js.add_stream(bucket_config(replicas))


class BucketMissing(Exception):
    """The JetStream that should hold the bucket answers, and has no such stream."""


class RevocationsUnreachable(InfrastructureUnavailable):
    """The bucket does not answer as it should: NATS, or the hub across a province's leaf
    connection, is not reachable."""


@dataclass(frozen=True)
class Change:
    """One entry read from the bucket, in stream order: a key set, or lifted (`revocation`
    None: deleted or purged)."""

    sequence: int
    key: str
    revocation: Revocation | None


async def read_changes(
    client: NatsClient, after: int = 0, domain: str | None = None
) -> tuple[list[Change], int]:
    """Every entry written to the bucket after stream sequence `after`, oldest first, and the
    sequence of the last one (`after` when there is none). With `after` 0, the whole bucket:
    it keeps one entry a key, so that is the list itself.

    Raises `BucketMissing` when the bucket does not exist, `RevocationsUnreachable` when nothing
    answers."""
    subject = f"{api_prefix(domain)}.DIRECT.GET.{STREAM}"
    changes: list[Change] = []
    last = after
    while True:
        request = {"seq": last + 1, "next_by_subj": f"{KEY_SUBJECT_PREFIX}>", "batch": BATCH}
        messages, status, pending = await _batch(client, subject, request)
        if status not in (NO_MESSAGE, END_OF_BATCH):
            await _missing_or_unreachable(client, domain, status)
        for message in messages:
            headers = message.headers or {}
            sequence = int(headers.get("Nats-Sequence", last))
            key = headers.get("Nats-Subject", "").removeprefix(KEY_SUBJECT_PREFIX)
            lifted = headers.get(OPERATION_HEADER) in ("DEL", "PURGE") or MARKER_HEADER in headers
            revocation = None if lifted else Revocation.from_entry(key, message.data)
            changes.append(Change(sequence, key, revocation))
            last = max(last, sequence)
        if status == NO_MESSAGE or not pending:
            return changes, last


async def read_list(
    client: NatsClient, domain: str | None = None
) -> tuple[dict[str, Revocation], int]:
    """The whole list as the bucket holds it now, by key, and the last stream sequence read."""
    changes, last = await read_changes(client, 0, domain)
    entries: dict[str, Revocation] = {}
    _fold(entries, changes)
    return entries, last


def _fold(entries: dict[str, Revocation], changes: Iterable[Change]) -> None:
    for change in changes:
        if change.revocation is None:
            entries.pop(change.key, None)
        else:
            entries[change.key] = change.revocation


async def _batch(
    client: NatsClient, subject: str, request: dict[str, object]
) -> tuple[list[Msg], str | None, int]:
    """Send a batch direct get; the messages it answers with, the status that ended them (None:
    no answer in time) and how many more the server holds past the batch."""
    inbox = client.new_inbox()
    subscription = await client.subscribe(inbox)
    messages: list[Msg] = []
    try:
        await client.publish(subject, json.dumps(request).encode(), reply=inbox)
        while True:
            try:
                message = await subscription.next_msg(timeout=READ_TIMEOUT_S)
            except nats.errors.TimeoutError:
                return messages, None, 0
            headers = message.headers or {}
            status = headers.get(STATUS_HEADER)
            if status is None:
                messages.append(message)
                continue
            pending = int(headers.get("Nats-Num-Pending", 0) or 0)
            return messages, status, pending if status == END_OF_BATCH else 0
    finally:
        await subscription.unsubscribe()


async def _missing_or_unreachable(
    client: NatsClient, domain: str | None, status: str | None
) -> NoReturn:
    """The direct get did not answer with entries: the bucket's stream does not exist (its
    JetStream says so), or NATS does not answer, or answers what this cannot read."""
    try:
        await client.jetstream(domain=domain, timeout=READ_TIMEOUT_S).stream_info(STREAM)
    except NotFoundError:
        raise BucketMissing(f"{STREAM} does not exist") from None
    except (nats.errors.Error, TimeoutError) as exc:
        raise RevocationsUnreachable(f"the revocation bucket does not answer ({exc!r})") from exc
    answer = "no answer in time" if status is None else f"status {status}"
    raise RevocationsUnreachable(f"the revocation bucket exists but its read gave {answer}")


# --- what a service holds ----------------------------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    """The list as a service read it: its entries by key, the stream sequence read up to, and
    when the bucket answered with it."""

    entries: dict[str, Revocation]
    sequence: int
    read_at: datetime


class SnapshotUnusable(Exception):
    """The snapshot file exists but is not to be trusted: unreadable, too old, or written after
    now by this machine's clock."""


SNAPSHOT_FORMAT = 1
CLOCK_SLACK = timedelta(minutes=1)
"""How far in the future a snapshot's `read_at` may be before the clock is not believed."""


@dataclass(frozen=True)
class SnapshotFile:
    """Where a service keeps the list it read (REVOCATIONS_SNAPSHOT_FILE), so that once
    restarted it can serve with it before the bucket answers; trusted up to `max_age`."""

    path: Path
    max_age: timedelta

    def load(self, now: datetime | None = None) -> Snapshot | None:
        """The snapshot kept here; None when there is none. Raises `SnapshotUnusable`, saying
        why, for one that cannot be read or must not be trusted."""
        try:
            text = self.path.read_text()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise SnapshotUnusable(f"{self.path} cannot be read ({exc.strerror})") from exc
        try:
            content = json.loads(text)
            if content.get("format") != SNAPSHOT_FORMAT:
                raise ValueError(f"format {content.get('format')!r}, not {SNAPSHOT_FORMAT}")
            read_at = _time(content["read_at"])
            if read_at is None:
                raise ValueError("no readable read_at")
            sequence = int(content["sequence"])
            entries: dict[str, Revocation] = {}
            for key, fields in content["revocations"].items():
                if (revocation := Revocation.from_entry(key, json.dumps(fields).encode())) is None:
                    raise ValueError(f"{key!r} is not a revocation's key")
                entries[key] = revocation
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise SnapshotUnusable(f"{self.path} is not a revocation snapshot ({exc})") from exc
        age = (now or datetime.now(UTC)) - read_at
        if age > self.max_age:
            raise SnapshotUnusable(
                f"{self.path} holds the list as read at {_iso(read_at)}, {_age(age)} ago: older"
                f" than the {_age(self.max_age)} a snapshot is trusted"
                " (REVOCATIONS_SNAPSHOT_MAX_AGE_H)"
            )
        if age < -CLOCK_SLACK:
            raise SnapshotUnusable(
                f"{self.path} says it was read at {_iso(read_at)}, after now: this machine's"
                " clock was set back, so its age is unknown"
            )
        return Snapshot(entries, sequence, read_at)

    def save(self, snapshot: Snapshot) -> None:
        """Write `snapshot` beside, then over, the file, readable by its owner only (it names
        users): a crash leaves the old list or the new one, never half of one."""
        text = json.dumps(
            {
                "format": SNAPSHOT_FORMAT,
                "bucket": BUCKET,
                "read_at": snapshot.read_at.astimezone(UTC).isoformat(),
                "sequence": snapshot.sequence,
                "revocations": {
                    key: revocation.fields() for key, revocation in snapshot.entries.items()
                },
            },
            ensure_ascii=False,
            indent=1,
        )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # A name of its own (mkstemp, mode 0600): replicas sharing the file write side by side.
        fd, partial = tempfile.mkstemp(
            dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".partial"
        )
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(partial, self.path)
        except BaseException:
            Path(partial).unlink(missing_ok=True)
            raise


@dataclass
class RevocationList:
    """The revocations a service knows, kept up to date by `follow`, and across restarts in
    `snapshot` when it has one."""

    entries: dict[str, Revocation] = field(default_factory=dict)
    sequence: int = 0
    """The stream sequence of the last entry read."""
    read_at: datetime | None = None
    """When the bucket last answered: the list is as the bucket was then."""
    problem: str | None = None
    """Why the last read failed, while it fails."""
    bucket_exists: bool = True
    snapshot: SnapshotFile | None = None
    """Where the list is kept across restarts (None: it is not)."""
    restored: bool = False
    """Whether the list is the snapshot's, read before this service started and not since."""
    snapshot_problem: str | None = None
    """Why the snapshot was not used at start, or cannot be written now."""
    _known: asyncio.Event = field(default_factory=asyncio.Event, init=False, repr=False)
    _read_once: asyncio.Event = field(default_factory=asyncio.Event, init=False, repr=False)

    @property
    def loaded(self) -> bool:
        """Whether the list is known, read from the bucket or the snapshot (until then every
        caller is refused)."""
        return self._known.is_set()

    @property
    def read_once(self) -> bool:
        """Whether the bucket has answered since this service started."""
        return self._read_once.is_set()

    async def wait_read(self) -> None:
        """Until the bucket has answered once (a snapshot does not count)."""
        await self._read_once.wait()

    def age(self, now: datetime | None = None) -> timedelta | None:
        """How long ago the list was read (None: it never was)."""
        return (now or datetime.now(UTC)) - self.read_at if self.read_at else None

    def refusal(self, caller: Caller) -> Revocation | None:
        """The revocation that refuses `caller`'s token, if any."""
        if caller.token_id is not None and (
            revoked := self.entries.get(token_key(caller.agency, caller.token_id))
        ):
            return revoked
        revoked = self.entries.get(user_key(caller.agency, caller.user))
        if revoked is not None and revoked.covers(caller.issued_at):
            return revoked
        return None

    def restore(self) -> None:
        """Take up the list kept in the snapshot file, when there is one to trust, as the list
        until the bucket answers. One that is not trusted is left aside, saying why."""
        if self.snapshot is None or self.loaded:
            return
        try:
            kept = self.snapshot.load()
        except SnapshotUnusable as exc:
            self.snapshot_problem = f"not used: {exc}"
            log.warning("revocation snapshot not used: %s", exc)
            return
        if kept is None:
            return
        self.entries, self.sequence, self.read_at = dict(kept.entries), kept.sequence, kept.read_at
        self.restored = True
        self._known.set()
        log.info(
            "%d revocations taken up from %s, as read at %s (%s ago); the bucket is read as soon"
            " as it answers",
            len(self.entries),
            self.snapshot.path,
            _iso(kept.read_at),
            _age(datetime.now(UTC) - kept.read_at),
        )

    def replace(self, entries: dict[str, Revocation], sequence: int) -> None:
        self.entries = entries
        self.sequence = sequence
        self._answered()

    def apply(self, changes: list[Change], sequence: int) -> None:
        _fold(self.entries, changes)
        self.sequence = sequence
        self._answered()

    def _answered(self) -> None:
        self.read_at = datetime.now(UTC)
        self.problem = None
        self.bucket_exists = True
        self.restored = False
        self._known.set()
        self._read_once.set()

    def missing(self) -> None:
        """The bucket does not exist: nothing was ever revoked here, unless an operator deleted
        it, in which case what was read before is kept (refusing too much, never too little)."""
        self._answered()
        self.bucket_exists = False
        self.sequence = 0
        self.problem = (
            f"{STREAM} does not exist any more; the {len(self.entries)} revocations read before"
            " are kept"
            if self.entries
            else None
        )

    def as_snapshot(self) -> Snapshot | None:
        """The list as the snapshot file should hold it now (None: never read)."""
        if self.read_at is None:
            return None
        return Snapshot(dict(self.entries), self.sequence, self.read_at)

    async def follow(
        self,
        client: NatsClient,
        domain: str | None = None,
        poll_s: float = 1.0,
        reload_s: float = 60.0,
    ) -> None:
        """Read the whole list, then every `poll_s` what was written since, and the whole list
        again every `reload_s`; forever, riding out NATS outages (the list read last stays).

        The snapshot is written after a read that changed the list, and after a read at least
        `reload_s` after the last write, so the time it says the list was read lags at most
        about that much (its age is overstated, never understated). It is written beside the
        reads, one write at a time: a slow disk delays the file, never a revocation."""
        failures = RepeatedFailureLog(log, "reading the revocation list")
        loop = asyncio.get_running_loop()
        reload_at = loop.time()
        writer = _SnapshotWriter(self, loop.time() + reload_s)
        try:
            while True:
                first = not self.read_once
                read = True
                try:
                    if loop.time() >= reload_at or first or not self.bucket_exists:
                        entries, sequence = await read_list(client, domain)
                        changed = first or (entries, sequence) != (self.entries, self.sequence)
                        self.replace(entries, sequence)
                        reload_at = loop.time() + reload_s
                    else:
                        changes, sequence = await read_changes(client, self.sequence, domain)
                        self.apply(changes, sequence)
                        changed = bool(changes)
                    failures.succeeded()
                except BucketMissing:
                    changed = first or self.bucket_exists
                    self.missing()
                    failures.succeeded()
                except Exception as exc:
                    self.problem = describe(exc)
                    failures.failed(exc)
                    read = changed = False
                writer.after_read(changed, read, loop.time(), reload_s)
                await asyncio.sleep(poll_s)
        finally:
            writer.stop()

    def status(self) -> dict[str, Any]:
        age = self.age()
        source = ("snapshot" if self.restored else "bucket") if self.loaded else None
        return {
            "loaded": self.loaded,
            "source": source,
            "revoked": len(self.entries),
            "read_at": _iso(self.read_at) if self.read_at else None,
            "age_s": round(age.total_seconds()) if age is not None else None,
            "problem": self.problem,
            "snapshot": str(self.snapshot.path) if self.snapshot else None,
            "snapshot_problem": self.snapshot_problem,
        }

    def health_reason(self) -> str | None:
        """What `/health` says while the list is not known, not current or not kept; None when
        all is well."""
        if not self.loaded:
            if self.snapshot is None:
                snapshot = "none kept (REVOCATIONS_SNAPSHOT_FILE unset)"
            else:
                snapshot = self.snapshot_problem or f"no snapshot in {self.snapshot.path} yet"
            return (
                "revocations: not read yet, so every authenticated request is refused (503):"
                f" {self.problem or 'reading'}; snapshot: {snapshot}"
            )
        since = _iso(self.read_at) if self.read_at else "start"
        age = self.age()
        ago = f" ({_age(age)} ago)" if age is not None else ""
        if self.restored:
            where = self.snapshot.path if self.snapshot else "a snapshot"
            return (
                f"revocations: as read at {since}{ago} before this service started, kept in"
                f" {where}; not updated since: {self.problem or 'reading'}"
            )
        if self.problem is not None:
            return f"revocations: as read at {since}{ago}, not updated since: {self.problem}"
        if self.snapshot_problem is not None:
            return (
                "revocations: not kept for a restart (one while NATS is down would refuse every"
                f" caller): {self.snapshot_problem}"
            )
        return None


class _SnapshotWriter:
    """Writes a list's snapshot in the background, one write at a time, when one is due."""

    def __init__(self, revocations: RevocationList, next_due_at: float) -> None:
        self._revocations = revocations
        self._due = False
        self._due_at = next_due_at
        self._writing: asyncio.Task[None] | None = None
        self._failures = RepeatedFailureLog(log, "writing the revocation snapshot")

    def after_read(self, changed: bool, read: bool, now: float, every_s: float) -> None:
        """Note a read (`changed` the list, or `read` it at all), and start a write when one is
        due and none is under way."""
        self._collect(now, every_s)
        self._due = self._due or changed or (read and now >= self._due_at)
        snapshot_file, kept = self._revocations.snapshot, self._revocations.as_snapshot()
        if self._due and self._writing is None and snapshot_file and kept:
            self._due = False
            self._writing = asyncio.create_task(
                asyncio.to_thread(snapshot_file.save, kept), name="revocation-snapshot"
            )

    def _collect(self, now: float, every_s: float) -> None:
        """Take the outcome of the write under way once it has ended."""
        if self._writing is None or not self._writing.done():
            return
        writing, self._writing = self._writing, None
        revocations = self._revocations
        error = writing.exception() if not writing.cancelled() else None
        if error is None:
            self._due_at = now + every_s
            revocations.snapshot_problem = None
            self._failures.succeeded()
            return
        self._due = True  # again at the next read
        where = revocations.snapshot.path if revocations.snapshot else "the snapshot"
        reason = error.strerror if isinstance(error, OSError) and error.strerror else repr(error)
        revocations.snapshot_problem = f"{where} cannot be written ({reason})"
        self._failures.failed(error)

    def stop(self) -> None:
        if self._writing is not None:
            self._writing.cancel()  # the thread finishes its write; nothing waits for it


class RevocationsNotLoaded(RuleViolation):
    def __init__(self, revocations: RevocationList) -> None:
        super().__init__(
            "revocations_not_loaded",
            "this service has not read the list of revoked tokens yet, so it cannot tell whether"
            " this token was revoked; nothing was done. Try again in a few seconds",
            {"reason": revocations.problem or "reading"},
            status_code=503,
        )


class TokenRevoked(RuleViolation):
    def __init__(self, revocation: Revocation, caller: Caller) -> None:
        when = _iso(revocation.revoked_at) if revocation.revoked_at else "an unknown time"
        issue = f"`jembatan token --user {caller.user} --agency {caller.agency}`"
        if revocation.kind is Kind.TOKEN:
            message = (
                f"this token ({revocation.target}) was revoked at {when}, and every service"
                f" refuses it. Ask an administrator for a new token ({issue})"
            )
        else:
            message = (
                f"the tokens of {caller.user} of {caller.agency} issued up to {when} were revoked"
                " then, and every service refuses them. A token issued later is accepted: ask an"
                f" administrator for one once you may act again ({issue})"
            )
        super().__init__(
            "authentication",
            message,
            {"reason": "revoked", "revoked": str(revocation.kind), "revoked_at": when},
            status_code=401,
        )


def refuse_if_revoked(app: FastAPI, caller: Caller) -> None:
    """Refuse `caller` (401) when their token or their user is revoked, and everyone (503) while
    the service has not read the list yet. An app without a service runtime has no list."""
    revocations: RevocationList | None = getattr(
        getattr(app.state, "runtime", None), "revocations", None
    )
    if revocations is None:
        return
    if not revocations.loaded:
        raise RevocationsNotLoaded(revocations)
    if (revocation := revocations.refusal(caller)) is not None:
        raise TokenRevoked(revocation, caller)


# --- an operator's writes ----------------------------------------------------------------------


async def write(client: NatsClient, revocation: Revocation, domain: str | None = None) -> int:
    """Store `revocation` in the bucket; its stream sequence."""
    ack = await client.jetstream(domain=domain, timeout=READ_TIMEOUT_S).publish(
        key_subject(revocation.key, domain), revocation.value()
    )
    return ack.seq


async def lift(client: NatsClient, key: str, domain: str | None = None) -> int:
    """Purge `key` from the bucket (its value is not kept); the purge marker's sequence."""
    ack = await client.jetstream(domain=domain, timeout=READ_TIMEOUT_S).publish(
        key_subject(key, domain), b"", headers={OPERATION_HEADER: "PURGE", "Nats-Rollup": "sub"}
    )
    return ack.seq
