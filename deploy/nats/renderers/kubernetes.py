"""The Kubernetes manifests rendered from the topology: each province's (its leaf nats-server with
its config, PostgreSQL per service, its services, its token issuer), and Kemnaker's token issuer
and list of agencies. The hub's other manifests (deploy/k8s/*.yaml, `kubectl apply -k deploy/`)
are written by hand."""

from __future__ import annotations

import json

from topology import (
    AGENCIES_CONFIG_MAP,
    CONSOLE,
    CONSOLE_OIDC_SECRET_DIR,
    CONSOLE_OIDC_SECRET_FILE,
    CONSOLE_PORT,
    HTTP_PORTS,
    HUB_AGENCY,
    IDENTITY_DIR,
    INDEX_PUBLIC_CONFIG_MAP,
    INDEX_PUBLIC_DIR,
    INDEX_PUBLIC_KEY_FILE,
    INDEX_PUBLIC_KEY_PATH,
    ISSUER_DIR,
    ISSUER_FILE,
    ISSUERS_DIR,
    KNOWN_AGENCIES,
    MONITOR_PORT,
    NATS_IMAGE,
    OIDC_SIGN_IN,
    POSTGRES_IMAGE,
    PROVINCE_SERVICES,
    REVOCATIONS_SNAPSHOT_PATH,
    SERVICE_IMAGE,
    STATE_DIR,
    TOKEN_ISSUER,
    TRUST_CONFIG_MAP,
    TRUST_DIR,
    TRUST_FILE,
    TRUST_PATH,
    account_of,
    console_environment,
    console_oidc_secret,
    console_services,
    hub_leaf_url_var,
    issuer_secret,
    password_var,
    postgres_password_var,
    revocations_domain,
    stream_replicas,
)

from . import HEADER
from .nats_configs import render_province


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
        nik += (
            f"            - {{ name: IDENTITY_PUBLIC_KEY_FILE, value: {INDEX_PUBLIC_KEY_PATH} }}\n"
        )
        index_mount = (
            f"            - {{ name: index-public-key, mountPath: {INDEX_PUBLIC_DIR},"
            " readOnly: true }\n"
        )
        index_volume = (
            "        - name: index-public-key  # the identity index's public key\n"
            f"          configMap: {{ name: {INDEX_PUBLIC_CONFIG_MAP} }}\n"
        )
    else:
        index_mount = index_volume = ""
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
            - {{ name: KNOWN_AGENCIES, value: "{KNOWN_AGENCIES}" }}
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
            - {{ name: REVOCATIONS_SNAPSHOT_FILE, value: {REVOCATIONS_SNAPSHOT_PATH} }}
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
            - {{ name: state, mountPath: {STATE_DIR} }}
{index_mount}      volumes:
        - name: trust  # the public trust list; no service holds a private key
          configMap: {{ name: {TRUST_CONFIG_MAP} }}
        - name: state  # the revocation list it read: kept while the pod lives, across restarts
          emptyDir: {{}}
{index_volume}"""


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
            - {{ name: KNOWN_AGENCIES, value: "{KNOWN_AGENCIES}" }}
          securityContext: {{ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true }}
          volumeMounts:
            - {{ name: issuer, mountPath: {ISSUER_DIR}, readOnly: true }}
      volumes:
        - name: issuer
          secret: {{ secretName: {issuer_secret(agency)}, defaultMode: 0440 }}
"""


CONTAINER_SECURITY = "allowPrivilegeEscalation: false, readOnlyRootFilesystem: true"


