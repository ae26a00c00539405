"""The multi-agency NATS topology as data, and the nats-server configs rendered from it.

Kemnaker runs the hub; each province or district runs a leaf node with its own JetStream domain.
Every agency is one NATS account; every service connects as its own user, limited to its own
subjects. The hub's TRAINING stream sources, from each province's TRAINING stream across the leaf
link, only the events Kemnaker's services consume.

    uv run python deploy/nats/topology.py      # rewrite the configs after changing this file

Passwords are never in the configs: each is an environment variable named by `password_var`.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

from jembatan_contracts import (
    CandidatePlaced,
    CandidateReadyForPlacement,
    CandidateRegistered,
    CandidateWithdrawn,
    CertificatePassed,
    Departed,
    EarlyReturned,
    Event,
)
from jembatan_contracts.envelope import SUBJECT_ROOT

HERE = Path(__file__).resolve().parent

HUB_AGENCY = "kemnaker"
PROVINCES = ("kaltim", "boyolali", "kota-serang")
HUB_SERVICES = ("placement", "financing")
PROVINCE_SERVICES = ("registration", "training")
DEAD_LETTER_STREAM = "DEADLETTER"
DUPLICATE_WINDOW_NS = 15 * 60 * 1_000_000_000
LEAF_PORT = 7422


@dataclass(frozen=True)
class Consumes:
    durable: str
    event: type[Event]

    @property
    def stream(self) -> str:
        return self.event.subject_suffix.split(".")[0].upper()


CONSUMERS: dict[str, tuple[Consumes, ...]] = {
    "registration": (),
    "training": (
        Consumes("training-candidate-registered", CandidateRegistered),
        Consumes("training-candidate-withdrawn", CandidateWithdrawn),
    ),
    "placement": (
        Consumes("placement-candidate-ready", CandidateReadyForPlacement),
        Consumes("placement-certificate-passed", CertificatePassed),
    ),
    "financing": (
        Consumes("financing-candidate-placed", CandidatePlaced),
        Consumes("financing-departed", Departed),
        Consumes("financing-early-returned", EarlyReturned),
    ),
}


def account_of(agency: str) -> str:
    return agency.upper().replace("-", "_")


def password_var(agency: str, user: str) -> str:
    return f"JEMBATAN_NATS_{account_of(agency)}_{user.upper().replace('-', '_')}_PASSWORD"


def domain_of(agency: str) -> str:
    return agency


def services_of(agency: str) -> tuple[str, ...]:
    return HUB_SERVICES if agency == HUB_AGENCY else PROVINCE_SERVICES


def sourced_from_provinces() -> tuple[type[Event], ...]:
    """Events the hub's services consume from streams that live in the provinces."""
    return tuple(
        consumes.event
        for service in HUB_SERVICES
        for consumes in CONSUMERS[service]
        if consumes.event.subject_suffix.split(".")[0] in PROVINCE_SERVICES
    )


def sync_deliver_prefix(province: str, stream: str) -> str:
    return f"jembatan-sync.{province}.{stream.lower()}"


def source_consumer_create(province: str, stream: str, event: type[Event]) -> str:
    """The API subject the hub's sourcing stream uses to open its consumer in the province."""
    return f"$JS.{domain_of(province)}.API.CONSUMER.CREATE.{stream}.*.{event.subject_for(province)}"


@dataclass(frozen=True)
class User:
    name: str
    agency: str
    publish: tuple[str, ...]
    subscribe: tuple[str, ...]
    connection_types: tuple[str, ...] = ("STANDARD",)
    role: str = ""

    @property
    def password_var(self) -> str:
        return password_var(self.agency, self.role or self.name)


