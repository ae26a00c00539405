"""The committed nats-server configs are what the topology renders, and nats-server accepts them."""

from __future__ import annotations

import os
import re
import subprocess

import pytest

from jembatan_kit.nats_server import nats_server_binary

from .conftest import NATS_CONFIGS, dev_password, topology


def test_committed_configs_are_the_rendered_topology() -> None:
    for path, text in topology.rendered().items():
        assert path.read_text() == text, f"{path.name} differs: run deploy/nats/topology.py"


@pytest.mark.parametrize("config", sorted(NATS_CONFIGS.glob("*.conf")), ids=lambda p: p.name)
def test_nats_server_accepts_each_config(config) -> None:  # type: ignore[no-untyped-def]
    env = dict(os.environ)
    for variable in re.findall(r"\$(JEMBATAN_[A-Z0-9_]+)", config.read_text()):
        env[variable] = (
            "nats-leaf://leaf:pw@127.0.0.1:7422"
            if variable.endswith("_URL")
            else dev_password(variable)
        )
    result = subprocess.run(
        [nats_server_binary(), "-t", "-c", str(config)], env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