def render_console_k8s(agency: str, namespaced: bool = True) -> str:
    """The agency's console: one replica (its operators file and the key of its cookies live
    on its volume), the trust list, and either the agency's own key (the Secret
    `issuer_secret(agency)` of its namespace, mounted read-only) or, for an agency signing in
    at its own provider, no key at all. Exposed through the agency's ingress over https."""
    namespace = f"jembatan-{agency}"
    metadata = f"  name: {CONSOLE}\n" + (f"  namespace: {namespace}\n" if namespaced else "")
    urls = {
        service: (
            f"http://{service}:{HTTP_PORTS[service]}"
            if owner == agency
            else f"http://{service}.jembatan-{owner}:{HTTP_PORTS[service]}"
        )
        for service, owner in console_services(agency).items()
    }
    env = console_environment(agency, urls) | {"CONSOLE_SECURE_COOKIES": "true"}
    item = "            - "
    env_lines = "".join(
        f"{item}{{ name: {key}, value: {json.dumps(value)} }}\n" for key, value in env.items()
    )
    mounts = [f"{item}{{ name: trust, mountPath: {TRUST_DIR}, readOnly: true }}\n"]
    volumes = [
        "        - name: trust\n",
        f"          configMap: {{ name: {TRUST_CONFIG_MAP} }}\n",
    ]
    provider = OIDC_SIGN_IN.get(agency)
    if provider is None:
        mounts.append(f"{item}{{ name: issuer, mountPath: {ISSUER_DIR}, readOnly: true }}\n")
        volumes += [
            f"        - name: issuer  # {agency}'s own key: it signs its operators' tokens\n",
            f"          secret: {{ secretName: {issuer_secret(agency)}, defaultMode: 0440 }}\n",
        ]
        sign_in = f"its local operators with {agency}'s key (Secret {issuer_secret(agency)})"
    else:
        sign_in = f"at {agency}'s own provider, {provider.issuer}; it holds no key"
        if provider.confidential:
            mounts.append(
                f"{item}{{ name: oidc, mountPath: {CONSOLE_OIDC_SECRET_DIR}, readOnly: true }}\n"
            )
            volumes += [
                "        - name: oidc  # the console's client secret at the provider\n",
                f"          secret: {{ secretName: {console_oidc_secret(agency)},"
                f" defaultMode: 0440, items: [{{ key: {CONSOLE_OIDC_SECRET_FILE},"
                f" path: {CONSOLE_OIDC_SECRET_FILE} }}] }}\n",
            ]
    mounts.append(f"{item}{{ name: state, mountPath: {STATE_DIR} }}\n")
    mounts.append(f"{item}{{ name: tmp, mountPath: /tmp }}\n")
    volumes += [
        "        - name: state  # its operators and the key of its cookies and links\n",
        f"          persistentVolumeClaim: {{ claimName: {CONSOLE}-state }}\n",
        "        - name: tmp  # where a large upload spools: the root filesystem is read-only\n",
        "          emptyDir: {}\n",
    ]
    return f"""---
# {agency}'s operators' console: it signs in {sign_in}.
# Local operators are added in its pod:
#   kubectl -n {namespace} exec -it deploy/{CONSOLE} -- \\
#     jembatan operator add --data-dir {STATE_DIR} --agency {agency} --login <login> --role <role>
apiVersion: v1
kind: Service
metadata:
{metadata}spec:
  selector: {{ app: {CONSOLE} }}
  ports:
    - {{ name: http, port: {CONSOLE_PORT}, targetPort: http }}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: {CONSOLE}-state
{metadata.split(chr(10), 1)[1]}spec:
  accessModes: ["ReadWriteOnce"]
  resources:
    requests: {{ storage: 1Gi }}
---
apiVersion: apps/v1
kind: Deployment
metadata:
{metadata}spec:
  replicas: 1
  strategy: {{ type: Recreate }}
  selector:
    matchLabels: {{ app: {CONSOLE} }}
  template:
    metadata:
      labels: {{ app: {CONSOLE}, jembatan/agency: {agency} }}
    spec:
      automountServiceAccountToken: false
      securityContext: {{ runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, fsGroup: 10001 }}
      containers:
        - name: {CONSOLE}
          image: {SERVICE_IMAGE}
          command: ["jembatan-{CONSOLE}"]
          env:
{env_lines}          securityContext: {{ {CONTAINER_SECURITY} }}
          ports:
            - {{ name: http, containerPort: {CONSOLE_PORT} }}
          readinessProbe:
            httpGet: {{ path: /health, port: http }}
            periodSeconds: 10
          livenessProbe:
            httpGet: {{ path: /health, port: http }}
            periodSeconds: 30
            failureThreshold: 5
          volumeMounts:
{"".join(mounts)}      volumes:
{"".join(volumes)}"""


def render_hub_console() -> str:
    """Kemnaker's console, for `kubectl apply -k deploy/` (which sets the namespace)."""
    return HEADER + render_console_k8s(HUB_AGENCY, namespaced=False).removeprefix("---\n")


def render_province_k8s(province: str) -> str:
    """One province on Kubernetes: its leaf nats-server (its committed config in a ConfigMap),
    PostgreSQL per service, and its services."""
    conf = f"{province}.conf"
    secrets = f"jembatan-{province}-secrets"
    out = [
        HEADER,
        f"# {province} on Kubernetes: `kubectl apply -f deploy/k8s/provinces/{province}.yaml`"
        " after creating\n"
        f"# in namespace jembatan-{province}:\n"
        f"# - the Secret {secrets}: its JEMBATAN_NATS_{account_of(province)}_*_PASSWORD,\n"
        f"#   {hub_leaf_url_var(province)}, the NIK keys and the PostgreSQL passwords;\n"
        f"# - the ConfigMap {TRUST_CONFIG_MAP}, the public trust list every service reads:\n"
        f"#     kubectl -n jembatan-{province} create configmap {TRUST_CONFIG_MAP}"
        f" --from-file={TRUST_FILE}=deploy/{TRUST_FILE}\n"
        f"# - the ConfigMap {INDEX_PUBLIC_CONFIG_MAP}, the identity index's public key:\n"
        f"#     kubectl -n jembatan-{province} create configmap {INDEX_PUBLIC_CONFIG_MAP}"
        f" --from-file={INDEX_PUBLIC_KEY_FILE}=deploy/{IDENTITY_DIR}/{INDEX_PUBLIC_KEY_FILE}\n"
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
    out.append(render_console_k8s(province))
    return "".join(out)


def render_hub_token_issuer() -> str:
    """Kemnaker's token issuer, for `kubectl apply -k deploy/` (which sets the namespace)."""
    return HEADER + render_token_issuer(HUB_AGENCY, namespaced=False).removeprefix("---\n")


def render_hub_agencies() -> str:
    """The agencies Kemnaker's services know, for `kubectl apply -k deploy/`: its services'
    manifests (k8s/services.yaml) take their KNOWN_AGENCIES from it."""
    return (
        HEADER + "# Every agency of the topology: KNOWN_AGENCIES of Kemnaker's services"
        " (k8s/services.yaml),\n# whose tokens and events they accept. The provinces' manifests"
        " carry the same list.\n"
        f"""apiVersion: v1
kind: ConfigMap
metadata:
  name: {AGENCIES_CONFIG_MAP}
data:
  KNOWN_AGENCIES: {KNOWN_AGENCIES}
"""
    )
