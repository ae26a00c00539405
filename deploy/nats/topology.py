"""The multi-agency NATS topology as data, and the nats-server configs rendered from it.

Kemnaker runs the hub; each province or district runs a leaf node with its own JetStream domain.
Every agency is one NATS account; every service connects as its own user, limited to its own
subjects. The hub's REGISTRATION and TRAINING streams source, from each province's streams across
the leaf link, only the events Kemnaker's services consume (placement, financing and the
dashboard, which follows every agency's candidates).

    uv run python deploy/nats/topology.py      # rewrite the configs after changing this file

What each service's user may do is jembatan_kit.nats_permissions, which `jembatan up` renders into
the embedded default's server too.

Passwords are never in the configs: each is an environment variable named by `password_var`.

The revocation bucket (jembatan_kit.revocation) lives at the hub. Every service reads it, a
province's across its leaf connection in the hub's JetStream domain: the hub offers each province
the bucket's direct gets and stream info, and the writes of that province's own keys for its
operator; nothing else of the bucket, so a province neither writes another agency's keys nor
creates a consumer (which would deliver wherever its creator says, in Kemnaker's account).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

from jembatan_contracts import Event
from jembatan_contracts.envelope import SUBJECT_ROOT
from jembatan_kit.nats_permissions import CONSUMERS as CONSUMERS
from jembatan_kit.nats_permissions import (
    READ_MODELS,
    revocation_read_grants,
    revocation_write_grants,
    service_permissions,
)
from jembatan_kit.revocation import bucket_config
from jembatan_kit.settings import ServiceSettings

HERE = Path(__file__).resolve().parent

HUB_AGENCY = "kemnaker"
PROVINCES = ("kaltim", "boyolali", "kota-serang")
HUB_SERVICES = ("placement", "financing", "dashboard")
PROVINCE_SERVICES = ("registration", "training")
MAX_PAYLOAD = "256KB"
MAX_PAYLOAD_BYTES = 256 * 1024
"""The largest message a server takes. Events are at most `MAX_EVENT_BYTES` (64 KiB) and a dead
letter carrying one at most `DEAD_LETTER_MAX_BYTES` (80 KiB); an object store chunk is 128 KiB.
Four times an event leaves headroom, and refuses at once what no producer of ours can send."""
DUPLICATE_WINDOW_NS = 15 * 60 * 1_000_000_000
STREAM_MAX_AGE_NS = round(
    ServiceSettings.model_fields["stream_max_age_days"].default * 24 * 60 * 60 * 1_000_000_000
)
"""How long the hub's sourcing streams keep an event: as long as the streams the services create
(`STREAM_MAX_AGE_DAYS`, its default), which the inboxes' retention follows."""
LEAF_PORT = 7422


def account_of(agency: str) -> str:
    return agency.upper().replace("-", "_")


def password_var(agency: str, user: str) -> str:
    return f"JEMBATAN_NATS_{account_of(agency)}_{user.upper().replace('-', '_')}_PASSWORD"


def domain_of(agency: str) -> str:
    return agency


def services_of(agency: str) -> tuple[str, ...]:
    return HUB_SERVICES if agency == HUB_AGENCY else PROVINCE_SERVICES


def sourced_from_provinces() -> tuple[type[Event], ...]:
    """Events the hub's services consume from streams that live in the provinces, each once."""
    events = (
        consumes.event
        for service in HUB_SERVICES
        for consumes in CONSUMERS[service]
        if consumes.event.stream_name().lower() in PROVINCE_SERVICES
    )
    return tuple(dict.fromkeys(events))


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
    publish_deny: tuple[str, ...] = ()

    @property
    def password_var(self) -> str:
        return password_var(self.agency, self.role or self.name)


def event_prefix(agency: str) -> str:
    """Whose events a service of `agency` may publish. Kemnaker's services serve every agency's
    candidates, and their events travel under the candidate's agency (placement and financing
    publish `jembatan.<candidate's agency>.placement...`); a province publishes only its own."""
    return "*" if agency == HUB_AGENCY else agency


def revocations_domain(agency: str) -> str | None:
    """Where the agency's clients find the revocation bucket: their own server at the hub, the
    hub's JetStream domain from a province (its services' REVOCATIONS_JS_DOMAIN)."""
    return None if agency == HUB_AGENCY else domain_of(HUB_AGENCY)


def service_user(agency: str, service: str) -> User:
    """A service's user, with the rights `service_permissions` gives it (jembatan_kit)."""
    rights = service_permissions(service, event_prefix(agency), revocations_domain(agency))
    return User(service, agency, rights.publish, rights.subscribe, publish_deny=rights.publish_deny)


