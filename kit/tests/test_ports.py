"""Ports for the servers the tests and the benchmark start: free, distinct, and outside the
range the kernel hands to outgoing connections, so no client can take one first."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from jembatan_kit import nats_server
from jembatan_kit.nats_server import LOWEST_PORT, free_ports


def test_free_ports_are_distinct_bindable_and_below_the_ephemeral_range() -> None:
    ephemeral = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    ports = free_ports(12)
    assert len(set(ports)) == 12
    assert all(LOWEST_PORT <= port < ephemeral for port in ports), ports
    for port in ports:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))


def test_a_port_in_use_is_passed_over(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", free_ports(1)[0]))
        taken.listen()
        held = taken.getsockname()[1]
        # The port in use comes first in the random order: the next one is taken instead.
        monkeypatch.setattr(
            nats_server.random,
            "sample",
            lambda population, k: [held, *(p for p in population if p != held)],
        )
        (chosen,) = free_ports(1)
    assert chosen != held
