"""The multi-agency deployment as data: its agencies, which services run where, what crosses
the leaf links, the NATS accounts and users, and the names, ports and images the rendered files
share. The files themselves are written by the renderers beside it (renderers/: the nats-server
configs, the hub's stream configs, the compose file, the Kubernetes manifests).

Kemnaker runs the hub; each province or district runs a leaf node with its own JetStream domain.
Every agency is one NATS account; every service connects as its own user, limited to its own
subjects. The hub's REGISTRATION and TRAINING streams source, from each province's streams across
the leaf link, only the events Kemnaker's services consume (placement, financing and the
dashboard, which follows every agency's candidates).

    uv run python deploy/nats/topology.py      # rewrite every rendered file after changing this one

What each service's user may do is jembatan_kit.nats_permissions, which `jembatan up` renders into
the embedded default's server too.

Passwords are never in the configs: each is an environment variable named by `password_var`.

The national identity index (services/identity, docs/identity-index.md) runs at the hub too. A
province's registration asks it by request-reply under `identity.<province>.>`, which its leaf may
send up and the hub's account offers that province's account alone.

The revocation bucket (jembatan_kit.revocation) lives at the hub. Every service reads it, a
province's across its leaf connection in the hub's JetStream domain: the hub offers each province
the bucket's direct gets and stream info, and the writes of that province's own keys for its
operator; nothing else of the bucket, so a province neither writes another agency's keys nor
creates a consumer (which would deliver wherever its creator says, in Kemnaker's account).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from jembatan_cli.consumers import consumers_by_service
from jembatan_contracts import Event
from jembatan_contracts.identity import identity_requests
from jembatan_kit.nats_permissions import (
    Consumers,
    revocation_read_grants,
    revocation_write_grants,
    service_permissions,
)

HUB_AGENCY = "kemnaker"
PROVINCES = ("kaltim", "boyolali", "kota-serang")
HUB_SERVICES = ("placement", "financing", "dashboard", "identity")
PROVINCE_SERVICES = ("registration", "training")
AGENCIES = (HUB_AGENCY, *PROVINCES)
KNOWN_AGENCIES = ",".join(AGENCIES)
"""KNOWN_AGENCIES of every service and token issuer, wherever it runs: every agency of the
topology, whose tokens and events they accept. A province added above is known everywhere once
the files are rendered again."""
MAX_PAYLOAD = "256KB"
MAX_PAYLOAD_BYTES = 256 * 1024
"""The largest message a server takes. Events are at most `MAX_EVENT_BYTES` (64 KiB) and a dead
letter carrying one at most `DEAD_LETTER_MAX_BYTES` (80 KiB); an object store chunk is 128 KiB.
Four times an event leaves headroom, and refuses at once what no producer of ours can send."""
LEAF_PORT = 7422
SYNC_INTERVAL = "always"
"""When JetStream flushes its files to disk (`sync_interval`), on the hub's nodes and the
provinces' leaves alike: before each acknowledgement. The default (every two minutes) loses
acknowledged events to a power failure or kernel crash (on a leaf, a single one; on the hub, one
combined with a pause or partition elsewhere). Measured cost and reasoning: deploy/README.md,
"Durability", and BENCHMARKS.md (`bench/sync_interval.py`)."""


def account_of(agency: str) -> str:
    return agency.upper().replace("-", "_")


def password_var(agency: str, user: str) -> str:
    return f"JEMBATAN_NATS_{account_of(agency)}_{user.upper().replace('-', '_')}_PASSWORD"


def domain_of(agency: str) -> str:
    return agency


def services_of(agency: str) -> tuple[str, ...]:
    return HUB_SERVICES if agency == HUB_AGENCY else PROVINCE_SERVICES


def consumers() -> Consumers:
    """Every service's durable consumers, read from its own composition root (its bootstrap):
    what the services' users may consume, and what the hub sources from the provinces."""
    return consumers_by_service((*PROVINCE_SERVICES, *HUB_SERVICES))


def hub_leaf_url_var(province: str) -> str:
    return f"JEMBATAN_{account_of(province)}_HUB_LEAF_URL"


# --- what crosses the leaf links -------------------------------------------------------------


def sourced_from_provinces() -> tuple[type[Event], ...]:
    """Events the hub's services consume from streams that live in the provinces, each once."""
    events = (
        consumes.event
        for service in HUB_SERVICES
        for consumes in consumers()[service]
        if consumes.event.stream_name().lower() in PROVINCE_SERVICES
    )
    return tuple(dict.fromkeys(events))


def sourced_streams() -> tuple[str, ...]:
    """The provinces' streams the hub sources from."""
    return tuple(sorted({e.stream_name() for e in sourced_from_provinces()}))


def sync_deliver_prefix(province: str, stream: str) -> str:
    return f"jembatan-sync.{province}.{stream.lower()}"