def ops_user(agency: str) -> User:
    """Stream administration (the hub's sourcing stream, repairs) and revocations: Kemnaker's of
    every agency, a province's of its own, at the hub; not for services."""
    domain = revocations_domain(agency)
    revocations = revocation_write_grants("*" if agency == HUB_AGENCY else agency, domain)
    if domain is not None:
        revocations = revocation_read_grants(domain) + revocations
    return User("ops", agency, ("$JS.API.>", *revocations, "_INBOX.>"), ("_INBOX.>",))


def leaf_user(province: str) -> User:
    """The province's leaf connection as the hub sees it: what may cross the link, and nothing
    else. `_R_.>` carries the answers to the hub's consumer-create requests; the province's
    reads of the revocation bucket and its operator's writes of the province's own keys go up,
    their answers come down on the asker's `_INBOX.>`."""
    hub = domain_of(HUB_AGENCY)
    return User(
        f"{province}-leaf",
        province,
        publish=(
            *(sync_deliver_prefix(province, s) + ".>" for s in _sourced_streams()),
            "_R_.>",
            *revocation_read_grants(hub),
            *revocation_write_grants(province, hub),
        ),
        subscribe=(f"$JS.{domain_of(province)}.API.>", "$JS.FC.>", "_R_.>", "_INBOX.>"),
        connection_types=("LEAFNODE",),
        role="leaf",
    )


def revocation_services(province: str) -> tuple[tuple[str, bool], ...]:
    """What the hub's account offers the province's account of the revocation bucket, as
    (subject, whether every province shares it): the reads (a batch direct get answers with
    many messages: `response_type: stream`), and the writes of the province's own keys. The
    province's requests arrive in the hub's domain (`$JS.kemnaker.API...`), which the hub maps
    to `$JS.API...` before they meet these."""
    return (
        *((grant, True) for grant in revocation_read_grants()),
        *((grant, False) for grant in revocation_write_grants(province)),
    )


def _sourced_streams() -> tuple[str, ...]:
    return tuple(sorted({e.stream_name() for e in sourced_from_provinces()}))


def users_of(agency: str) -> tuple[User, ...]:
    """The client users on the agency's own server (the hub for Kemnaker)."""
    return (*(service_user(agency, s) for s in services_of(agency)), ops_user(agency))


# --- rendering -------------------------------------------------------------------------------


def _list(items: tuple[str, ...] | list[str], indent: str) -> str:
    inner = "".join(f'{indent}  "{item}"\n' for item in items)
    return f"[\n{inner}{indent}]"


def _user(user: User, indent: str) -> str:
    pad = indent + "  "
    deny = f", deny: {_list(user.publish_deny, pad + '  ')}" if user.publish_deny else ""
    return (
        f"{indent}{{\n"
        f'{pad}user: "{user.name}"\n'
        f"{pad}password: ${user.password_var}\n"
        f"{pad}allowed_connection_types: {_list(user.connection_types, pad)}\n"
        f"{pad}permissions: {{\n"
        f"{pad}  publish: {{ allow: {_list(user.publish, pad + '  ')}{deny} }}\n"
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


SYNC_INTERVAL = "always"
"""When JetStream flushes its files to disk (`sync_interval`), on the hub's nodes and the
provinces' leaves alike: before each acknowledgement. The default (every two minutes) loses
acknowledged events to a power failure or kernel crash (on a leaf, a single one; on the hub, one
combined with a pause or partition elsewhere). Measured cost and reasoning: deploy/README.md,
"Durability", and BENCHMARKS.md (`bench/sync_interval.py`)."""


def _jetstream(agency: str) -> str:
    return (
        "jetstream {\n"
        f"  domain: {domain_of(agency)}\n"
        "  max_memory_store: 256MB\n"
        "  max_file_store: 20GB\n"
        "  # fsync before acknowledging each write: see deploy/README.md, Durability\n"
        f"  sync_interval: {SYNC_INTERVAL}\n"
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
        f"max_payload: {MAX_PAYLOAD}\n",
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
            stream = event.stream_name()
            out.append(
                f'      {{ service: {{ account: {account}, subject: "'
                f'{source_consumer_create(province, stream, event)}" }} }}\n'
            )
    out.append("    ]\n    exports: [\n")
    offered = {
        subject: [account_of(p) for p in PROVINCES] if shared else [account_of(province)]
        for province in PROVINCES
        for subject, shared in revocation_services(province)
    }
    for subject, accounts in offered.items():
        kind = ", response_type: stream" if ".DIRECT.GET." in subject else ""
        out.append(f'      {{ service: "{subject}", accounts: [{", ".join(accounts)}]{kind} }}\n')
    out.append("    ]\n  }\n")
    for province in PROVINCES:
        out += [
            f"  # {province}'s leaf connection lands here; it has no other users.\n",
            f"  {account_of(province)} {{\n",
            _users((leaf_user(province),), "    "),
            "    imports: [\n",
            *(
                f'      {{ service: {{ account: {hub}, subject: "{subject}" }} }}\n'
                for subject, _ in revocation_services(province)
            ),
            "    ]\n",
            "    exports: [\n",
        ]
        for stream in _sourced_streams():
            out.append(
                f'      {{ stream: "{sync_deliver_prefix(province, stream)}.>",'
                f" accounts: [{hub}] }}\n"
            )
        for event in sourced_from_provinces():
            stream = event.stream_name()
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
            f"max_payload: {MAX_PAYLOAD}\n",
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


def hub_created_streams() -> list[dict[str, object]]:
    """What the hub-streams job creates: the sourcing streams, and the revocation bucket."""
    return [*hub_sourcing_streams(), bucket_config(HUB_CLUSTER_SIZE).as_dict()]


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
            if event.stream_name() == stream
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
                "num_replicas": HUB_CLUSTER_SIZE,
                "max_age": STREAM_MAX_AGE_NS,
                "duplicate_window": DUPLICATE_WINDOW_NS,
            }
        )
    return streams


