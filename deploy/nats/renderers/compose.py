"""deploy/compose.yaml: the whole multi-agency deployment on one machine, Kemnaker's hub as three
nodes (as on Kubernetes), every province's leaf, PostgreSQL per service, the services, the
collector and Jaeger."""

from __future__ import annotations

import json

from topology import (
    AGENCIES,
    COLLECTOR_IMAGE,
    CONSOLE,
    CONSOLE_ISSUER_PATH,
    CONSOLE_OIDC_SECRET_DIR,
    CONSOLE_OIDC_SECRET_FILE,
    CONSOLE_PORT,
    HTTP_PORTS,
    HUB_AGENCY,
    HUB_CLUSTER_SIZE,
    HUB_STATEFULSET,
    IDENTITY_DIR,
    INDEX_KEYS_FILE,
    INDEX_KEYS_PATH,
    INDEX_PUBLIC_KEY_FILE,
    INDEX_PUBLIC_KEY_PATH,
    ISSUERS_DIR,
    JAEGER_IMAGE,
    KNOWN_AGENCIES,
    LEAF_PORT,
    NATS_BOX_IMAGE,
    NATS_IMAGE,
    OIDC_SIGN_IN,
    POSTGRES_IMAGE,
    PROVINCES,
    REVOCATIONS_SNAPSHOT_PATH,
    SERVICE_IMAGE,
    STATE_DIR,
    TRUST_FILE,
    TRUST_PATH,
    account_of,
    console_environment,
    console_host,
    console_services,
    hub_leaf_url_var,
    leaf_user,
    nats_host,
    nats_hosts,
    password_var,
    postgres_password_var,
    revocations_domain,
    service_host,
    services_of,
    stream_replicas,
    users_of,
)

from jembatan_kit.nats_permissions import READ_MODELS

from . import HEADER
from .hub_streams import file_name, hub_stream_names, hub_streams_command


def host_port(agency: str, service: str) -> int:
    """Where the compose file publishes a service: Kemnaker's on 800x, the n-th province's on
    8n0x (kaltim 8101, 8102; boyolali 8201, ...); each agency's console on 8n07."""
    offset = 0 if agency == HUB_AGENCY else 100 * (PROVINCES.index(agency) + 1)
    return (CONSOLE_PORT if service == CONSOLE else HTTP_PORTS[service]) + offset


def nats_url(agency: str, user: str, password: str, hosts: tuple[str, ...]) -> str:
    """`NATS_URL` naming every node, each with the credentials: a client reconnects to another
    node when its own is lost (the addresses a cluster announces carry no credentials)."""
    return ",".join(f"nats://{user}:{password}@{host}:4222" for host in hosts)


def service_urls(agency: str) -> dict[str, str]:
    """Where a browser on the compose machine reaches the agency's other services (the dashboard
    links their API docs)."""
    return {
        other: f"http://localhost:{host_port(agency, other)}"
        for other in services_of(agency)
        if other not in READ_MODELS
    }


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


def _compose_service(agency: str, service: str, after: tuple[tuple[str, str], ...]) -> str:
    host = service_host(agency, service)
    port = HTTP_PORTS[service]
    nats_password = password_var(agency, service)
    pg_password = postgres_password_var(agency, service)
    env = {
        "AGENCY": agency,
        "KNOWN_AGENCIES": KNOWN_AGENCIES,
        "HTTP_HOST": "0.0.0.0",
        "HTTP_PORT": str(port),
        "DATABASE_URL": f"postgresql+asyncpg://{service}:${{{pg_password}}}@{host}-db:5432/{service}",
        "NATS_URL": nats_url(agency, service, f"${{{nats_password}}}", nats_hosts(agency)),
        "ENSURE_STREAMS": "own",
        "STREAM_REPLICAS": str(stream_replicas(agency)),
        "AUTH_TRUST_FILE": TRUST_PATH,
        "REVOCATIONS_SNAPSHOT_FILE": REVOCATIONS_SNAPSHOT_PATH,
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel-collector:4318",
    }
    if service == "registration":
        for key in ("NIK_ENCRYPTION_KEY", "NIK_HASH_KEY"):
            var = f"JEMBATAN_{account_of(agency)}_{key}"
            env[key] = f"${{{var}:?run deploy/make-env.py}}"
    if (domain := revocations_domain(agency)) is not None:
        env["REVOCATIONS_JS_DOMAIN"] = domain
    keys: list[tuple[str, str]] = []  # the index's keys: (made by make-env.py, where mounted)
    if service == "identity":
        env["IDENTITY_KEYS_FILE"] = INDEX_KEYS_PATH
        keys.append((f"./{IDENTITY_DIR}/{INDEX_KEYS_FILE}", INDEX_KEYS_PATH))
    if service == "registration":
        env["IDENTITY_PUBLIC_KEY_FILE"] = INDEX_PUBLIC_KEY_PATH
        keys.append((f"./{IDENTITY_DIR}/{INDEX_PUBLIC_KEY_FILE}", INDEX_PUBLIC_KEY_PATH))
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
        + "    volumes:  # the public trust list; no private key but the index's, for it alone\n"
        + "".join(
            "      - type: bind\n"
            f"        source: {source}\n"
            f"        target: {target}\n"
            "        read_only: true\n"
            "        bind: { create_host_path: false }\n"
            for source, target in [(f"./{TRUST_FILE}", TRUST_PATH), *keys]
        )
        + "      - type: volume  # the revocation list it read, for a restart\n"
        f"        source: {host}-state\n"
        f"        target: {STATE_DIR}\n"
        f'    ports: ["{host_port(agency, service)}:{port}"]\n'
        "    depends_on:\n" + "".join(depends) + "    healthcheck:\n"
        f'      test: ["CMD", "python", "-c", "{health}"]\n'
        "      interval: 5s\n"
        "      retries: 30\n"
        "    restart: unless-stopped\n"
    )


