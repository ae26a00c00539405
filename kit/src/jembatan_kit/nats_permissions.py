"""What each service's NATS user may do, as data: the federated configs (deploy/nats/topology.py)
and the embedded default's server (`jembatan up`) are both rendered from it, so a service's
rights are written down once. The durable consumers they cover are the services' own, read from
their composition roots by the caller (jembatan_cli.consumers).

A service publishes its own events and dead letters, creates its own stream and DEADLETTER,
works its own durable pull consumers on the streams it reads, and reads the revocation bucket;
nothing else. Subjects are those of a single JetStream domain's API (`$JS.API...`), as a
service's client sees it, but for the revocation bucket, which a province's services read in the
hub's domain (`$JS.<domain>.API...`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from jembatan_contracts import DEAD_LETTER_BODIES, Event
from jembatan_contracts.envelope import SUBJECT_ROOT
from jembatan_contracts.identity import identity_requests

from .revocation import BUCKET, STREAM, api_prefix

READ_MODELS = ("dashboard",)
"""Services that publish no events and own no event stream: they only consume."""
INDEX = "identity"
"""The national identity index: publishes no events, owns no event stream; it answers the
registration services' requests (`jembatan_contracts.identity`), and nothing else may."""
REGISTRATION = "registration"
"""The one service that asks the index, each only under its own agency's subjects."""
DEAD_LETTER_STREAM = "DEADLETTER"
DEAD_LETTER_BODIES_STREAM = f"OBJ_{DEAD_LETTER_BODIES}"
"""The stream behind the object store that keeps dead letters' bodies too large to carry."""
INBOXES = ("_INBOX.>",)
"""Where a client's requests are answered: every user subscribes there, and only there."""


@dataclass(frozen=True)
class Consumes:
    """One durable consumer of a service: its name and the event it takes."""

    durable: str
    event: type[Event]

    @property
    def stream(self) -> str:
        return self.event.stream_name()


Consumers = Mapping[str, Sequence[Consumes]]
"""Each service's durable consumers, by service: every service of the system, as their
composition roots wire them. The kit imports no service, so whoever renders a server's users
reads them there and hands them in (jembatan_cli.consumers)."""


@dataclass(frozen=True)
class Permissions:
    """A NATS user's `permissions` block: what it may publish (less `publish_deny`), and
    subscribe to."""

    publish: tuple[str, ...]
    subscribe: tuple[str, ...] = INBOXES
    publish_deny: tuple[str, ...] = ()


def service_permissions(
    service: str,
    consumers: Consumers,
    events_of: str,
    revocations_domain: str | None = None,
) -> Permissions:
    """A service's rights: publish its own events under `jembatan.<events_of>.<service>.>` (a
    read model publishes none; `events_of` is the agency, or `*` for a server serving every
    agency), dead letters; create its own stream and DEADLETTER; its durable pull consumers
    (`consumers[service]`) on the streams it reads; read the revocation bucket (in
    `revocations_domain`, when that is not the service's own server's)."""
    publishes_none = service in (*READ_MODELS, INDEX)
    owned = (DEAD_LETTER_STREAM,) if publishes_none else (service.upper(), DEAD_LETTER_STREAM)
    consumed = consumers[service]
    streams = sorted(set(owned) | {c.stream for c in consumed})
    events = () if publishes_none else (f"{SUBJECT_ROOT}.{events_of}.{service}.>",)
    publish = [
        *events,
        "deadletter.>",
        "$JS.API.INFO",
        *(f"$JS.API.STREAM.INFO.{stream}" for stream in streams),
        *(f"$JS.API.STREAM.{verb}.{stream}" for stream in owned for verb in ("CREATE", "UPDATE")),
    ]
    publish += revocation_read_grants(revocations_domain)
    if consumed:
        publish += dead_letter_body_grants()
    for c in consumed:
        publish += [
            f"$JS.API.CONSUMER.CREATE.{c.stream}.{c.durable}",
            f"$JS.API.CONSUMER.CREATE.{c.stream}.{c.durable}.>",
            f"$JS.API.CONSUMER.DURABLE.CREATE.{c.stream}.{c.durable}",
            f"$JS.API.CONSUMER.INFO.{c.stream}.{c.durable}",
            f"$JS.API.CONSUMER.MSG.NEXT.{c.stream}.{c.durable}",
            f"$JS.ACK.{c.stream}.{c.durable}.>",
        ]
    deny: list[str] = []
    if service in READ_MODELS:
        publish += replay_grants(consumed)
        deny += others_consumers(service, consumers)
    subscribe: tuple[str, ...] = INBOXES
    if service == REGISTRATION:
        publish.append(identity_requests(events_of))
    if service == INDEX:
        # Its answers: to the asker's inbox on one server, or through the hub's service
        # import (`_R_.…`) to a province's.
        publish += ["_INBOX.>", "_R_.>"]
        subscribe = (*INBOXES, identity_requests("*"))
    return Permissions(tuple(publish), subscribe, tuple(deny))


def dead_letter_body_grants() -> list[str]:
    """What a consumer needs to keep a dead letter's large body in the object store: its stream
    (created if missing), the lookup of an object by name, its chunk and meta subjects, and the
    purge of an object's old or failed chunks."""
    stream = DEAD_LETTER_BODIES_STREAM
    return [
        *(f"$JS.API.STREAM.{verb}.{stream}" for verb in ("INFO", "CREATE", "PURGE", "MSG.GET")),
        f"$JS.API.DIRECT.GET.{stream}.>",
        f"$O.{DEAD_LETTER_BODIES}.>",
    ]


def revocation_read_grants(domain: str | None = None) -> list[str]:
    """Reading the revocation bucket, and nothing more: the batch direct gets a service follows
    it with, and its stream's info (which tells a bucket not created yet from NATS not
    answering). No consumer: a consumer's creator picks where it delivers."""
    api = api_prefix(domain)
    return [f"{api}.DIRECT.GET.{STREAM}", f"{api}.STREAM.INFO.{STREAM}"]


def revocation_write_grants(agency: str = "*", domain: str | None = None) -> list[str]:
    """Writing (revoking, lifting) the revocations of `agency` (`*`: of every agency), as an
    operator does: on the bucket's own server, or through the domain that holds it."""
    keys = f"$KV.{BUCKET}.*.{agency}.>"
    return [f"{api_prefix(domain)}.{keys}" if domain else keys]


def replay_grants(consumed: Sequence[Consumes]) -> list[str]:
    """A read model's rebuild reads each stream it consumes from the first message through a
    short-lived consumer with a generated name, unacknowledged, filtered to the whole stream."""
    return [
        grant
        for stream in sorted({c.stream for c in consumed})
        for grant in (
            f"$JS.API.CONSUMER.CREATE.{stream}.*.{SUBJECT_ROOT}.*.{stream.lower()}.>",
            f"$JS.API.CONSUMER.MSG.NEXT.{stream}.*",
        )
    ]


def others_consumers(service: str, consumers: Consumers) -> list[str]:
    """What `replay_grants` would otherwise allow on another service's durable consumer of the
    same streams, wherever it runs: pulling its messages, or redefining it."""
    streams = {c.stream for c in consumers[service]}
    return [
        subject
        for other, consumed in consumers.items()
        if other != service
        for c in consumed
        if c.stream in streams
        for subject in (
            f"$JS.API.CONSUMER.CREATE.{c.stream}.{c.durable}.>",
            f"$JS.API.CONSUMER.MSG.NEXT.{c.stream}.{c.durable}",
        )
    ]