# --- the hub as a three-node JetStream cluster (Kubernetes) -----------------------------------

HUB_CLUSTER_SIZE = 3
HUB_STATEFULSET = "nats-hub"
CLUSTER_PORT = 6222
MONITOR_PORT = 8222


def hub_route(ordinal: int) -> str:
    """Node `ordinal` of the StatefulSet, by its stable name under the headless service."""
    return f"nats-route://{HUB_STATEFULSET}-{ordinal}.{HUB_STATEFULSET}:{CLUSTER_PORT}"


def render_hub_cluster() -> str:
    routes = "".join(f"    {hub_route(n)}\n" for n in range(HUB_CLUSTER_SIZE))
    return (
        HEADER
        + f"# The hub as a JetStream cluster of {HUB_CLUSTER_SIZE} (the Kubernetes StatefulSet"
        f" {HUB_STATEFULSET}):\n# hub.conf, plus each node's own name and the routes between"
        " them. $NATS_SERVER_NAME is the\n# pod's name, so every node has its own.\n"
        'include "hub.conf"\n'
        "server_name: $NATS_SERVER_NAME\n"
        f"http_port: {MONITOR_PORT}\n"
        "cluster {\n"
        f"  name: {HUB_AGENCY}-hub\n"
        f"  listen: 0.0.0.0:{CLUSTER_PORT}\n"
        "  routes: [\n" + routes + "  ]\n"
        "}\n"
    )


# --- the whole deployment as one compose file ------------------------------------------------

NATS_IMAGE = "nats:2.15-alpine"
NATS_BOX_IMAGE = "natsio/nats-box:0.18.1"
POSTGRES_IMAGE = "postgres:17-alpine"
SERVICE_IMAGE = "jembatan:0.1.0"
COLLECTOR_IMAGE = "otel/opentelemetry-collector-contrib:0.128.0"
JAEGER_IMAGE = "jaegertracing/all-in-one:1.70.0"
HTTP_PORTS = {
    "registration": 8001,
    "training": 8002,
    "placement": 8003,
    "financing": 8004,
    "dashboard": 8005,
}
"""Each service's HTTP_PORT default (its settings); the container listens there."""


def host_port(agency: str, service: str) -> int:
    """Where the compose file publishes a service: Kemnaker's on 800x, the n-th province's on
    8n0x (kaltim 8101, 8102; boyolali 8201, ...)."""
    offset = 0 if agency == HUB_AGENCY else 100 * (PROVINCES.index(agency) + 1)
    return HTTP_PORTS[service] + offset


def nats_host(agency: str) -> str:
    """The agency's server as its clients and leaves name it: on the hub, any of its nodes."""
    return "nats-hub" if agency == HUB_AGENCY else f"nats-{agency}"


def nats_hosts(agency: str) -> tuple[str, ...]:
    """The agency's nats-server containers: the hub's three nodes (named as the StatefulSet's
    pods), a province's one leaf."""
    if agency == HUB_AGENCY:
        return tuple(f"{HUB_STATEFULSET}-{n}" for n in range(HUB_CLUSTER_SIZE))
    return (nats_host(agency),)


def stream_replicas(agency: str) -> int:
    """`STREAM_REPLICAS` of the agency's services: a copy of each stream on every hub node; one
    on a province's single leaf server."""
    return HUB_CLUSTER_SIZE if agency == HUB_AGENCY else 1


def nats_url(agency: str, user: str, password: str, hosts: tuple[str, ...]) -> str:
    """`NATS_URL` naming every node, each with the credentials: a client reconnects to another
    node when its own is lost (the addresses a cluster announces carry no credentials)."""
    return ",".join(f"nats://{user}:{password}@{host}:4222" for host in hosts)


def service_host(agency: str, service: str) -> str:
    return service if agency == HUB_AGENCY else f"{agency}-{service}"


