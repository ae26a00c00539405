"""Each service's durable consumers are read from its own composition root, in an interpreter of
their own, and a service missing from the environment is named."""

from __future__ import annotations

import pytest

from jembatan_cli.consumers import ServiceNotInstalled, consumers_by_service, consumers_of
from jembatan_contracts import (
    CandidateIdentityCleared,
    CandidateRegistered,
    CandidateWithdrawn,
    DuplicateRegistrationFound,
)
from jembatan_kit.nats_permissions import Consumes


def test_the_consumers_are_those_the_bootstrap_wires() -> None:
    assert consumers_of("training") == (
        Consumes("training-candidate-registered", CandidateRegistered),
        Consumes("training-candidate-withdrawn", CandidateWithdrawn),
        Consumes("training-duplicate-found", DuplicateRegistrationFound),
        Consumes("training-identity-cleared", CandidateIdentityCleared),
    )
    assert consumers_of("registration") == ()
    assert consumers_of("identity") == (), "the index answers requests; it consumes no event"


def test_every_service_is_read_in_the_order_asked() -> None:
    read = consumers_by_service(("dashboard", "placement"))
    assert list(read) == ["dashboard", "placement"]
    assert all(consumer.durable.startswith("dashboard-") for consumer in read["dashboard"])


def test_a_service_not_installed_is_named() -> None:
    with pytest.raises(ServiceNotInstalled, match="the ferry service is not installed"):
        consumers_of("ferry")
