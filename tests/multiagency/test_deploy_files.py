"""The committed deployment files: the nats-server configs are what the topology renders and
nats-server accepts them; the compose file and the Kubernetes manifests parse, and their images,
ports, databases, NATS users and mounted configs agree with the services' settings and the
topology; the hub's cluster config forms a three-node JetStream cluster for real. Tokens: every
service reads the one public trust list, no service is given a private key, and make-env.py
gives each agency its own key, whose tokens speak for that agency alone."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import urlopen

import jwt
import nats
import nats.errors
import pytest
import yaml  # type: ignore[import-untyped]
from fastapi.testclient import TestClient

from jembatan_console.app import build_app
from jembatan_console.config import ConsoleSettings
from jembatan_console.operators import add_operator
from jembatan_contracts import DEAD_LETTER
from jembatan_contracts.limits import DEAD_LETTER_MAX_BYTES
from jembatan_dashboard.config import DashboardSettings
from jembatan_financing.config import FinancingSettings
from jembatan_identity.config import IdentitySettings
from jembatan_kit.auth import TokenPolicy, read_token
from jembatan_kit.broker import ensure_streams, nats_servers
from jembatan_kit.consumer import dead_letter_bodies
from jembatan_kit.issuers import LocalIssuer, issue_token
from jembatan_kit.nats_server import NatsServerProcess, free_ports, nats_server_binary
from jembatan_kit.revocation import STREAM as REVOCATIONS
from jembatan_kit.settings import ServiceSettings
from jembatan_kit.trust import TrustList
from jembatan_placement.config import PlacementSettings
from jembatan_registration.config import RegistrationSettings
from jembatan_training.config import TrainingSettings

from .conftest import (
    DEPLOY,
    NATS_CONFIGS,
    Federation,
    dev_password,
    hub_streams,
    rendered_files,
    topology,
)

SETTINGS: dict[str, type[ServiceSettings]] = {
    "registration": RegistrationSettings,
    "training": TrainingSettings,
    "placement": PlacementSettings,
    "financing": FinancingSettings,
    "dashboard": DashboardSettings,
    "identity": IdentitySettings,
}
AGENCIES = topology.AGENCIES


def config_env(config: Path) -> dict[str, str]:
    env = dict(os.environ, NATS_SERVER_NAME="hub-test")
    for variable in re.findall(r"\$(JEMBATAN_[A-Z0-9_]+)", config.read_text()):
        env[variable] = (
            "nats-leaf://leaf:pw@127.0.0.1:7422"
            if variable.endswith("_URL")
            else dev_password(variable)
        )
    return env


def test_committed_configs_are_the_rendered_topology() -> None:
    for path, text in rendered_files.rendered().items():
        assert path.read_text() == text, f"{path.name} differs: run deploy/nats/topology.py"


@pytest.mark.parametrize("config", sorted(NATS_CONFIGS.glob("*.conf")), ids=lambda p: p.name)
def test_nats_server_accepts_each_config(config: Path) -> None:
    env = config_env(config)
    if config.name == "hub-cluster.conf":
        env.update(config_env(NATS_CONFIGS / "hub.conf"))
    result = subprocess.run(
        [nats_server_binary(), "-t", "-c", str(config)], env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


# --- compose ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return document


def nats_server_minor() -> str:
    version = subprocess.run(
        [nats_server_binary(), "--version"], capture_output=True, text=True, check=True
    ).stdout
    match = re.search(r"v(\d+\.\d+)", version)
    assert match, version
    return match.group(1)


def mounted_file(volume: str, base: Path = DEPLOY) -> Path:
    return (base / volume.split(":")[0]).resolve()


def test_compose_runs_every_agency_with_its_own_nats_server_and_config(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    for agency in AGENCIES:
        conf = "hub-cluster.conf" if agency == topology.HUB_AGENCY else f"{agency}.conf"
        stores = set()
        for host in topology.nats_hosts(agency):
            server = services[host]
            assert server["image"] == topology.NATS_IMAGE
            assert server["image"].split(":")[1].startswith(nats_server_minor())
            mounts = [mounted_file(v) for v in server["volumes"] if v.startswith("./")]
            assert NATS_CONFIGS / conf in mounts
            assert all(path.exists() for path in mounts)
            assert f"/etc/nats/{conf}" in server["command"]
            store = server["command"][server["command"].index("-sd") + 1]
            [volume] = [v.split(":")[0] for v in server["volumes"] if v.endswith(f":{store}")]
            stores.add(volume)
            needed = set(
                re.findall(r"\$(JEMBATAN_[A-Z0-9_]+)", "".join(m.read_text() for m in mounts))
            )
            if agency == topology.HUB_AGENCY:
                needed |= {topology.leaf_user(p).password_var for p in topology.PROVINCES}
            assert needed <= set(server["environment"]), f"{agency}: a password is not passed"
        assert len(stores) == len(topology.nats_hosts(agency)), f"{agency}: a store is shared"
        assert stores <= set(compose["volumes"])


def test_compose_runs_the_hub_as_the_three_node_cluster_of_its_config(
    compose: dict[str, Any],
) -> None:
    """Each node under its own name, reachable by the name the routes in hub-cluster.conf give
    it, and by nats-hub (where the provinces' leaves connect)."""
    routes = re.findall(r"nats-route://([^:]+):", (NATS_CONFIGS / "hub-cluster.conf").read_text())
    hosts = topology.nats_hosts(topology.HUB_AGENCY)
    assert len(hosts) == len(routes) == topology.HUB_CLUSTER_SIZE
    for host, route in zip(hosts, routes, strict=True):
        node = compose["services"][host]
        assert node["environment"]["NATS_SERVER_NAME"] == host
        aliases = node["networks"]["default"]["aliases"]
        assert route in aliases and topology.nats_host(topology.HUB_AGENCY) in aliases
        assert NATS_CONFIGS / "hub.conf" in [mounted_file(v) for v in node["volumes"]]


def knows(known_agencies: str) -> tuple[str, ...]:
    """The agencies a service knows with this KNOWN_AGENCIES, as its settings read them."""
    return ServiceSettings(known_agencies=known_agencies).known_agencies


def test_each_service_container_agrees_with_its_settings(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for agency in AGENCIES:
        for name in topology.services_of(agency):
            container = services[topology.service_host(agency, name)]
            env = {key: str(value) for key, value in container["environment"].items()}
            settings = SETTINGS[name]
            known = {field.upper() for field in settings.model_fields}
            unknown = {k for k in env if k not in known and not k.startswith("OTEL_")}
            assert not unknown, f"{agency} {name}: no such setting {unknown}"
            assert env["AGENCY"] == agency
            assert knows(env["KNOWN_AGENCIES"]) == AGENCIES, f"{agency} {name}: every agency"
            assert env["ENSURE_STREAMS"] == "own"
            hosts = topology.nats_hosts(agency)
            assert env["STREAM_REPLICAS"] == str(len(hosts)), f"{agency} {name}: a copy a node"
            port = settings.model_fields["http_port"].default
            assert env["HTTP_PORT"] == str(port)
            assert [p.split(":")[1] for p in container["ports"]] == [str(port)]
            assert container["command"] == [f"jembatan-{name}"]
            assert container["image"] == topology.SERVICE_IMAGE
            assert (DEPLOY / ".." / container["build"]["dockerfile"]).resolve().exists()

            database = urlsplit(env["DATABASE_URL"])
            assert database.scheme == "postgresql+asyncpg"
            db = services[database.hostname]
            assert db["image"].startswith("postgres:")
            assert db["environment"]["POSTGRES_DB"] == database.path.lstrip("/")
            assert db["environment"]["POSTGRES_USER"] == database.username
            assert database.hostname in container["depends_on"]

            buses = [urlsplit(url) for url in nats_servers(env["NATS_URL"])]
            assert [bus.hostname for bus in buses] == list(hosts), "every node of the server"
            users = {user.name: user for user in topology.users_of(agency)}
            for bus in buses:
                assert bus.port == 4222
                assert bus.username in users, f"{agency} has no NATS user {bus.username}"
                assert bus.password == f"${{{users[name].password_var}}}"
                assert bus.hostname in container["depends_on"]
            assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel-collector:4318"


def test_the_dashboard_reads_its_settings_from_the_compose_file(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Kemnaker's dashboard, as its settings parse the container's environment: its own
    database and NATS user, and links to the API docs of the services published beside it."""
    services = compose["services"]
    container = services["dashboard"]
    for key, value in container["environment"].items():
        monkeypatch.setenv(key, str(value))
    settings = DashboardSettings()
    assert settings.agency == topology.HUB_AGENCY
    assert settings.http_port == 8005 == topology.HTTP_PORTS["dashboard"]
    assert container["ports"] == [f"{settings.http_port}:{settings.http_port}"]
    assert urlsplit(settings.database_url).hostname == "dashboard-db"
    assert {urlsplit(url).username for url in nats_servers(settings.nats_url)} == {"dashboard"}
    assert settings.stream_replicas == topology.HUB_CLUSTER_SIZE
    assert settings.service_urls, "the page links no service"
    for name, url in settings.service_urls.items():
        published = [p.split(":")[0] for p in services[name]["ports"]]
        assert [str(urlsplit(url).port)] == published, f"{name}: {url} is not where it listens"
    assert "dashboard" not in settings.service_urls
    assert set(container["depends_on"]) >= {"dashboard-db", "nats-hub-0", "financing"}


def test_the_hub_sources_every_province_event_a_hub_service_consumes(
    compose: dict[str, Any], manifests: dict[tuple[str, str], dict[str, Any]]
) -> None:
    """Each hub stream sources those events from every province, and compose and Kubernetes
    both create it from its committed file."""
    streams: dict[str, set[str]] = {}
    for stream in hub_streams.hub_sourcing_streams():
        sources: list[dict[str, Any]] = stream["sources"]  # type: ignore[assignment]
        streams[str(stream["name"])] = {source["filter_subject"] for source in sources}
    for service in topology.HUB_SERVICES:
        for consumes in topology.consumers()[service]:
            if consumes.stream.lower() not in topology.PROVINCE_SERVICES:
                continue
            for province in topology.PROVINCES:
                subject = consumes.event.subject_for(province)
                assert subject in streams[consumes.stream], f"{consumes.durable}: {subject}"
    job = " ".join(container(manifests[("Job", "hub-streams")])["command"])
    creator = compose["services"]["hub-streams"]
    for name in streams:
        file = f"hub-stream-{name.lower()}.json"
        assert file in generated_files("nats-hub-config")
        assert f"/etc/jembatan/{file}" in job
        assert NATS_CONFIGS / file in [mounted_file(v) for v in creator["volumes"]]
        assert f"/etc/jembatan/{file}" in creator["command"][-1]


def test_the_revocation_bucket_is_created_at_the_hub_and_read_there_by_every_province(
    compose: dict[str, Any], manifests: dict[tuple[str, str], dict[str, Any]]
) -> None:
    """Compose and Kubernetes create the bucket from its committed file, three copies on the
    hub; a province's services read it in the hub's domain, the hub's on their own server."""
    file = f"hub-stream-{REVOCATIONS.lower()}.json"
    config = json.loads((NATS_CONFIGS / file).read_text())
    assert (config["name"], config["num_replicas"]) == (REVOCATIONS, topology.HUB_CLUSTER_SIZE)
    assert file in generated_files("nats-hub-config")
    assert f"/etc/jembatan/{file}" in " ".join(
        container(manifests[("Job", "hub-streams")])["command"]
    )
    creator = compose["services"]["hub-streams"]
    assert NATS_CONFIGS / file in [mounted_file(v) for v in creator["volumes"]]
    assert f"/etc/jembatan/{file}" in creator["command"][-1]
    for agency in AGENCIES:
        domain = None if agency == topology.HUB_AGENCY else topology.HUB_AGENCY
        for name in topology.services_of(agency):
            env = compose["services"][topology.service_host(agency, name)]["environment"]
            assert env.get("REVOCATIONS_JS_DOMAIN") == domain, (agency, name)
    for province in topology.PROVINCES:
        path = DEPLOY / "k8s" / "provinces" / f"{province}.yaml"
        for document in yaml.safe_load_all(path.read_text()):
            if (document["kind"], document["metadata"]["name"]) in (
                ("Deployment", name) for name in topology.PROVINCE_SERVICES
            ):
                env = {e["name"]: e.get("value") for e in container(document)["env"]}
                assert env["REVOCATIONS_JS_DOMAIN"] == topology.HUB_AGENCY, province


def _covers(folder: str, path: str) -> bool:
    return path.startswith(folder.rstrip("/") + "/")


def test_every_service_keeps_the_revocation_list_it_read_on_a_writable_volume(
    compose: dict[str, Any], manifests: dict[tuple[str, str], dict[str, Any]]
) -> None:
    """A service restarted while the hub's bucket does not answer serves with the list it read
    (docs/security.md): each container names its snapshot file, in a folder of a volume it may
    write, which the image gives to the user the services run as."""
    for agency in AGENCIES:
        for name in topology.services_of(agency):
            service = compose["services"][topology.service_host(agency, name)]
            path = service["environment"]["REVOCATIONS_SNAPSHOT_FILE"]
            assert any(
                volume["type"] == "volume"
                and volume["source"] in compose["volumes"]
                and not volume.get("read_only")
                and _covers(volume["target"], path)
                for volume in service["volumes"]
            ), (agency, name, path)
    deployments = [
        document
        for (kind, name), document in manifests.items()
        if kind == "Deployment" and name in topology.services_of(topology.HUB_AGENCY)
    ]
    for province in topology.PROVINCES:
        path = DEPLOY / "k8s" / "provinces" / f"{province}.yaml"
        deployments += [
            document
            for document in yaml.safe_load_all(path.read_text())
            if document["kind"] == "Deployment"
            and document["metadata"]["name"] in topology.PROVINCE_SERVICES
        ]
    assert len(deployments) == sum(len(topology.services_of(a)) for a in AGENCIES)
    for deployment in deployments:
        where = (deployment["metadata"].get("namespace"), deployment["metadata"]["name"])
        env = {e["name"]: e.get("value") for e in container(deployment)["env"]}
        path = env["REVOCATIONS_SNAPSHOT_FILE"]
        volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
        assert any(
            not mount.get("readOnly")
            and _covers(mount["mountPath"], path)
            and volumes[mount["name"]].keys() & {"emptyDir", "persistentVolumeClaim"}
            for mount in container(deployment)["volumeMounts"]
        ), where
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert f"install -d -o jembatan -g jembatan -m 0700 {topology.STATE_DIR}" in dockerfile
    assert "USER jembatan" in dockerfile


def test_collector_receives_otlp_http_and_forwards_to_jaeger(compose: dict[str, Any]) -> None:
    services = compose["services"]
    collector = services["otel-collector"]
    assert all(mounted_file(v).exists() for v in collector["volumes"])
    config = yaml.safe_load((DEPLOY / "otel-collector.yaml").read_text())
    assert config["receivers"]["otlp"]["protocols"]["http"]["endpoint"].endswith(":4318")
    pipeline = config["service"]["pipelines"]["traces"]
    assert pipeline["receivers"] == ["otlp"]
    for exporter in pipeline["exporters"]:
        host = config["exporters"][exporter]["endpoint"].split(":")[0]
        assert host in services
    assert set(pipeline["processors"]) <= set(config["processors"])
    assert "jaeger" in services


def test_every_compose_variable_comes_from_make_env(made: Path) -> None:
    text = (DEPLOY / "compose.yaml").read_text()
    given = {line.split("=", 1)[0] for line in (made / ".env").read_text().splitlines()}
    assert set(re.findall(r"\$\{([A-Z0-9_]+)", text)) == given
    assert not re.search(r"(?i)password: [^$\s]", text), "a password is written in the file"


# --- Kubernetes ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def manifests() -> dict[tuple[str, str], dict[str, Any]]:
    kustomization = yaml.safe_load((DEPLOY / "kustomization.yaml").read_text())
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for resource in kustomization["resources"]:
        for document in yaml.safe_load_all((DEPLOY / resource).read_text()):
            assert {"apiVersion", "kind", "metadata"} <= set(document), resource
            found[(document["kind"], document["metadata"]["name"])] = document
    return found


def generated_files(name: str) -> list[str]:
    kustomization = yaml.safe_load((DEPLOY / "kustomization.yaml").read_text())
    [generator] = [g for g in kustomization["configMapGenerator"] if g["name"] == name]
    files: list[str] = generator["files"]
    assert all((DEPLOY / file).exists() for file in files)
    return [Path(file).name for file in files]


def container(manifest: dict[str, Any]) -> dict[str, Any]:
    [only] = manifest["spec"]["template"]["spec"]["containers"]
    return only


def test_the_hub_is_a_three_node_jetstream_cluster(
    manifests: dict[tuple[str, str], dict[str, Any]],
) -> None:
    hub = manifests[("StatefulSet", topology.HUB_STATEFULSET)]
    assert hub["spec"]["replicas"] == topology.HUB_CLUSTER_SIZE
    headless = manifests[("Service", hub["spec"]["serviceName"])]
    assert headless["spec"]["clusterIP"] == "None"
    nats = container(hub)
    assert nats["image"] == topology.NATS_IMAGE
    assert "/etc/nats/hub-cluster.conf" in nats["args"] and "-js" in nats["args"]
    config_map = hub["spec"]["template"]["spec"]["volumes"][0]["configMap"]["name"]
    assert {"hub.conf", "hub-cluster.conf"} <= set(generated_files(config_map))
    ports = {port["containerPort"] for port in nats["ports"]}
    assert ports == {4222, topology.CLUSTER_PORT, topology.LEAF_PORT, topology.MONITOR_PORT}
    assert [e["name"] for e in nats["env"]] == ["NATS_SERVER_NAME"]
    assert nats["env"][0]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"


def test_the_hub_cluster_has_a_route_and_a_store_per_node_and_a_copy_of_each_stream(
    manifests: dict[tuple[str, str], dict[str, Any]],
) -> None:
    """hub-cluster.conf routes to exactly the StatefulSet's pods; each pod keeps its JetStream
    store on its own volume, on a machine of its own; every hub stream has a copy on each."""
    hub = manifests[("StatefulSet", topology.HUB_STATEFULSET)]
    size, service = hub["spec"]["replicas"], hub["spec"]["serviceName"]
    config = (NATS_CONFIGS / "hub-cluster.conf").read_text()
    routes = re.findall(r"nats-route://(\S+)", config)
    assert routes == [
        f"{topology.HUB_STATEFULSET}-{n}.{service}:{topology.CLUSTER_PORT}" for n in range(size)
    ]
    assert f"listen: 0.0.0.0:{topology.CLUSTER_PORT}" in config
    nats = container(hub)
    store = nats["args"][nats["args"].index("-sd") + 1]
    [claim] = hub["spec"]["volumeClaimTemplates"]
    assert {"name": claim["metadata"]["name"], "mountPath": store} in nats["volumeMounts"]
    anti = hub["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"]
    [rule] = anti["requiredDuringSchedulingIgnoredDuringExecution"]
    assert rule["topologyKey"] == "kubernetes.io/hostname"
    assert rule["labelSelector"]["matchLabels"] == hub["spec"]["selector"]["matchLabels"]
    budget = manifests[("PodDisruptionBudget", topology.HUB_STATEFULSET)]
    assert budget["spec"]["maxUnavailable"] == 1
    for stream in hub_streams.hub_sourcing_streams():
        assert stream["num_replicas"] == size, stream["name"]
        assert stream["max_age"] == round(
            ServiceSettings().stream_max_age_days * 24 * 3600 * 1e9
        ), stream["name"]


def test_every_jetstream_server_syncs_to_disk_before_it_acknowledges() -> None:
    """`sync_interval: always` in the jetstream block of the hub and of every leaf."""
    for config in ("hub.conf", *(f"{p}.conf" for p in topology.PROVINCES)):
        text = (NATS_CONFIGS / config).read_text()
        block = re.search(r"^jetstream \{(.*?)^\}", text, re.S | re.M)
        assert block, config
        assert re.search(r"^\s*sync_interval: always$", block.group(1), re.M), config


def test_each_hub_service_deployment_agrees_with_its_settings(
    manifests: dict[tuple[str, str], dict[str, Any]],
) -> None:
    for name in topology.HUB_SERVICES:
        deployment = container(manifests[("Deployment", name)])
        env = {e["name"]: e for e in deployment["env"]}
        port = SETTINGS[name].model_fields["http_port"].default
        assert env["HTTP_PORT"]["value"] == str(port)
        assert [p["containerPort"] for p in deployment["ports"]] == [port]
        assert env["AGENCY"]["value"] == topology.HUB_AGENCY
        assert deployment["command"] == [f"jembatan-{name}"]
        assert deployment["image"] == topology.SERVICE_IMAGE
        database = urlsplit(env["DATABASE_URL"]["value"])
        assert database.scheme == "postgresql+asyncpg"
        db = manifests[("StatefulSet", str(database.hostname))]
        assert ("Service", database.hostname) in manifests
        db_env = {e["name"]: e for e in container(db)["env"]}
        assert db_env["POSTGRES_DB"]["value"] == database.path.lstrip("/")
        buses = [urlsplit(url) for url in nats_servers(env["NATS_URL"]["value"])]
        assert [(bus.hostname, bus.port, bus.username) for bus in buses] == [
            (f"{topology.HUB_STATEFULSET}-{n}.{topology.HUB_STATEFULSET}", 4222, name)
            for n in range(topology.HUB_CLUSTER_SIZE)
        ], "every hub node, by its pod's name"
        assert env["STREAM_REPLICAS"]["value"] == str(topology.HUB_CLUSTER_SIZE)
        nats_key = env["NATS_PASSWORD"]["valueFrom"]["secretKeyRef"]["key"]
        assert nats_key == topology.password_var(topology.HUB_AGENCY, name)
        service = manifests[("Service", name)]
        assert service["spec"]["ports"][0]["port"] == port
    assert "otel-collector.yaml" in generated_files("otel-collector-config")


@pytest.mark.parametrize("province", topology.PROVINCES)
def test_each_province_on_kubernetes_runs_its_leaf_server_and_services(province: str) -> None:
    path = DEPLOY / "k8s" / "provinces" / f"{province}.yaml"
    found = {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(path.read_text())}
    namespace = f"jembatan-{province}"
    assert all(d["metadata"].get("namespace", namespace) == namespace for d in found.values()), (
        "every object in the province's namespace"
    )
    conf = f"{province}.conf"
    assert found[("ConfigMap", "nats-config")]["data"][conf] == (NATS_CONFIGS / conf).read_text()
    nats_container = container(found[("StatefulSet", "nats")])
    assert nats_container["image"] == topology.NATS_IMAGE
    assert f"/etc/nats/{conf}" in nats_container["args"]
    users = {user.name: user for user in topology.users_of(province)}
    for name in topology.PROVINCE_SERVICES:
        deployment = container(found[("Deployment", name)])
        env = {e["name"]: e for e in deployment["env"]}
        port = SETTINGS[name].model_fields["http_port"].default
        assert env["HTTP_PORT"]["value"] == str(port)
        assert [p["containerPort"] for p in deployment["ports"]] == [port]
        assert env["AGENCY"]["value"] == province
        known = {field.upper() for field in SETTINGS[name].model_fields}
        assert {k for k in env if k not in known and not k.startswith("OTEL_")} == {
            "NATS_PASSWORD",
            "PG_PASSWORD",
        }
        bus = urlsplit(env["NATS_URL"]["value"])
        assert (bus.hostname, bus.port) == ("nats", 4222) and bus.username in users
        assert env["STREAM_REPLICAS"]["value"] == "1", "a leaf is one server"
        nats_key = env["NATS_PASSWORD"]["valueFrom"]["secretKeyRef"]["key"]
        assert nats_key == users[name].password_var
        database = urlsplit(env["DATABASE_URL"]["value"])
        db = container(found[("StatefulSet", str(database.hostname))])
        db_env = {e["name"]: e for e in db["env"]}
        assert db_env["POSTGRES_DB"]["value"] == database.path.lstrip("/")
        assert ("Service", name) in found and ("Service", database.hostname) in found


# --- tokens: each agency's own key, one public trust list ------------------------------------

MADE_BY_MAKE_ENV = (".env", topology.ISSUERS_DIR, topology.TRUST_FILE)
"""What deploy/make-env.py writes into deploy/ (deploy/.gitignore keeps it out of git)."""
ISSUER_SECRETS = {topology.issuer_secret(agency) for agency in AGENCIES}


def make_env(folder: Path, *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(DEPLOY / "make-env.py"), str(folder), *options],
        capture_output=True,
        text=True,
    )


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder deploy/make-env.py wrote into."""
    folder = tmp_path_factory.mktemp("deploy-env")
    result = make_env(folder)
    assert result.returncode == 0, result.stderr
    return folder


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def files_of(folder: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


POLICY = TokenPolicy(agencies=frozenset(AGENCIES))


def issuer_in(folder: Path, agency: str) -> LocalIssuer:
    return LocalIssuer.load(folder / topology.ISSUERS_DIR / f"{agency}.json")


def refusal(trust: TrustList, token: str) -> str:
    """Why `trust` refuses `token` (the reason a 401 names, or the error's kind)."""
    with pytest.raises(jwt.InvalidTokenError) as refused:
        read_token(trust, token, POLICY)
    return getattr(refused.value, "reason", type(refused.value).__name__)


def test_no_shared_token_secret_anywhere_in_deploy() -> None:
    """Tokens are checked against public keys only: nothing in deploy/ hands a service the
    shared secret it once signed and checked every agency's tokens with."""
    for path in sorted(DEPLOY.rglob("*")):
        parts = path.relative_to(DEPLOY).parts
        if path.is_dir() or parts[0] in MADE_BY_MAKE_ENV or "__pycache__" in parts:
            continue
        text = path.read_text(errors="replace")
        assert "AUTH_JWT_SECRET" not in text, path.relative_to(DEPLOY)
        assert not re.search(r"(?i)jwt.?secret", text), path.relative_to(DEPLOY)


def test_every_compose_service_reads_the_trust_list_make_env_writes(
    compose: dict[str, Any],
) -> None:
    for agency in AGENCIES:
        for name in topology.services_of(agency):
            container = compose["services"][topology.service_host(agency, name)]
            path = container["environment"]["AUTH_TRUST_FILE"]
            [mount] = [v for v in container["volumes"] if v["target"] == path]
            assert mount["type"] == "bind" and mount["read_only"] is True, f"{agency} {name}"
            assert mount["bind"]["create_host_path"] is False, "a missing list stops compose"
            assert (DEPLOY / mount["source"]).resolve() == DEPLOY / topology.TRUST_FILE
            others = [
                v["source"] for v in container["volumes"] if v["type"] == "bind" and v is not mount
            ]
            assert others == INDEX_KEY_MOUNTS.get(name, []), f"{agency} {name}"


INDEX_KEY_MOUNTS = {
    "identity": [f"./{topology.IDENTITY_DIR}/{topology.INDEX_KEYS_FILE}"],
    "registration": [f"./{topology.IDENTITY_DIR}/{topology.INDEX_PUBLIC_KEY_FILE}"],
}
"""Besides the trust list: the index's key file to the index alone, its public key to every
registration service."""


def test_only_the_identity_index_is_given_its_private_key(compose: dict[str, Any]) -> None:
    """In compose, the index's key file is mounted into Kemnaker's identity service and no other
    container; on Kubernetes its Secret is read by the identity Deployment alone, which runs one
    replica; every province's registration reads the public key, and only it."""
    keys = (DEPLOY / INDEX_KEY_MOUNTS["identity"][0]).resolve()
    for name, container in compose["services"].items():
        sources = [
            (DEPLOY / v["source"]).resolve()
            for v in container.get("volumes", [])
            if isinstance(v, dict) and v["source"].startswith(".")
        ]
        assert (keys in sources) == (name == "identity"), name
    for agency, namespace, documents in agencies_on_kubernetes():
        for workload in (d for d in documents if "template" in d.get("spec", {})):
            used = secrets_used(pod_of(workload))
            name = workload["metadata"]["name"]
            is_index = (agency, name) == (topology.HUB_AGENCY, "identity")
            assert (topology.INDEX_KEYS_SECRET in used) == is_index, f"{namespace} {name}"
            if is_index:
                assert workload["spec"]["replicas"] == 1
            volumes = pod_of(workload).get("volumes", [])
            public = [
                v
                for v in volumes
                if v.get("configMap", {}).get("name") == topology.INDEX_PUBLIC_CONFIG_MAP
            ]
            assert bool(public) == (name == "registration"), f"{namespace} {name}"


def test_no_compose_container_but_a_console_is_given_a_private_key(
    compose: dict[str, Any],
) -> None:
    """The keys make-env.py keeps in deploy/issuers/ stay on the machine, for `jembatan token`
    and for each agency's console, which signs its operators' tokens: it is given its own
    agency's file and nothing else of the folder; no other container mounts any of them."""
    issuers = DEPLOY / topology.ISSUERS_DIR
    consoles = {topology.console_host(agency): agency for agency in AGENCIES}
    assert "secrets" not in compose
    for name, container in compose["services"].items():
        assert "secrets" not in container, name
        keys = []
        for volume in container.get("volumes", []):
            source = volume["source"] if isinstance(volume, dict) else volume.split(":")[0]
            if not source.startswith("."):
                continue  # a named volume
            path = (DEPLOY / source).resolve()
            assert not issuers.is_relative_to(path), f"{name} mounts {source}, issuers and all"
            if path.is_relative_to(issuers):
                keys.append(path)
        env = container.get("environment", {})
        if name in consoles:
            assert keys == [issuers / f"{consoles[name]}.json"], f"{name}: its own key alone"
            assert [key for key in env if "ISSUER" in key] == ["CONSOLE_ISSUER_FILE"], name
        else:
            assert not keys, f"{name} mounts {keys}"
            assert not any("ISSUER" in key for key in env), name


def agencies_on_kubernetes() -> list[tuple[str, str, list[dict[str, Any]]]]:
    """Each agency's namespace and the objects applied there: the hub's kustomization,
    each province's file."""
    kustomization = yaml.safe_load((DEPLOY / "kustomization.yaml").read_text())
    hub = [
        document
        for resource in kustomization["resources"]
        for document in yaml.safe_load_all((DEPLOY / resource).read_text())
    ]
    found = [(topology.HUB_AGENCY, kustomization["namespace"], hub)]
    for province in topology.PROVINCES:
        path = DEPLOY / "k8s" / "provinces" / f"{province}.yaml"
        documents = list(yaml.safe_load_all(path.read_text()))
        found.append((province, f"jembatan-{province}", documents))
    return found


def pod_of(workload: dict[str, Any]) -> dict[str, Any]:
    pod: dict[str, Any] = workload["spec"]["template"]["spec"]
    return pod


def secrets_used(pod: dict[str, Any]) -> set[str]:
    """Every Secret a pod reads: as volumes, projected, whole into the environment, or a key."""
    used = set()
    for volume in pod.get("volumes", []):
        if "secret" in volume:
            used.add(volume["secret"]["secretName"])
        for source in volume.get("projected", {}).get("sources", []):
            if "secret" in source:
                used.add(source["secret"]["name"])
    for container in pod["containers"] + pod.get("initContainers", []):
        used |= {e["secretRef"]["name"] for e in container.get("envFrom", []) if "secretRef" in e}
        used |= {
            e["valueFrom"]["secretKeyRef"]["name"]
            for e in container.get("env", [])
            if "secretKeyRef" in e.get("valueFrom", {})
        }
    return used


def test_every_kubernetes_service_reads_the_trust_list_config_map() -> None:
    for agency, namespace, documents in agencies_on_kubernetes():
        deployments = {d["metadata"]["name"]: d for d in documents if d["kind"] == "Deployment"}
        for name in topology.services_of(agency):
            pod = pod_of(deployments[name])
            [service] = pod["containers"]
            env = {e["name"]: e for e in service["env"]}
            path = Path(env["AUTH_TRUST_FILE"]["value"])
            [mount] = [m for m in service["volumeMounts"] if Path(m["mountPath"]) == path.parent]
            assert mount["readOnly"] is True, f"{namespace} {name}"
            [volume] = [v for v in pod["volumes"] if v["name"] == mount["name"]]
            assert volume["configMap"]["name"] == topology.TRUST_CONFIG_MAP
            assert path.name == topology.TRUST_FILE, "the ConfigMap's key, as created"
    creating = f"create configmap {topology.TRUST_CONFIG_MAP} --from-file={topology.TRUST_FILE}="
    assert creating in (DEPLOY / "kustomization.yaml").read_text()
    for province in topology.PROVINCES:
        assert creating in (DEPLOY / "k8s" / "provinces" / f"{province}.yaml").read_text()


def test_every_workload_on_kubernetes_knows_every_agency_of_the_topology() -> None:
    """Each service and token issuer, in every namespace, accepts the tokens of every agency:
    its KNOWN_AGENCIES, given in its manifest or by a ConfigMap of its namespace, is the
    topology's list, so a province added there is known everywhere once rendered again."""
    for agency, namespace, documents in agencies_on_kubernetes():
        config_maps = {d["metadata"]["name"]: d for d in documents if d["kind"] == "ConfigMap"}
        deployments = {d["metadata"]["name"]: d for d in documents if d["kind"] == "Deployment"}
        for name in (*topology.services_of(agency), topology.TOKEN_ISSUER):
            [workload] = pod_of(deployments[name])["containers"]
            given = {e["name"]: e for e in workload["env"]}["KNOWN_AGENCIES"]
            if "value" in given:
                known = given["value"]
            else:
                reference = given["valueFrom"]["configMapKeyRef"]
                known = config_maps[reference["name"]]["data"][reference["key"]]
            assert knows(known) == AGENCIES, f"{namespace} {name}"


def test_on_kubernetes_only_the_agencys_token_issuer_and_console_get_its_private_key() -> None:
    """Each agency's key is a Secret of its own namespace, read by its token-issuer and its
    console alone: never by a service, never by the nats-server (which takes its Secret whole
    into its environment), never in another agency's namespace."""
    for agency, namespace, documents in agencies_on_kubernetes():
        workloads = [d for d in documents if "template" in d.get("spec", {})]
        assert all(d["metadata"].get("namespace", namespace) == namespace for d in workloads)
        issuers = [d for d in workloads if d["metadata"]["name"] == topology.TOKEN_ISSUER]
        assert [d["kind"] for d in issuers] == ["Deployment"], namespace
        for workload in workloads:
            used = secrets_used(pod_of(workload))
            if workload["metadata"]["name"] == topology.CONSOLE:
                assert used == {topology.issuer_secret(agency)}, f"{namespace}: its own key"
            elif workload["metadata"]["name"] != topology.TOKEN_ISSUER:
                assert not used & ISSUER_SECRETS, f"{namespace} {workload['metadata']['name']}"
                assert not any("issuer" in secret for secret in used), used
        [issuer] = issuers
        assert issuer["spec"]["replicas"] == 0, "it runs only while tokens are being issued"
        pod = pod_of(issuer)
        assert secrets_used(pod) == {topology.issuer_secret(agency)}
        assert pod["automountServiceAccountToken"] is False
        [tool] = pod["containers"]
        assert "ports" not in tool, "it serves nothing"
        [mount] = tool["volumeMounts"]
        assert mount["readOnly"] is True
        env = {e["name"]: e["value"] for e in tool["env"]}
        assert env == {
            "JEMBATAN_ISSUER_FILE": f"{mount['mountPath']}/{topology.ISSUER_FILE}",
            "KNOWN_AGENCIES": topology.KNOWN_AGENCIES,
        }, "where `jembatan token` finds the key (the Secret's key, as created), and whose"
        creating = f"secret generic {topology.issuer_secret(agency)}"
        documented = (
            DEPLOY / "kustomization.yaml"
            if agency == topology.HUB_AGENCY
            else DEPLOY / "k8s" / "provinces" / f"{agency}.yaml"
        ).read_text()
        assert creating in documented
        assert f"--from-file={topology.ISSUER_FILE}=deploy/issuers/{agency}.json" in documented


def test_make_env_gives_each_agency_its_own_key_and_one_public_trust_list(made: Path) -> None:
    folder = made / topology.ISSUERS_DIR
    assert sorted(path.name for path in folder.iterdir()) == sorted(f"{a}.json" for a in AGENCIES)
    assert mode_of(folder) == 0o700
    for agency in AGENCIES:
        assert mode_of(folder / f"{agency}.json") == 0o600, agency
    assert mode_of(made / ".env") == 0o600
    document = json.loads((made / topology.TRUST_FILE).read_text())
    keys = [key for entry in document["issuers"] for key in entry["jwks"]["keys"]]
    assert len(keys) == len(AGENCIES) and not any("d" in key for key in keys), "public halves"
    trust = TrustList.load(made / topology.TRUST_FILE)
    assert trust.agencies == set(AGENCIES)
    for agency in AGENCIES:
        issuer = issuer_in(made, agency)
        caller = read_token(trust, issue_token(issuer, f"officer-{agency}", []), POLICY)
        assert (caller.agency, caller.user) == (agency, f"officer-{agency}")


def test_a_token_signed_with_kaltims_key_cannot_speak_for_kemnaker(made: Path) -> None:
    """However it names itself: as kaltim's token claiming Kemnaker, as Kemnaker's token with
    kaltim's key id, or as Kemnaker's with Kemnaker's key id."""
    trust = TrustList.load(made / topology.TRUST_FILE)
    kaltim, kemnaker = issuer_in(made, "kaltim"), issuer_in(made, topology.HUB_AGENCY)
    claims_kemnaker = LocalIssuer(kaltim.issuer, topology.HUB_AGENCY, kaltim.key)
    assert refusal(trust, issue_token(claims_kemnaker, "x", [])) == "agency_not_issuers"
    as_kemnaker = LocalIssuer(kemnaker.issuer, topology.HUB_AGENCY, kaltim.key)
    assert refusal(trust, issue_token(as_kemnaker, "x", [])) == "unknown_key"
    key_id = {**kaltim.key, "kid": kemnaker.kid}
    named_as_kemnakers_key = LocalIssuer(kemnaker.issuer, topology.HUB_AGENCY, key_id)
    assert refusal(trust, issue_token(named_as_kemnakers_key, "x", [])) in {
        "bad_signature",
        "InvalidSignatureError",
    }


def test_jembatan_token_signs_with_the_issuer_file_the_token_issuer_is_given(
    made: Path,
) -> None:
    """The issuer tooling: `jembatan token` with JEMBATAN_ISSUER_FILE, as the token-issuer
    runs it, makes a token the services' trust list accepts for that agency only."""
    env = dict(os.environ, JEMBATAN_ISSUER_FILE=str(made / topology.ISSUERS_DIR / "kaltim.json"))
    jembatan = str(Path(sys.executable).parent / "jembatan")
    command = [jembatan, "token", "--user", "officer-1", "--agency"]
    issued = subprocess.run([*command, "kaltim"], env=env, capture_output=True, text=True)
    assert issued.returncode == 0, issued.stderr
    caller = read_token(TrustList.load(made / topology.TRUST_FILE), issued.stdout.strip(), POLICY)
    assert (caller.agency, caller.user) == ("kaltim", "officer-1")
    other = subprocess.run([*command, "kemnaker"], env=env, capture_output=True, text=True)
    assert other.returncode == 1 and not other.stdout
    assert "signs for agency kaltim, not kemnaker" in other.stderr


def test_make_env_run_again_keeps_every_password_and_key(tmp_path: Path) -> None:
    assert make_env(tmp_path).returncode == 0
    before = files_of(tmp_path)
    again = make_env(tmp_path)
    assert again.returncode == 0, again.stderr
    assert files_of(tmp_path) == before


def test_a_rotated_key_is_listed_beside_the_old_one_until_it_is_retired(tmp_path: Path) -> None:
    assert make_env(tmp_path).returncode == 0
    trust_file = tmp_path / topology.TRUST_FILE
    old = issuer_in(tmp_path, "kaltim")
    old_token = issue_token(old, "officer", [])
    others = {a: issuer_in(tmp_path, a).kid for a in AGENCIES if a != "kaltim"}

    rotated = make_env(tmp_path, "--rotate", "kaltim")
    assert rotated.returncode == 0, rotated.stderr
    new = issuer_in(tmp_path, "kaltim")
    assert (new.issuer, new.agency) == (old.issuer, old.agency) and new.kid != old.kid
    assert mode_of(tmp_path / topology.ISSUERS_DIR / "kaltim.json") == 0o600
    [entry] = [e for e in json.loads(trust_file.read_text())["issuers"] if e["agency"] == "kaltim"]
    assert [key["kid"] for key in entry["jwks"]["keys"]] == [new.kid, old.kid], "two, one issuer"
    trust = TrustList.load(trust_file)
    for token in (old_token, issue_token(new, "officer", [])):
        assert read_token(trust, token, POLICY).agency == "kaltim"
    assert {a: issuer_in(tmp_path, a).kid for a in others} == others

    retired = make_env(tmp_path, "--retire", "kaltim")
    assert retired.returncode == 0, retired.stderr
    trust = TrustList.load(trust_file)
    assert refusal(trust, old_token) == "unknown_key"
    assert read_token(trust, issue_token(new, "officer", []), POLICY).agency == "kaltim"


def test_an_agency_with_its_own_provider_gets_no_key_and_keeps_its_entry(
    tmp_path: Path,
) -> None:
    provider = {
        "issuer": "https://sso.kaltimprov.example/realms/disnakertrans",
        "agency": "kaltim",
        "jwks_uri": "https://sso.kaltimprov.example/realms/disnakertrans/certs",
        "audience": "jembatan-kaltim",
        "algorithms": ["RS256"],
        "roles_claim": "realm_access.roles",
    }
    trust_file = tmp_path / topology.TRUST_FILE
    trust_file.write_text(json.dumps({"issuers": [provider]}))
    result = make_env(tmp_path)
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / topology.ISSUERS_DIR / "kaltim.json").exists()
    document = json.loads(trust_file.read_text())
    assert provider in document["issuers"]
    assert TrustList.load(trust_file).agencies == set(AGENCIES)

    before = files_of(tmp_path)
    refused = make_env(tmp_path, "--rotate", "kaltim")
    assert refused.returncode == 1
    assert "its keys rotate there" in refused.stderr
    assert files_of(tmp_path) == before, "nothing written"


# --- the hub cluster, for real ---------------------------------------------------------------


def test_the_hub_cluster_config_forms_a_jetstream_cluster_on_loopback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three nodes from hub-cluster.conf; only addresses differ (the routes name the pods)."""
    for variable, value in config_env(NATS_CONFIGS / "hub.conf").items():
        if variable.startswith("JEMBATAN_"):
            monkeypatch.setenv(variable, value)
    size = topology.HUB_CLUSTER_SIZE
    ports = free_ports(4 * size)  # in one call, so no two are the same
    cluster_ports, monitor_ports = ports[:size], ports[size : 2 * size]
    client_ports, leaf_ports = ports[2 * size : 3 * size], ports[3 * size :]
    routes = ",".join(f"nats://127.0.0.1:{port}" for port in cluster_ports)
    nodes = []
    try:
        for n, cluster_port in enumerate(cluster_ports):
            wrapper = tmp_path / f"node-{n}.conf"
            monkeypatch.setenv("NATS_SERVER_NAME", f"hub-{n}")  # the pod's name in Kubernetes
            wrapper.write_text(
                f'include "{os.path.relpath(NATS_CONFIGS / "hub-cluster.conf", tmp_path)}"\n'
                f'leafnodes {{ listen: "127.0.0.1:{leaf_ports[n]}" }}\n'
            )
            nodes.append(
                NatsServerProcess(
                    store_dir=tmp_path / f"node-{n}",
                    port=client_ports[n],
                    config_file=wrapper,
                    log_file=tmp_path / f"node-{n}.log",
                    extra_args=(
                        "--cluster",
                        f"nats://127.0.0.1:{cluster_port}",
                        "--routes",
                        routes,
                        "-m",
                        str(monitor_ports[n]),
                    ),
                ).start()
            )
        for port in monitor_ports:
            varz = json.loads(urlopen(f"http://127.0.0.1:{port}/varz", timeout=5).read())
            assert varz["jetstream"]["config"]["sync_always"] is True, "sync_interval: always"
        asyncio.run(_replicated_stream_on(nodes))
    finally:
        for node in nodes:
            node.stop()


async def _replicated_stream_on(nodes: list[NatsServerProcess]) -> None:
    password = dev_password(topology.password_var(topology.HUB_AGENCY, "ops"))
    client = await nats.connect(nodes[0].url, user="ops", password=password)
    try:
        config = {
            "name": "CLUSTER_CHECK",
            "subjects": ["cluster.check"],
            "num_replicas": topology.HUB_CLUSTER_SIZE,
            "storage": "file",
        }
        answer: dict[str, Any] = {}
        for _ in range(60):  # until the nodes have met and elected a meta leader
            try:
                reply = await client.request(
                    "$JS.API.STREAM.CREATE.CLUSTER_CHECK", json.dumps(config).encode(), timeout=2
                )
            except nats.errors.Error:
                continue
            answer = json.loads(reply.data)
            if "error" not in answer:
                break
            await asyncio.sleep(0.5)
        assert "error" not in answer, answer
        assert answer["cluster"]["name"] == f"{topology.HUB_AGENCY}-hub"
        assert len(answer["cluster"].get("replicas", [])) == topology.HUB_CLUSTER_SIZE - 1
        for path in sorted(NATS_CONFIGS.glob("hub-stream-*.json")):  # as the hub-streams job
            name = json.loads(path.read_text())["name"]
            reply = await client.request(
                f"$JS.API.STREAM.CREATE.{name}", path.read_bytes(), timeout=5
            )
            created = json.loads(reply.data)
            assert "error" not in created, created
            assert created["config"]["num_replicas"] == topology.HUB_CLUSTER_SIZE
            assert len(created["cluster"].get("replicas", [])) == topology.HUB_CLUSTER_SIZE - 1
    finally:
        await client.close()


# --- message size ----------------------------------------------------------------------------


def test_max_payload_leaves_room_for_a_dead_letter_and_an_object_chunk() -> None:
    """Every server takes the largest message the system itself sends: a dead letter carrying
    the largest event, with its headers, and a chunk of a large dead letter's body."""
    object_chunk = 128 * 1024 + 1024  # nats-py's chunk, with its headers
    assert topology.MAX_PAYLOAD_BYTES >= 2 * DEAD_LETTER_MAX_BYTES
    assert object_chunk <= topology.MAX_PAYLOAD_BYTES
    configs = [
        *(p for p in rendered_files.rendered() if p.suffix == ".conf"),
        NATS_CONFIGS / "embedded.conf",
    ]
    for path in configs:
        if path.name == "hub-cluster.conf":
            continue  # includes hub.conf
        assert f"\nmax_payload: {topology.MAX_PAYLOAD}\n" in path.read_text(), path.name


async def test_the_embedded_server_takes_max_payload_bytes(tmp_path: Path) -> None:
    with NatsServerProcess(tmp_path / "nats", config_file=NATS_CONFIGS / "embedded.conf") as server:
        client = await nats.connect(server.url)
        try:
            assert client.max_payload == topology.MAX_PAYLOAD_BYTES
        finally:
            await client.close()


async def test_a_consuming_service_user_may_keep_a_large_dead_letter_body(
    fresh_federation: Federation,
) -> None:
    """Training at kaltim keeps a body of 200 KB (two object chunks) in the dead-letter bodies'
    object store, as its consumers do for a message too large to carry. (Reading it back is an
    operator's business, `jembatan deadletter show`.)"""
    client = await fresh_federation.connect("kaltim", "training")
    try:
        js = client.nc.jetstream()
        await ensure_streams(js, (DEAD_LETTER,))  # as the service does at start
        store = await dead_letter_bodies(js)
        body = os.urandom(200 * 1024)
        await store.put("REGISTRATION.1", body)
        kept = await store.get_info("REGISTRATION.1")
        digest = base64.urlsafe_b64encode(hashlib.sha256(body).digest()).decode()
        assert (kept.size, kept.chunks, kept.digest) == (len(body), 2, f"SHA-256={digest}")
        assert client.denied == []
    finally:
        await client.nc.close()


# --- the operators' consoles ---------------------------------------------------------------------


def console_settings(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> ConsoleSettings:
    """The console's settings as it reads them from this environment (nothing it does not
    know: a misspelt variable would be ignored by it, so it fails here)."""
    known = {field.upper() for field in ConsoleSettings.model_fields}
    assert set(env) <= known, f"no such console setting {set(env) - known}"
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return ConsoleSettings()


def compose_console(compose: dict[str, Any], agency: str) -> dict[str, Any]:
    console: dict[str, Any] = compose["services"][topology.console_host(agency)]
    return console


def k8s_console(agency: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The agency's console Deployment and everything applied in its namespace."""
    [(_, _, documents)] = [found for found in agencies_on_kubernetes() if found[0] == agency]
    [deployment] = [
        d
        for d in documents
        if d["kind"] == "Deployment" and d["metadata"]["name"] == topology.CONSOLE
    ]
    return deployment, documents


@pytest.mark.parametrize("agency", AGENCIES)
def test_each_agency_runs_its_console_calling_the_services_it_works_with(
    agency: str, compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """In compose: its agency, the services where they run (a province's own registration and
    training, Kemnaker's placement and financing), published, and a health check; its
    operators and the key of its cookies on its own volume."""
    console = compose_console(compose, agency)
    env = {key: str(value) for key, value in console["environment"].items()}
    settings = console_settings(env, monkeypatch)
    assert settings.console_agency == agency
    assert console["command"] == ["jembatan-console"]
    assert console["image"] == topology.SERVICE_IMAGE
    expected = set(topology.CONSOLE_CALLS_AT_HUB)
    if agency != topology.HUB_AGENCY:
        expected |= set(topology.PROVINCE_SERVICES)
    assert set(settings.service_urls) == expected
    for service, url in settings.service_urls.items():
        called = urlsplit(url)
        owner = agency if service in topology.PROVINCE_SERVICES else topology.HUB_AGENCY
        assert called.hostname == topology.service_host(owner, service), f"{agency} {service}"
        target = compose["services"][called.hostname]
        assert str(target["environment"]["HTTP_PORT"]) == str(called.port)
    assert settings.http_port == ConsoleSettings.model_fields["http_port"].default
    assert [p.split(":")[1] for p in console["ports"]] == [str(settings.http_port)]
    health = console["healthcheck"]["test"]
    assert f"http://127.0.0.1:{settings.http_port}/health" in " ".join(health)
    state = [v for v in console["volumes"] if v["type"] == "volume"]
    assert [v["target"] for v in state] == [topology.STATE_DIR]
    assert state[0]["source"] in compose["volumes"]
    for path in (settings.console_operators_file, settings.console_secret_file):
        assert path.is_relative_to(topology.STATE_DIR), "kept across restarts"
    assert settings.console_secure_cookies is False, "plain http on the compose machine"


@pytest.mark.parametrize("agency", AGENCIES)
def test_each_agencys_console_is_given_its_own_key_and_no_other(
    agency: str, compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its operators' tokens are signed with its agency's key and speak for that agency only:
    compose mounts ./issuers/<agency>.json where CONSOLE_ISSUER_FILE says; on Kubernetes the
    Secret of its own namespace, and no other Secret."""
    console = compose_console(compose, agency)
    settings = console_settings(
        {key: str(value) for key, value in console["environment"].items()}, monkeypatch
    )
    assert settings.console_oidc_issuer == ""
    binds = {v["target"]: v for v in console["volumes"] if v["type"] == "bind"}
    key = binds[str(settings.console_issuer_file)]
    assert key["source"] == f"./{topology.ISSUERS_DIR}/{agency}.json"
    assert key["read_only"] is True and key["bind"]["create_host_path"] is False
    assert binds[str(settings.auth_trust_file)]["source"] == f"./{topology.TRUST_FILE}"
    assert set(binds) == {str(settings.console_issuer_file), str(settings.auth_trust_file)}

    deployment, _ = k8s_console(agency)
    pod = pod_of(deployment)
    assert secrets_used(pod) == {topology.issuer_secret(agency)}
    assert pod["automountServiceAccountToken"] is False
    [container] = pod["containers"]
    env = {e["name"]: e["value"] for e in container["env"]}
    path = Path(env["CONSOLE_ISSUER_FILE"])
    assert path.name == topology.ISSUER_FILE, "the Secret's key, as created"
    [mount] = [m for m in container["volumeMounts"] if Path(m["mountPath"]) == path.parent]
    assert mount["readOnly"] is True
    [volume] = [v for v in pod["volumes"] if v["name"] == mount["name"]]
    assert volume["secret"]["secretName"] == topology.issuer_secret(agency)


@pytest.mark.parametrize("agency", AGENCIES)
def test_each_agencys_console_on_kubernetes_calls_the_services_of_the_namespaces_running_them(
    agency: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    deployment, documents = k8s_console(agency)
    pod = pod_of(deployment)
    [container] = pod["containers"]
    settings = console_settings({e["name"]: e["value"] for e in container["env"]}, monkeypatch)
    assert settings.console_agency == agency
    assert settings.console_secure_cookies is True, "behind https"
    assert deployment["spec"]["replicas"] == 1, "its operators' file is on one volume"
    services_by_namespace = {
        namespace: {d["metadata"]["name"]: d for d in docs if d["kind"] == "Service"}
        for _, namespace, docs in agencies_on_kubernetes()
    }
    own_namespace = f"jembatan-{agency}"
    for service, url in settings.service_urls.items():
        host, _, namespace = str(urlsplit(url).hostname).partition(".")
        namespace = namespace or own_namespace
        [port] = services_by_namespace[namespace][host]["spec"]["ports"]
        assert urlsplit(url).port == port["port"], f"{agency} {service}"
    assert set(settings.service_urls) >= set(topology.CONSOLE_CALLS_AT_HUB)
    assert container["readinessProbe"]["httpGet"]["path"] == "/health"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    [service] = [
        d for d in documents if d["kind"] == "Service" and d["metadata"]["name"] == topology.CONSOLE
    ]
    assert service["spec"]["ports"][0]["port"] == settings.http_port
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    [state] = [v for v in pod["volumes"] if v["name"] == mounts[topology.STATE_DIR]["name"]]
    claim = state["persistentVolumeClaim"]["claimName"]
    assert any(
        d["kind"] == "PersistentVolumeClaim" and d["metadata"]["name"] == claim for d in documents
    )


def test_a_console_started_as_compose_configures_it_serves_its_agency_with_make_envs_key(
    made: Path, compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The console really starts with the settings compose gives it and the files make-env.py
    writes (each path mapped to where compose mounts it from), and the token it signs for an
    operator is one the services' trust list takes as that agency's."""
    console = compose_console(compose, "kaltim")
    env = {key: str(value) for key, value in console["environment"].items()}
    sources = {v["target"]: v["source"] for v in console["volumes"] if v["type"] == "bind"}
    for key in ("CONSOLE_ISSUER_FILE", "AUTH_TRUST_FILE"):
        env[key] = str(made / sources[env[key]])
    for key in ("CONSOLE_OPERATORS_FILE", "CONSOLE_SECRET_FILE"):
        env[key] = str(tmp_path / Path(env[key]).relative_to(topology.STATE_DIR))
    settings = console_settings(env, monkeypatch)
    add_operator(settings.console_operators_file, "dewi", "kata-sandi-dewi", ["registrar"])
    with TestClient(build_app(settings), follow_redirects=False) as client:
        assert client.get("/health").json()["agency"] == "kaltim"
        signed_in = client.post("/login", data={"login": "dewi", "password": "kata-sandi-dewi"})
        assert signed_in.status_code == 303
        cookie = client.cookies["jembatan_console_kaltim"].split(".")[0]
    session = json.loads(base64.b64decode(cookie + "=" * (-len(cookie) % 4)))
    trust = TrustList.load(made / topology.TRUST_FILE)
    caller = read_token(trust, session["operator"]["token"], POLICY)
    assert (caller.agency, caller.user, caller.roles) == ("kaltim", "dewi", {"registrar"})


def test_an_agency_signing_in_at_its_provider_gives_its_console_no_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With `OIDC_SIGN_IN`, the rendered console of that agency gets the provider's settings
    and its client secret, and no key: neither in compose nor on Kubernetes."""
    provider = topology.OidcSignIn(
        "https://sso.kaltimprov.go.id/realms/disnakertrans",
        "https://konsol.kaltim.example",
        confidential=True,
    )
    monkeypatch.setitem(topology.OIDC_SIGN_IN, "kaltim", provider)
    files = rendered_files.rendered()
    compose = yaml.safe_load(files[DEPLOY / "compose.yaml"])
    console = compose_console(compose, "kaltim")
    env = {key: str(value) for key, value in console["environment"].items()}
    assert env["CONSOLE_OIDC_ISSUER"] == provider.issuer
    assert env["CONSOLE_OIDC_REDIRECT_URL"] == "https://konsol.kaltim.example/login/oidc/callback"
    assert "CONSOLE_ISSUER_FILE" not in env
    sources = [v["source"] for v in console["volumes"] if v["type"] == "bind"]
    assert sources == [f"./{topology.TRUST_FILE}", "./console-oidc/kaltim.secret"]
    boyolali = compose_console(compose, "boyolali")
    assert "CONSOLE_ISSUER_FILE" in boyolali["environment"], "the others keep their keys"

    documents = list(yaml.safe_load_all(files[DEPLOY / "k8s" / "provinces" / "kaltim.yaml"]))
    [deployment] = [
        d
        for d in documents
        if d["kind"] == "Deployment" and d["metadata"]["name"] == topology.CONSOLE
    ]
    pod = pod_of(deployment)
    assert secrets_used(pod) == {topology.console_oidc_secret("kaltim")}
    [container] = pod["containers"]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert "CONSOLE_ISSUER_FILE" not in env
    secret = Path(env["CONSOLE_OIDC_CLIENT_SECRET_FILE"])
    [mount] = [m for m in container["volumeMounts"] if Path(m["mountPath"]) == secret.parent]
    [volume] = [v for v in pod["volumes"] if v["name"] == mount["name"]]
    assert [item["path"] for item in volume["secret"]["items"]] == [secret.name]


PRIVATE_MARKERS = (
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    re.compile(r'"d"\s*:\s*"[A-Za-z0-9_-]{20,}"'),  # a private JWK's member
    re.compile(r"\$argon2id\$"),  # an operator's password hash
    re.compile(r"(?i)client[_-]?secret\s*[:=]\s*['\"]?[A-Za-z0-9_-]{12,}"),
)


def test_no_secret_is_committed_in_deploy() -> None:
    """Keys, password hashes and client secrets are made on the machine (make-env.py,
    `jembatan operator add`, the provider) and given by mounts and Secrets, never written in
    deploy/'s committed files."""
    committed = subprocess.run(
        ["git", "ls-files", "deploy"], cwd=DEPLOY.parent, capture_output=True, text=True
    ).stdout.split()
    assert committed, "deploy/ is in git"
    for name in committed:
        path = DEPLOY.parent / name
        if not path.is_file():
            continue
        text = path.read_text(errors="replace")
        for marker in PRIVATE_MARKERS:
            assert not marker.search(text), f"{name}: {marker.pattern}"
    gitignore = (DEPLOY / ".gitignore").read_text().split()
    for made_here in (*MADE_BY_MAKE_ENV, "console-oidc"):
        assert any(line.strip("/") == made_here.strip("/") for line in gitignore), made_here