def postgres_password_var(agency: str, service: str) -> str:
    return f"JEMBATAN_PG_{account_of(agency)}_{service.upper()}_PASSWORD"


def _compose_nats(agency: str) -> str:
    env = [
        f"      {var}: ${{{var}:?run deploy/make-env.py}}\n"
        for var in sorted(
            {password_var(agency, "sys")} | {u.password_var for u in users_of(agency)}
        )
    ]
    if agency == HUB_AGENCY:
        env += [
            f"      {var}: ${{{var}:?run deploy/make-env.py}}\n"
            for var in sorted(leaf_user(p).password_var for p in PROVINCES)
        ]
        depends = ""
    else:
        leaf = password_var(agency, "leaf")
        env.append(
            f"      {hub_leaf_url_var(agency)}: nats-leaf://{agency}-leaf:${{{leaf}}}@nats-hub:"
            f"{LEAF_PORT}\n"
        )
        depends = f"    depends_on: [{', '.join(nats_hosts(HUB_AGENCY))}]\n"
    if agency != HUB_AGENCY:
        conf = f"{agency}.conf"
        return (
            f"  {nats_host(agency)}:\n"
            f"    image: {NATS_IMAGE}\n"
            f'    command: ["-c", "/etc/nats/{conf}", "-js", "-sd", "/data", "-m", "8222"]\n'
            "    volumes:\n"
            f"      - ./nats/{conf}:/etc/nats/{conf}:ro\n"
            f"      - {nats_host(agency)}-data:/data\n"
            "    environment:\n" + "".join(env) + depends + "    restart: unless-stopped\n"
        )
    return "".join(_compose_hub_node(n, env) for n in range(HUB_CLUSTER_SIZE))


def _compose_hub_node(n: int, env: list[str]) -> str:
    """Node `n` of the hub cluster, as in Kubernetes: hub-cluster.conf, its own name and store,
    reachable under the pod's DNS name the routes use and, for the leaves, as nats-hub."""
    host = f"{HUB_STATEFULSET}-{n}"
    return (
        f"  {host}:\n"
        f"    image: {NATS_IMAGE}\n"
        '    command: ["-c", "/etc/nats/hub-cluster.conf", "-js", "-sd", "/data"]\n'
        "    volumes:\n"
        "      - ./nats/hub.conf:/etc/nats/hub.conf:ro\n"
        "      - ./nats/hub-cluster.conf:/etc/nats/hub-cluster.conf:ro\n"
        f"      - {host}-data:/data\n"
        "    environment:\n"
        f"      NATS_SERVER_NAME: {host}\n" + "".join(env) + "    networks:\n"
        "      default:\n"
        f"        aliases: [{host}.{HUB_STATEFULSET}, {nats_host(HUB_AGENCY)}]\n"
        "    restart: unless-stopped\n"
    )


def _compose_postgres(agency: str, service: str) -> str:
    host = f"{service_host(agency, service)}-db"
    password = postgres_password_var(agency, service)
    return (
        f"  {host}:\n"
        f"    image: {POSTGRES_IMAGE}\n"
        "    environment:\n"
        f"      POSTGRES_USER: {service}\n"
        f"      POSTGRES_DB: {service}\n"
        f"      POSTGRES_PASSWORD: ${{{password}:?run deploy/make-env.py}}\n"
        "    volumes:\n"
        f"      - {host}-data:/var/lib/postgresql/data\n"
        "    healthcheck:\n"
        f'      test: ["CMD", "pg_isready", "-U", "{service}", "-d", "{service}"]\n'
        "      interval: 5s\n"
        "      retries: 20\n"
        "    restart: unless-stopped\n"
    )


# --- tokens: each agency's own key, one public trust list --------------------------------------

TRUST_FILE = "trust.json"
"""The public trust list deploy/make-env.py writes beside compose.yaml (`jembatan_kit.trust`):
every issuer, its public keys and the one agency it speaks for."""
TRUST_DIR = "/etc/jembatan/trust"
TRUST_PATH = f"{TRUST_DIR}/{TRUST_FILE}"
"""AUTH_TRUST_FILE of every service, in compose and on Kubernetes alike."""
TRUST_CONFIG_MAP = "jembatan-trust"
"""The ConfigMap holding the trust list (key trust.json), the same in every agency's namespace."""
ISSUERS_DIR = "issuers"
"""Where deploy/make-env.py keeps each agency's private key (`issuers/<agency>.json`, 0600):
on the operator's machine, never mounted into a container of compose.yaml."""
ISSUER_DIR = "/etc/jembatan/issuer"
ISSUER_FILE = "issuer.json"
TOKEN_ISSUER = "token-issuer"
"""The one workload of an agency's namespace that gets the agency's private key: it runs
`jembatan token` on demand and serves nothing."""