def service_user(agency: str, service: str) -> User:
    own_stream = service.upper()
    consumed = CONSUMERS[service]
    streams = sorted({own_stream, DEAD_LETTER_STREAM} | {c.stream for c in consumed})
    publish = [
        f"{SUBJECT_ROOT}.{agency}.{service}.>",
        "deadletter.>",
        "$JS.API.INFO",
        *(f"$JS.API.STREAM.INFO.{stream}" for stream in streams),
        *(
            f"$JS.API.STREAM.{verb}.{stream}"
            for stream in (own_stream, DEAD_LETTER_STREAM)
            for verb in ("CREATE", "UPDATE")
        ),
    ]
    for c in consumed:
        publish += [
            f"$JS.API.CONSUMER.CREATE.{c.stream}.{c.durable}",
            f"$JS.API.CONSUMER.CREATE.{c.stream}.{c.durable}.>",
            f"$JS.API.CONSUMER.DURABLE.CREATE.{c.stream}.{c.durable}",
            f"$JS.API.CONSUMER.INFO.{c.stream}.{c.durable}",
            f"$JS.API.CONSUMER.MSG.NEXT.{c.stream}.{c.durable}",
            f"$JS.ACK.{c.stream}.{c.durable}.>",
        ]
    return User(service, agency, tuple(publish), ("_INBOX.>",))


def ops_user(agency: str) -> User:
    """Stream administration (the hub's sourcing stream, repairs); not for services."""
    return User("ops", agency, ("$JS.API.>", "_INBOX.>"), ("_INBOX.>",))


def leaf_user(province: str) -> User:
    """The province's leaf connection as the hub sees it: what may cross the link, and nothing
    else. `_R_.>` carries the answers to the hub's consumer-create requests."""
    return User(
        f"{province}-leaf",
        province,
        publish=(
            *(sync_deliver_prefix(province, s) + ".>" for s in _sourced_streams()),
            "_R_.>",
        ),
        subscribe=(f"$JS.{domain_of(province)}.API.>", "$JS.FC.>", "_R_.>"),
        connection_types=("LEAFNODE",),
        role="leaf",
    )


def _sourced_streams() -> tuple[str, ...]:
    return tuple(sorted({e.subject_suffix.split(".")[0].upper() for e in sourced_from_provinces()}))


def users_of(agency: str) -> tuple[User, ...]:
    """The client users on the agency's own server (the hub for Kemnaker)."""
    return (*(service_user(agency, s) for s in services_of(agency)), ops_user(agency))


# --- rendering -------------------------------------------------------------------------------


def _list(items: tuple[str, ...] | list[str], indent: str) -> str:
    inner = "".join(f'{indent}  "{item}"\n' for item in items)
    return f"[\n{inner}{indent}]"


def _user(user: User, indent: str) -> str:
    pad = indent + "  "
    return (
        f"{indent}{{\n"
        f'{pad}user: "{user.name}"\n'
        f"{pad}password: ${user.password_var}\n"
        f"{pad}allowed_connection_types: {_list(user.connection_types, pad)}\n"
        f"{pad}permissions: {{\n"
        f"{pad}  publish: {{ allow: {_list(user.publish, pad + '  ')} }}\n"
        f"{pad}  subscribe: {{ allow: {_list(user.subscribe, pad + '  ')} }}\n"
        f"{pad}}}\n"
        f"{indent}}}\n"
    )


def _users(users: tuple[User, ...], indent: str) -> str:
    return f"{indent}users: [\n" + "".join(_user(u, indent + "  ") for u in users) + f"{indent}]\n"


def _system_account(agency: str) -> str:
    return (
        "system_account: SYS\n"
        "accounts {\n"
        "  SYS {\n"
        f'    users: [{{ user: "sys", password: ${password_var(agency, "sys")} }}]\n'
        "  }\n"
    )


def _jetstream(agency: str) -> str:
    return (
        "jetstream {\n"
        f"  domain: {domain_of(agency)}\n"
        "  max_memory_store: 256MB\n"
        "  max_file_store: 20GB\n"
        "}\n"
    )


HEADER = "# Rendered by deploy/nats/topology.py from its data; edit that file, then re-run it.\n"


