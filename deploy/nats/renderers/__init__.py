"""The deployment's files, each rendered from the topology (deploy/nats/topology.py) by the
module of its kind: `nats_configs` (the hub's, its cluster's and each province's nats-server
config), `hub_streams` (the hub's stream configs), `compose` (deploy/compose.yaml) and
`kubernetes` (each province's manifest, the token issuers). `files` names every file and
writes them all."""

HEADER = "# Rendered by deploy/nats/topology.py from its data; edit that file, then re-run it.\n"