def issuer_secret(agency: str) -> str:
    """The Secret of namespace jembatan-<agency> holding the agency's issuer file."""
    return f"jembatan-{agency}-issuer"


def _compose_service(agency: str, service: str, after: tuple[tuple[str, str], ...]) -> str:
    host = service_host(agency, service)
    port = HTTP_PORTS[service]
    nats_password = password_var(agency, service)
    pg_password = postgres_password_var(agency, service)
    env = {
        "AGENCY": agency,
        "HTTP_HOST": "0.0.0.0",
        "HTTP_PORT": str(port),
        "DATABASE_URL": f"postgresql+asyncpg://{service}:${{{pg_password}}}@{host}-db:5432/{service}",
        "NATS_URL": nats_url(agency, service, f"${{{nats_password}}}", nats_hosts(agency)),
        "ENSURE_STREAMS": "own",
        "STREAM_REPLICAS": str(stream_replicas(agency)),
        "AUTH_TRUST_FILE": TRUST_PATH,
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel-collector:4318",
    }
    if service == "registration":
        for key in ("NIK_ENCRYPTION_KEY", "NIK_HASH_KEY"):
            var = f"JEMBATAN_{account_of(agency)}_{key}"
            env[key] = f"${{{var}:?run deploy/make-env.py}}"
    if (domain := revocations_domain(agency)) is not None:
        env["REVOCATIONS_JS_DOMAIN"] = domain
    if service == "dashboard":
        env["SERVICE_URLS"] = "'" + json.dumps(service_urls(agency)) + "'"
    depends = [f"      {host}-db: {{ condition: service_healthy }}\n"]
    depends += [f"      {name}: {{ condition: {condition} }}\n" for name, condition in after]
    health = (
        "import urllib.request; "
        f"urllib.request.urlopen('http://127.0.0.1:{port}/health', timeout=2)"
    )
    return (
        f"  {host}:\n"
        f"    image: {SERVICE_IMAGE}\n"
        "    build: { context: .., dockerfile: deploy/Dockerfile }\n"
        f'    command: ["jembatan-{service}"]\n'
        "    environment:\n"
        + "".join(f"      {key}: {value}\n" for key, value in env.items())
        + "    volumes:  # the public trust list only; no service holds a private key\n"
        "      - type: bind\n"
        f"        source: ./{TRUST_FILE}\n"
        f"        target: {TRUST_PATH}\n"
        "        read_only: true\n"
        "        bind: { create_host_path: false }\n"
        f'    ports: ["{host_port(agency, service)}:{port}"]\n'
        "    depends_on:\n" + "".join(depends) + "    healthcheck:\n"
        f'      test: ["CMD", "python", "-c", "{health}"]\n'
        "      interval: 5s\n"
        "      retries: 30\n"
        "    restart: unless-stopped\n"
    )


def service_urls(agency: str) -> dict[str, str]:
    """Where a browser on the compose machine reaches the agency's other services (the dashboard
    links their API docs)."""
    return {
        other: f"http://localhost:{host_port(agency, other)}"
        for other in services_of(agency)
        if other not in READ_MODELS
    }


def hub_stream_names() -> tuple[str, ...]:
    return tuple(str(stream["name"]) for stream in hub_created_streams())


def hub_streams_command() -> str:
    """Create each of the hub's sourcing streams and the revocation bucket that does not exist
    yet (as `ops`)."""
    return " && ".join(
        f"(nats stream info {name} >/dev/null 2>&1 || nats stream add --config"
        f" /etc/jembatan/hub-stream-{name.lower()}.json)"
        for name in hub_stream_names()
    )


def _after(agency: str, service: str) -> tuple[tuple[str, str], ...]:
    """What a service waits for: its NATS server, and the streams it consumes from existing."""
    nats = tuple((host, "service_started") for host in nats_hosts(agency))
    if service == "training":
        return *nats, (service_host(agency, "registration"), "service_healthy")
    if service == "placement":
        return *nats, ("hub-streams", "service_completed_successfully")
    if service == "financing":
        return *nats, ("placement", "service_healthy")
    if service == "dashboard":  # every stream it reads: the hub's sourcing ones, then PLACEMENT
        return *nats, ("financing", "service_healthy")  # and FINANCING
    return nats