def source_consumer_create(province: str, stream: str, event: type[Event]) -> str:
    """The API subject the hub's sourcing stream uses to open its consumer in the province."""
    return f"$JS.{domain_of(province)}.API.CONSUMER.CREATE.{stream}.*.{event.subject_for(province)}"


# --- accounts and users ----------------------------------------------------------------------


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
    rights = service_permissions(
        service, consumers(), event_prefix(agency), revocations_domain(agency)
    )
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
            *(sync_deliver_prefix(province, s) + ".>" for s in sourced_streams()),
            "_R_.>",
            identity_requests(province),
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


def identity_service(province: str) -> str:
    """What the hub's account offers the province's account of the national identity index: the
    requests of the province's own agency only (claims, releases, notices), so the index knows
    which agency asks from the subject (jembatan_contracts.identity)."""
    return identity_requests(province)


def users_of(agency: str) -> tuple[User, ...]:
    """The client users on the agency's own server (the hub for Kemnaker)."""
    return (*(service_user(agency, s) for s in services_of(agency)), ops_user(agency))


# --- the hub as a three-node JetStream cluster -----------------------------------------------

HUB_CLUSTER_SIZE = 3
HUB_STATEFULSET = "nats-hub"
CLUSTER_PORT = 6222
MONITOR_PORT = 8222


def hub_route(ordinal: int) -> str:
    """Node `ordinal` of the StatefulSet, by its stable name under the headless service."""
    return f"nats-route://{HUB_STATEFULSET}-{ordinal}.{HUB_STATEFULSET}:{CLUSTER_PORT}"


# --- where the servers, databases and services run -------------------------------------------

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
    "identity": 8006,
}
"""Each service's HTTP_PORT default (its settings); the container listens there."""


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


def service_host(agency: str, service: str) -> str:
    return service if agency == HUB_AGENCY else f"{agency}-{service}"


def postgres_password_var(agency: str, service: str) -> str:
    return f"JEMBATAN_PG_{account_of(agency)}_{service.upper()}_PASSWORD"


# --- tokens: each agency's own key, one public trust list --------------------------------------

TRUST_FILE = "trust.json"
"""The public trust list deploy/make-env.py writes beside compose.yaml (`jembatan_kit.trust`):
every issuer, its public keys and the one agency it speaks for."""
TRUST_DIR = "/etc/jembatan/trust"
TRUST_PATH = f"{TRUST_DIR}/{TRUST_FILE}"
"""AUTH_TRUST_FILE of every service, in compose and on Kubernetes alike."""
STATE_DIR = "/var/lib/jembatan"
"""Each service container's own writable folder (a volume), kept across restarts."""
REVOCATIONS_SNAPSHOT_PATH = f"{STATE_DIR}/revocations.json"
"""REVOCATIONS_SNAPSHOT_FILE of every service: the revocation list it last read, to serve with
after a restart while the hub's bucket does not answer (docs/security.md)."""
TRUST_CONFIG_MAP = "jembatan-trust"
"""The ConfigMap holding the trust list (key trust.json), the same in every agency's namespace."""
AGENCIES_CONFIG_MAP = "jembatan-agencies"
"""The ConfigMap holding KNOWN_AGENCIES in Kemnaker's namespace, for its services' manifests."""
ISSUERS_DIR = "issuers"
"""Where deploy/make-env.py keeps each agency's private key (`issuers/<agency>.json`, 0600):
on the operator's machine, never mounted into a container of compose.yaml."""
ISSUER_DIR = "/etc/jembatan/issuer"
ISSUER_FILE = "issuer.json"
TOKEN_ISSUER = "token-issuer"
"""The one workload of an agency's namespace that gets the agency's private key: it runs
`jembatan token` on demand and serves nothing."""


# --- the national identity index's keys ---------------------------------------------------------

IDENTITY_DIR = "identity"
"""Where deploy/make-env.py keeps the index's keys beside compose.yaml (never committed):
`identity/index-keys.json` (0600: its X25519 private key and the national HMAC key, for the
identity service alone) and `identity/index-public.key` (the public key every registration
service seals NIKs to)."""
INDEX_KEYS_FILE = "index-keys.json"
INDEX_PUBLIC_KEY_FILE = "index-public.key"
INDEX_KEYS_DIR = "/etc/jembatan/identity-keys"
INDEX_PUBLIC_DIR = "/etc/jembatan/identity"
INDEX_KEYS_PATH = f"{INDEX_KEYS_DIR}/{INDEX_KEYS_FILE}"
"""IDENTITY_KEYS_FILE of the identity service."""
INDEX_PUBLIC_KEY_PATH = f"{INDEX_PUBLIC_DIR}/{INDEX_PUBLIC_KEY_FILE}"
"""IDENTITY_PUBLIC_KEY_FILE of every registration service."""
INDEX_KEYS_SECRET = "jembatan-identity-index-keys"
"""The Secret of Kemnaker's namespace holding the index's key file (key index-keys.json)."""
INDEX_PUBLIC_CONFIG_MAP = "jembatan-identity-public-key"
"""The ConfigMap holding the index's public key (key index-public.key), in every province's
namespace."""


