"""The AsyncAPI documents: every consumer and every published event of each service, with the
event schemas, no personal data, and the committed files in docs/asyncapi up to date."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jembatan_cli.asyncapi import events_published_by, service_document
from jembatan_cli.consumers import consumers_of

DOCS = Path(__file__).resolve().parents[2] / "docs" / "asyncapi"
SERVICES = ("registration", "training", "placement", "financing")
PERSONAL = {"nik", "full_name", "name", "phone", "birth_date"}


@pytest.fixture(scope="module")
def documents() -> dict[str, dict[str, object]]:
    return {service: json.loads(service_document(service)["json"]) for service in SERVICES}


@pytest.mark.parametrize("service", SERVICES)
def test_a_document_lists_what_the_service_consumes_and_publishes(
    service: str, documents: dict[str, dict[str, object]]
) -> None:
    document = documents[service]
    channels = document["channels"]
    assert isinstance(channels, dict)
    addresses = {channel["address"] for channel in channels.values()}
    for consumer in consumers_of(service):
        assert consumer.durable in channels
        assert channels[consumer.durable]["address"] == consumer.event.subject_any_agency()
    published = events_published_by(service)
    assert published, f"{service} owns no event in the contracts"
    assert {event.subject_any_agency() for event in published} <= addresses
    schemas = document["components"]["schemas"]  # type: ignore[index]
    for event in published:
        properties = schemas[event.name]["properties"]
        assert {"event_id", "journey_id", "agency", "occurred_at"} <= set(properties)
        assert not PERSONAL & set(properties), f"{event.name} carries personal data"


def test_the_consumers_of_the_journey_are_documented(
    documents: dict[str, dict[str, object]],
) -> None:
    durables = {name for document in documents.values() for name in document["channels"]}  # type: ignore[attr-defined]
    assert {
        "training-candidate-registered",
        "placement-candidate-ready",
        "financing-candidate-placed",
        "financing-departed",
    } <= durables


@pytest.mark.parametrize("service", SERVICES)
def test_the_committed_document_is_up_to_date(
    service: str, documents: dict[str, dict[str, object]]
) -> None:
    committed = DOCS / f"{service}.json"
    assert committed.exists(), "generate the documents with `jembatan asyncapi`"
    assert json.loads(committed.read_text()) == documents[service], (
        f"{committed} is out of date: regenerate it with `jembatan asyncapi`"
    )
