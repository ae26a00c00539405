"""The nats-server configs: the hub's (its accounts, users, imports and exports), the hub
cluster's, and each province's leaf."""

from __future__ import annotations

from topology import (
    CLUSTER_PORT,
    HUB_AGENCY,
    HUB_CLUSTER_SIZE,
    HUB_STATEFULSET,
    LEAF_PORT,
    MAX_PAYLOAD,
    MONITOR_PORT,
    PROVINCES,
    SYNC_INTERVAL,
    User,
    account_of,
    domain_of,
    hub_leaf_url_var,
    hub_route,
    identity_service,
    leaf_user,
    password_var,
    revocation_services,
    source_consumer_create,
    sourced_from_provinces,
    sourced_streams,
    sync_deliver_prefix,
    users_of,
)

from . import HEADER


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
        for stream in sourced_streams():
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
    for province in PROVINCES:
        subject, account = identity_service(province), account_of(province)
        out.append(f'      {{ service: "{subject}", accounts: [{account}] }}\n')
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
            f'      {{ service: {{ account: {hub}, subject: "{identity_service(province)}" }} }}\n',
            "    ]\n",
            "    exports: [\n",
        ]
        for stream in sourced_streams():
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