def issuer_secret(agency: str) -> str:
    """The Secret of namespace jembatan-<agency> holding the agency's issuer file."""
    return f"jembatan-{agency}-issuer"


# --- the operators' console: one per agency ----------------------------------------------------

CONSOLE = "console"
CONSOLE_PORT = 8007
"""The console's HTTP_PORT default (jembatan_console.config); published like the services'."""
CONSOLE_CALLS_AT_HUB = ("placement", "financing")
CONSOLE_OPERATORS_DIR = f"{STATE_DIR}/console-operators"
"""Where the console's local operators are kept, on its own volume: `jembatan operator add
--data-dir /var/lib/jembatan` run in the console's container writes
`console-operators/<agency>.json` there (Argon2id hashes, 0600), read at every sign-in."""
CONSOLE_SECRET_PATH = f"{STATE_DIR}/console-secret"
"""CONSOLE_SECRET_FILE: the key of its session cookies and statement links, made at first start
on its volume."""
CONSOLE_ISSUER_PATH = f"{ISSUER_DIR}/{ISSUER_FILE}"
"""CONSOLE_ISSUER_FILE: its own agency's issuer file, and no other agency's."""
CONSOLE_OIDC_SECRET_DIR = "/etc/jembatan/console-oidc"
CONSOLE_OIDC_SECRET_FILE = "client-secret"


@dataclass(frozen=True)
class OidcSignIn:
    """An agency whose operators sign in at its own OpenID Connect provider: its console gets
    the provider's settings and no key (the provider's entry in trust.json: deploy/README.md,
    Tokens)."""

    issuer: str
    """The provider's issuer URL, exactly as its entry in trust.json names it."""
    console_url: str
    """Where the agency's operators reach the console (https://...): the provider sends them
    back to `<console_url>/login/oidc/callback`, the redirect URL registered with it."""
    client_id: str = "jembatan-console"
    confidential: bool = False
    """A confidential client: its secret in the Secret `console_oidc_secret(agency)` (compose:
    `console-oidc/<agency>.secret`). A public client has none: PKCE protects its codes."""


OIDC_SIGN_IN: dict[str, OidcSignIn] = {}
"""The agencies whose operators sign in at their own provider, e.g.
`{"kaltim": OidcSignIn("https://sso.kaltimprov.go.id/realms/disnakertrans",
"https://konsol.disnakertrans.kaltimprov.go.id")}`. Every other agency's console signs in its
local operators with the agency's own key."""


def console_host(agency: str) -> str:
    return service_host(agency, CONSOLE)


def console_services(agency: str) -> dict[str, str]:
    """The services an agency's console calls, by the agency that runs each: a province's own
    registration and training, and Kemnaker's placement and financing (Kemnaker's console has
    no registration or training of its own to call)."""
    own = {} if agency == HUB_AGENCY else dict.fromkeys(PROVINCE_SERVICES, agency)
    return own | dict.fromkeys(CONSOLE_CALLS_AT_HUB, HUB_AGENCY)


def console_environment(agency: str, service_urls: dict[str, str]) -> dict[str, str]:
    """The console's settings (jembatan_console.config) in compose and on Kubernetes alike:
    its agency, the services it calls, its operators and secret on its own volume, and how its
    operators sign in: the agency's key (CONSOLE_ISSUER_FILE), or the agency's provider."""
    env = {
        "CONSOLE_AGENCY": agency,
        "HTTP_HOST": "0.0.0.0",
        "HTTP_PORT": str(CONSOLE_PORT),
        "SERVICE_URLS": json.dumps(service_urls),
        "CONSOLE_OPERATORS_FILE": f"{CONSOLE_OPERATORS_DIR}/{agency}.json",
        "CONSOLE_SECRET_FILE": CONSOLE_SECRET_PATH,
        "AUTH_TRUST_FILE": TRUST_PATH,
    }
    provider = OIDC_SIGN_IN.get(agency)
    if provider is None:
        env["CONSOLE_ISSUER_FILE"] = CONSOLE_ISSUER_PATH
        return env
    env["CONSOLE_OIDC_ISSUER"] = provider.issuer
    env["CONSOLE_OIDC_CLIENT_ID"] = provider.client_id
    env["CONSOLE_OIDC_REDIRECT_URL"] = f"{provider.console_url.rstrip('/')}/login/oidc/callback"
    if provider.confidential:
        secret = f"{CONSOLE_OIDC_SECRET_DIR}/{CONSOLE_OIDC_SECRET_FILE}"
        env["CONSOLE_OIDC_CLIENT_SECRET_FILE"] = secret
    return env


def console_oidc_secret(agency: str) -> str:
    """The Secret of namespace jembatan-<agency> holding a confidential console client's
    secret (key client-secret)."""
    return f"jembatan-{agency}-console-oidc"


if __name__ == "__main__":
    import renderers.files  # beside this file, as the script's folder is on the path

    renderers.files.write()