def render_compose() -> str:
    ops = password_var(HUB_AGENCY, "ops")
    out = [
        "# Rendered by deploy/nats/topology.py from its data; edit that file, then re-run it.\n",
        "# The whole multi-agency deployment on one machine: Kemnaker's hub and every province's"
        " leaf\n# server from deploy/nats, PostgreSQL per service, the services, an OpenTelemetry"
        " collector\n# and Jaeger (http://localhost:16686).\n",
        "#   docker build -f deploy/Dockerfile -t jembatan:0.1.0 .\n",
        "#   uv run python deploy/make-env.py     # .env, issuers/, trust.json; never committed\n",
        "#   docker compose -f deploy/compose.yaml up\n",
        "# Every service reads the public trust list ./trust.json; each agency's private key\n"
        "# stays in ./issuers/ on this machine, for `jembatan token` (deploy/README.md, Tokens).\n",
        "name: jembatan\n",
        "services:\n",
        _compose_nats(HUB_AGENCY),
        "  # The hub's sourcing streams (the provinces' events Kemnaker's services consume) and\n"
        "  # the revocation bucket every service reads.\n"
        "  hub-streams:\n"
        f"    image: {NATS_BOX_IMAGE}\n"
        "    environment:\n"
        "      NATS_URL: "
        + nats_url(HUB_AGENCY, "ops", f"${{{ops}:?run deploy/make-env.py}}", nats_hosts(HUB_AGENCY))
        + "\n"
        "    volumes:\n"
        + "".join(
            f"      - ./nats/hub-stream-{name.lower()}.json:/etc/jembatan/"
            f"hub-stream-{name.lower()}.json:ro\n"
            for name in hub_stream_names()
        )
        + f'    command: ["sh", "-c", "{hub_streams_command()}"]\n'
        f"    depends_on: [{', '.join(nats_hosts(HUB_AGENCY))}]\n"
        "    restart: on-failure\n",
    ]
    for agency in (HUB_AGENCY, *PROVINCES):
        if agency != HUB_AGENCY:
            out.append(_compose_nats(agency))
        for service in services_of(agency):
            out.append(_compose_postgres(agency, service))
            out.append(_compose_service(agency, service, _after(agency, service)))
    out += [
        "  otel-collector:\n"
        f"    image: {COLLECTOR_IMAGE}\n"
        '    command: ["--config=/etc/otelcol/config.yaml"]\n'
        "    volumes:\n"
        "      - ./otel-collector.yaml:/etc/otelcol/config.yaml:ro\n"
        "    depends_on: [jaeger]\n",
        "  jaeger:\n"
        f"    image: {JAEGER_IMAGE}\n"
        "    environment:\n"
        '      COLLECTOR_OTLP_ENABLED: "true"\n'
        '    ports: ["16686:16686"]\n',
        "volumes:\n",
    ]
    volumes = [f"{host}-data" for a in (HUB_AGENCY, *PROVINCES) for host in nats_hosts(a)]
    volumes += [
        f"{service_host(a, s)}-db-data" for a in (HUB_AGENCY, *PROVINCES) for s in services_of(a)
    ]
    out += [f"  {volume}: {{}}\n" for volume in volumes]
    return "".join(out)


# --- a province on Kubernetes -----------------------------------------------------------------


def _indent(text: str, spaces: int) -> str:
    pad = " " * spaces
    return "".join(pad + line if line.strip() else line for line in text.splitlines(True))


def _k8s_postgres(province: str, service: str) -> str:
    name = f"{service}-db"
    password_key = postgres_password_var(province, service)
    return f"""---
apiVersion: v1
kind: Service
metadata:
  name: {name}
  namespace: jembatan-{province}
spec:
  clusterIP: None
  selector: {{ app: {name} }}
  ports:
    - {{ name: postgres, port: 5432 }}
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: {name}
  namespace: jembatan-{province}
spec:
  serviceName: {name}
  replicas: 1
  selector:
    matchLabels: {{ app: {name} }}
  template:
    metadata:
      labels: {{ app: {name} }}
    spec:
      containers:
        - name: postgres
          image: {POSTGRES_IMAGE}
          env:
            - {{ name: POSTGRES_USER, value: {service} }}
            - {{ name: POSTGRES_DB, value: {service} }}
            - name: POSTGRES_PASSWORD
              valueFrom:
                secretKeyRef:
                  {{ name: jembatan-{province}-secrets, key: {password_key} }}
            - {{ name: PGDATA, value: /var/lib/postgresql/data/pgdata }}
          ports:
            - {{ name: postgres, containerPort: 5432 }}
          readinessProbe:
            exec: {{ command: ["pg_isready", "-U", "{service}", "-d", "{service}"] }}
          volumeMounts:
            - {{ name: data, mountPath: /var/lib/postgresql/data }}
  volumeClaimTemplates:
    - metadata:
        name: data
      spec:
        accessModes: ["ReadWriteOnce"]
        resources:
          requests: {{ storage: 10Gi }}
"""


HUB_COLLECTOR = "http://otel-collector.jembatan-kemnaker:4318"
"""Provinces send their spans to the collector in Kemnaker's namespace (or their own)."""