def _bind(source: str, target: str) -> str:
    return (
        "      - type: bind\n"
        f"        source: {source}\n"
        f"        target: {target}\n"
        "        read_only: true\n"
        "        bind: { create_host_path: false }\n"
    )


def _compose_console(agency: str) -> str:
    """The agency's console: it calls the services over the compose network with its
    operators' tokens, signed with the agency's own key (./issuers/<agency>.json, and no other
    agency's) or, for an agency signing in at its own provider, the provider's (no key)."""
    host = console_host(agency)
    urls = {
        service: f"http://{service_host(owner, service)}:{HTTP_PORTS[service]}"
        for service, owner in console_services(agency).items()
    }
    env = console_environment(agency, urls)
    env["SERVICE_URLS"] = "'" + env["SERVICE_URLS"] + "'"
    env["CONSOLE_SECURE_COOKIES"] = "'false'  # plain http on this machine; true behind https"
    mounts = [_bind(f"./{TRUST_FILE}", TRUST_PATH)]
    if agency in OIDC_SIGN_IN:
        if OIDC_SIGN_IN[agency].confidential:
            secret = f"{CONSOLE_OIDC_SECRET_DIR}/{CONSOLE_OIDC_SECRET_FILE}"
            mounts.append(_bind(f"./console-oidc/{agency}.secret", secret))
        key = "no key: its operators sign in at the agency's own provider"
    else:
        mounts.append(_bind(f"./{ISSUERS_DIR}/{agency}.json", CONSOLE_ISSUER_PATH))
        key = f"{agency}'s own key, and no other agency's"
    health = (
        "import urllib.request; "
        f"urllib.request.urlopen('http://127.0.0.1:{CONSOLE_PORT}/health', timeout=2)"
    )
    return (
        f"  # {agency}'s operators' console ({key}). Operators:\n"
        f"  #   docker compose -f deploy/compose.yaml exec {host} jembatan operator add \\\n"
        f"  #     --data-dir {STATE_DIR} --agency {agency} --login <login> --role <role>\n"
        f"  {host}:\n"
        f"    image: {SERVICE_IMAGE}\n"
        "    build: { context: .., dockerfile: deploy/Dockerfile }\n"
        f'    command: ["jembatan-{CONSOLE}"]\n'
        "    environment:\n"
        + "".join(f"      {key}: {value}\n" for key, value in env.items())
        + "    volumes:\n"
        + "".join(mounts)
        + "      - type: volume  # its operators and the key of its cookies\n"
        f"        source: {host}-state\n"
        f"        target: {STATE_DIR}\n"
        f'    ports: ["{host_port(agency, CONSOLE)}:{CONSOLE_PORT}"]\n'
        "    healthcheck:\n"
        f'      test: ["CMD", "python", "-c", "{health}"]\n'
        "      interval: 5s\n"
        "      retries: 30\n"
        "    restart: unless-stopped\n"
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
        HEADER,
        "# The whole multi-agency deployment on one machine: Kemnaker's hub and every province's"
        " leaf\n# server from deploy/nats, PostgreSQL per service, the services, an OpenTelemetry"
        " collector\n# and Jaeger (http://localhost:16686).\n",
        "#   docker build -f deploy/Dockerfile -t jembatan:0.1.0 .\n",
        "#   uv run python deploy/make-env.py     # .env, issuers/, trust.json; never committed\n",
        "#   docker compose -f deploy/compose.yaml up\n",
        "# Every service reads the public trust list ./trust.json; each agency's private key\n"
        "# stays in ./issuers/ on this machine, for `jembatan token` and for that agency's\n"
        "# console alone, which is given its own agency's file (deploy/README.md, Tokens).\n",
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
            f"      - ./nats/{file_name(name)}:/etc/jembatan/{file_name(name)}:ro\n"
            for name in hub_stream_names()
        )
        + f'    command: ["sh", "-c", "{hub_streams_command()}"]\n'
        f"    depends_on: [{', '.join(nats_hosts(HUB_AGENCY))}]\n"
        "    restart: on-failure\n",
    ]
    for agency in AGENCIES:
        if agency != HUB_AGENCY:
            out.append(_compose_nats(agency))
        for service in services_of(agency):
            out.append(_compose_postgres(agency, service))
            out.append(_compose_service(agency, service, _after(agency, service)))
        out.append(_compose_console(agency))
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
    volumes = [f"{host}-data" for a in AGENCIES for host in nats_hosts(a)]
    volumes += [f"{service_host(a, s)}-db-data" for a in AGENCIES for s in services_of(a)]
    volumes += [f"{service_host(a, s)}-state" for a in AGENCIES for s in services_of(a)]
    volumes += [f"{console_host(a)}-state" for a in AGENCIES]
    out += [f"  {volume}: {{}}\n" for volume in volumes]
    return "".join(out)