def render_hub() -> str:
    hub = account_of(HUB_AGENCY)
    out = [
        HEADER,
        f"# The hub: {HUB_AGENCY}, JetStream domain {domain_of(HUB_AGENCY)}. Provinces connect"
        " as leaf nodes.\n",
        f"server_name: {HUB_AGENCY}-hub\n",
        "max_payload: 1MB\n",
        _jetstream(HUB_AGENCY),
        f"leafnodes {{\n  port: {LEAF_PORT}\n}}\n",
        _system_account(HUB_AGENCY),
        f"  {hub} {{\n    jetstream: enabled\n",
        _users(users_of(HUB_AGENCY), "    "),
        "    imports: [\n",
    ]
    for province in PROVINCES:
        account = account_of(province)
        for stream in _sourced_streams():
            out.append(
                f'      {{ stream: {{ account: {account}, subject: "'
                f'{sync_deliver_prefix(province, stream)}.>" }} }}\n'
            )
        for event in sourced_from_provinces():
            stream = event.subject_suffix.split(".")[0].upper()
            out.append(
                f'      {{ service: {{ account: {account}, subject: "'
                f'{source_consumer_create(province, stream, event)}" }} }}\n'
            )
    out.append("    ]\n  }\n")
    for province in PROVINCES:
        out += [
            f"  # {province}'s leaf connection lands here; it has no other users.\n",
            f"  {account_of(province)} {{\n",
            _users((leaf_user(province),), "    "),
            "    exports: [\n",
        ]
        for stream in _sourced_streams():
            out.append(
                f'      {{ stream: "{sync_deliver_prefix(province, stream)}.>",'
                f" accounts: [{hub}] }}\n"
            )
        for event in sourced_from_provinces():
            stream = event.subject_suffix.split(".")[0].upper()
            out.append(
                f'      {{ service: "{source_consumer_create(province, stream, event)}",'
                f" accounts: [{hub}] }}\n"
            )
        out.append("    ]\n  }\n")
    out.append("}\n")
    return "".join(out)


def hub_leaf_url_var(province: str) -> str:
    return f"JEMBATAN_{account_of(province)}_HUB_LEAF_URL"


def render_province(province: str) -> str:
    account = account_of(province)
    return "".join(
        [
            HEADER,
            f"# {province}: a leaf node of the {HUB_AGENCY} hub with its own JetStream domain,"
            " so it keeps\n# registering and training while the link is down.\n",
            f"# ${hub_leaf_url_var(province)}: nats-leaf://{province}-leaf:<password>@<hub>:"
            f"{LEAF_PORT}\n",
            f"server_name: {province}\n",
            "max_payload: 1MB\n",
            _jetstream(province),
            "leafnodes {\n  remotes: [\n",
            f"    {{ url: ${hub_leaf_url_var(province)}, account: {account} }}\n",
            "  ]\n}\n",
            _system_account(province),
            f"  {account} {{\n    jetstream: enabled\n",
            _users(users_of(province), "    "),
            "  }\n}\n",
        ]
    )


def hub_sourcing_streams() -> list[dict[str, object]]:
    """The hub's stream configs (JetStream API JSON, as `nats stream add --config` takes it)."""
    streams = []
    for stream in _sourced_streams():
        sources = [
            {
                "name": stream,
                "filter_subject": event.subject_for(province),
                "external": {
                    "api": f"$JS.{domain_of(province)}.API",
                    "deliver": sync_deliver_prefix(province, stream),
                },
            }
            for province in PROVINCES
            for event in sourced_from_provinces()
            if event.subject_suffix.split(".")[0].upper() == stream
        ]
        streams.append(
            {
                "name": stream,
                "description": f"{HUB_AGENCY}'s own {stream.lower()} events, and the provinces'"
                " events the hub consumes",
                "subjects": [f"{SUBJECT_ROOT}.{HUB_AGENCY}.{stream.lower()}.>"],
                "sources": sources,
                "retention": "limits",
                "storage": "file",
                "discard": "old",
                "num_replicas": 1,
                "duplicate_window": DUPLICATE_WINDOW_NS,
            }
        )
    return streams


def rendered() -> dict[Path, str]:
    files = {HERE / "hub.conf": render_hub()}
    for province in PROVINCES:
        files[HERE / f"{province}.conf"] = render_province(province)
    for stream in hub_sourcing_streams():
        files[HERE / f"hub-stream-{str(stream['name']).lower()}.json"] = (
            json.dumps(stream, indent=2) + "\n"
        )
    return files


if __name__ == "__main__":
    for path, text in rendered().items():
        path.write_text(text)
        print(f"wrote {path.relative_to(HERE.parent.parent)}", file=sys.stderr)