def _k8s_service(province: str, service: str) -> str:
    port = HTTP_PORTS[service]
    secrets = f"jembatan-{province}-secrets"
    nik = ""
    if service == "registration":
        nik = "".join(
            f"""            - name: {key}
              valueFrom:
                secretKeyRef: {{ name: {secrets}, key: JEMBATAN_{account_of(province)}_{key} }}
"""
            for key in ("NIK_ENCRYPTION_KEY", "NIK_HASH_KEY")
        )
    return f"""---
apiVersion: v1
kind: Service
metadata:
  name: {service}
  namespace: jembatan-{province}
spec:
  selector: {{ app: {service} }}
  ports:
    - {{ name: http, port: {port}, targetPort: http }}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {service}
  namespace: jembatan-{province}
spec:
  replicas: 2
  selector:
    matchLabels: {{ app: {service} }}
  template:
    metadata:
      labels: {{ app: {service}, jembatan/agency: {province} }}
    spec:
      containers:
        - name: {service}
          image: {SERVICE_IMAGE}
          command: ["jembatan-{service}"]
          env:
            - {{ name: AGENCY, value: {province} }}
            - {{ name: HTTP_HOST, value: 0.0.0.0 }}
            - {{ name: HTTP_PORT, value: "{port}" }}
            - {{ name: ENSURE_STREAMS, value: own }}
            - {{ name: STREAM_REPLICAS, value: "{stream_replicas(province)}" }}
            - {{ name: REVOCATIONS_JS_DOMAIN, value: {revocations_domain(province)} }}
            - name: NATS_PASSWORD
              valueFrom:
                secretKeyRef: {{ name: {secrets}, key: {password_var(province, service)} }}
            - name: PG_PASSWORD
              valueFrom:
                secretKeyRef: {{ name: {secrets}, key: {postgres_password_var(province, service)} }}
            - {{ name: AUTH_TRUST_FILE, value: {TRUST_PATH} }}
{nik}            - {{ name: NATS_URL, value: "nats://{service}:$(NATS_PASSWORD)@nats:4222" }}
            - name: DATABASE_URL
              value: "postgresql+asyncpg://{service}:$(PG_PASSWORD)@{service}-db:5432/{service}"
            - {{ name: OTEL_EXPORTER_OTLP_ENDPOINT, value: "{HUB_COLLECTOR}" }}
          ports:
            - {{ name: http, containerPort: {port} }}
          readinessProbe:
            httpGet: {{ path: /health, port: http }}
            periodSeconds: 10
          livenessProbe:
            httpGet: {{ path: /health, port: http }}
            periodSeconds: 30
            failureThreshold: 5
          volumeMounts:
            - {{ name: trust, mountPath: {TRUST_DIR}, readOnly: true }}
      volumes:
        - name: trust  # the public trust list; no service holds a private key
          configMap: {{ name: {TRUST_CONFIG_MAP} }}
"""


def render_token_issuer(agency: str, namespaced: bool = True) -> str:
    """The agency's token issuer on Kubernetes: the only workload given the agency's private key
    (the Secret `issuer_secret(agency)` of its own namespace). It runs no server and is scaled
    to none; an operator scales it up to run `jembatan token` in it, then down again."""
    namespace = f"jembatan-{agency}"
    metadata = f"  name: {TOKEN_ISSUER}\n" + (f"  namespace: {namespace}\n" if namespaced else "")
    return f"""---
# {agency}'s token issuer: the one workload given {agency}'s private key (the Secret
# {issuer_secret(agency)}); it serves nothing and runs only while tokens are being issued:
#   kubectl -n {namespace} scale deployment/{TOKEN_ISSUER} --replicas=1
#   kubectl -n {namespace} exec deploy/{TOKEN_ISSUER} -- \\
#     jembatan token --agency {agency} --user <login> --role <role>
#   kubectl -n {namespace} scale deployment/{TOKEN_ISSUER} --replicas=0
# An agency whose tokens come from its own OpenID Connect provider has no such Secret and
# leaves this at zero (deploy/README.md, Tokens).
apiVersion: apps/v1
kind: Deployment
metadata:
{metadata}spec:
  replicas: 0
  selector:
    matchLabels: {{ app: {TOKEN_ISSUER} }}
  template:
    metadata:
      labels: {{ app: {TOKEN_ISSUER}, jembatan/agency: {agency} }}
    spec:
      automountServiceAccountToken: false
      terminationGracePeriodSeconds: 1
      securityContext: {{ runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, fsGroup: 10001 }}
      containers:
        - name: {TOKEN_ISSUER}
          image: {SERVICE_IMAGE}
          command: ["sleep", "infinity"]
          env:
            - {{ name: JEMBATAN_ISSUER_FILE, value: {ISSUER_DIR}/{ISSUER_FILE} }}
          securityContext: {{ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true }}
          volumeMounts:
            - {{ name: issuer, mountPath: {ISSUER_DIR}, readOnly: true }}
      volumes:
        - name: issuer
          secret: {{ secretName: {issuer_secret(agency)}, defaultMode: 0440 }}
"""


