"""Every rendered file of the deployment, by its path, and writing them all
(`python deploy/nats/topology.py`)."""

from __future__ import annotations

import sys
from pathlib import Path

from topology import CONSOLE, PROVINCES, TOKEN_ISSUER

from .compose import render_compose
from .hub_streams import render_hub_streams
from .kubernetes import (
    render_hub_agencies,
    render_hub_console,
    render_hub_token_issuer,
    render_province_k8s,
)
from .nats_configs import render_hub, render_hub_cluster, render_province

NATS = Path(__file__).resolve().parents[1]
DEPLOY = NATS.parent


def rendered() -> dict[Path, str]:
    files = {NATS / "hub.conf": render_hub()}
    files[NATS / "hub-cluster.conf"] = render_hub_cluster()
    files[DEPLOY / "compose.yaml"] = render_compose()
    files[DEPLOY / "k8s" / f"{TOKEN_ISSUER}.yaml"] = render_hub_token_issuer()
    files[DEPLOY / "k8s" / "agencies.yaml"] = render_hub_agencies()
    files[DEPLOY / "k8s" / f"{CONSOLE}.yaml"] = render_hub_console()
    for province in PROVINCES:
        files[DEPLOY / "k8s" / "provinces" / f"{province}.yaml"] = render_province_k8s(province)
    for province in PROVINCES:
        files[NATS / f"{province}.conf"] = render_province(province)
    for name, text in render_hub_streams().items():
        files[NATS / name] = text
    return files


def write() -> None:
    for path, text in rendered().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        print(f"wrote {path.relative_to(DEPLOY.parent)}", file=sys.stderr)