def render_province_k8s(province: str) -> str:
    """One province on Kubernetes: its leaf nats-server (its committed config in a ConfigMap),
    PostgreSQL per service, and its services."""
    conf = f"{province}.conf"
    secrets = f"jembatan-{province}-secrets"
    out = [
        "# Rendered by deploy/nats/topology.py from its data; edit that file, then re-run it.\n",
        f"# {province} on Kubernetes: `kubectl apply -f deploy/k8s/provinces/{province}.yaml`"
        " after creating\n"
        f"# in namespace jembatan-{province}:\n"
        f"# - the Secret {secrets}: its JEMBATAN_NATS_{account_of(province)}_*_PASSWORD,\n"
        f"#   {hub_leaf_url_var(province)}, the NIK keys and the PostgreSQL passwords;\n"
        f"# - the ConfigMap {TRUST_CONFIG_MAP}, the public trust list every service reads:\n"
        f"#     kubectl -n jembatan-{province} create configmap {TRUST_CONFIG_MAP}"
        f" --from-file={TRUST_FILE}=deploy/{TRUST_FILE}\n"
        f"# - the Secret {issuer_secret(province)}, {province}'s private key, for the"
        f" {TOKEN_ISSUER} alone (none\n"
        f"#   when {province}'s tokens come from its own OpenID Connect provider):\n"
        f"#     kubectl -n jembatan-{province} create secret generic {issuer_secret(province)} \\\n"
        f"#       --from-file={ISSUER_FILE}=deploy/{ISSUERS_DIR}/{province}.json\n",
        f"""apiVersion: v1
kind: Namespace
metadata:
  name: jembatan-{province}
  labels:
    jembatan/agency: {province}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: nats-config
  namespace: jembatan-{province}
data:
  {conf}: |
{_indent(render_province(province), 4)}---
apiVersion: v1
kind: Service
metadata:
  name: nats
  namespace: jembatan-{province}
spec:
  selector: {{ app: nats }}
  ports:
    - {{ name: client, port: 4222 }}
    - {{ name: monitor, port: {MONITOR_PORT} }}
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: nats
  namespace: jembatan-{province}
spec:
  serviceName: nats
  replicas: 1
  selector:
    matchLabels: {{ app: nats }}
  template:
    metadata:
      labels: {{ app: nats }}
    spec:
      containers:
        - name: nats
          image: {NATS_IMAGE}
          args: ["-c", "/etc/nats/{conf}", "-js", "-sd", "/data", "-m", "{MONITOR_PORT}"]
          envFrom:
            - secretRef: {{ name: {secrets} }}
          ports:
            - {{ name: client, containerPort: 4222 }}
            - {{ name: monitor, containerPort: {MONITOR_PORT} }}
          readinessProbe:
            httpGet: {{ path: /healthz, port: monitor }}
          volumeMounts:
            - {{ name: config, mountPath: /etc/nats }}
            - {{ name: data, mountPath: /data }}
      volumes:
        - name: config
          configMap: {{ name: nats-config }}
  volumeClaimTemplates:
    - metadata:
        name: data
      spec:
        accessModes: ["ReadWriteOnce"]
        resources:
          requests: {{ storage: 20Gi }}
""",
    ]
    for service in PROVINCE_SERVICES:
        out.append(_k8s_postgres(province, service))
        out.append(_k8s_service(province, service))
    out.append(render_token_issuer(province))
    return "".join(out)


def render_hub_token_issuer() -> str:
    """Kemnaker's token issuer, for `kubectl apply -k deploy/` (which sets the namespace)."""
    return (
        "# Rendered by deploy/nats/topology.py from its data; edit that file, then re-run it.\n"
        + render_token_issuer(HUB_AGENCY, namespaced=False).removeprefix("---\n")
    )


def rendered() -> dict[Path, str]:
    files = {HERE / "hub.conf": render_hub()}
    files[HERE / "hub-cluster.conf"] = render_hub_cluster()
    files[HERE.parent / "compose.yaml"] = render_compose()
    files[HERE.parent / "k8s" / f"{TOKEN_ISSUER}.yaml"] = render_hub_token_issuer()
    for province in PROVINCES:
        files[HERE.parent / "k8s" / "provinces" / f"{province}.yaml"] = render_province_k8s(
            province
        )
    for province in PROVINCES:
        files[HERE / f"{province}.conf"] = render_province(province)
    for stream in hub_created_streams():
        files[HERE / f"hub-stream-{str(stream['name']).lower()}.json"] = (
            json.dumps(stream, indent=2) + "\n"
        )
    return files


if __name__ == "__main__":
    for path, text in rendered().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        print(f"wrote {path.relative_to(HERE.parent.parent)}", file=sys.stderr)
