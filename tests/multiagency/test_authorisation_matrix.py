"""Every service user of every agency, against every event subject and the JetStream API.

The users and probes come from the topology the configs are rendered from; what each user may do
is stated below independently, as the rule the configs must implement."""

from __future__ import annotations

import asyncio

import pytest

from jembatan_contracts import CATALOGUE

from .conftest import Federation, topology

AGENCIES = (topology.HUB_AGENCY, *topology.PROVINCES)
DOMAINS = tuple(topology.domain_of(agency) for agency in AGENCIES)
STREAMS = ("REGISTRATION", "TRAINING", "PLACEMENT", "FINANCING", "DEADLETTER")


def event_subjects() -> list[str]:
    """Every catalogued event of every agency, and a made-up one under each service's name."""
    subjects = [event.subject_for(agency) for agency in AGENCIES for event in CATALOGUE]
    services = {s for agency in AGENCIES for s in topology.services_of(agency)}
    subjects += [f"jembatan.{a}.{s}.probe.made-up.v1" for a in AGENCIES for s in sorted(services)]
    subjects += [f"identity.{a}.claims.v1" for a in AGENCIES]  # the identity index's requests
    return subjects


def api_subjects() -> list[str]:
    subjects = [f"$JS.API.STREAM.{verb}.{s}" for s in STREAMS for verb in ("CREATE", "DELETE")]
    subjects += [f"$JS.API.STREAM.PURGE.{s}" for s in STREAMS]
    subjects += [f"$JS.API.CONSUMER.CREATE.{s}.someone-else" for s in STREAMS]
    subjects += [f"$JS.{domain}.API.STREAM.INFO.TRAINING" for domain in DOMAINS]
    return subjects + consumer_subjects()


def consumer_subjects() -> list[str]:
    """Pulling from, and (re)defining, every durable consumer of the topology, and a replay
    consumer with a generated name reading a whole stream."""
    subjects = []
    for agency in AGENCIES:
        for service in topology.services_of(agency):
            for consumes in topology.consumers()[service]:
                stream, durable = consumes.stream, consumes.durable
                filter_subject = consumes.event.subject_any_agency()
                subjects += [
                    f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{durable}",
                    f"$JS.API.CONSUMER.CREATE.{stream}.{durable}.{filter_subject}",
                    f"$JS.API.CONSUMER.CREATE.{stream}.{durable}.jembatan.*.{stream.lower()}.>",
                ]
    for stream in STREAMS:
        subjects += [
            f"$JS.API.CONSUMER.MSG.NEXT.{stream}.Xk3replay",
            f"$JS.API.CONSUMER.CREATE.{stream}.Xk3replay.jembatan.*.{stream.lower()}.>",
        ]
    return subjects


READS_FROM = {
    "training": ("REGISTRATION",),
    "placement": ("TRAINING", "REGISTRATION"),
    "financing": ("PLACEMENT", "REGISTRATION"),
    "dashboard": ("REGISTRATION", "TRAINING", "PLACEMENT", "FINANCING"),
}
"""The streams each service consumes from."""
PUBLISHES_NO_EVENTS = ("dashboard", "identity")
"""Read models, and the identity index: they never publish an event, and own no stream."""
REBUILDS = ("dashboard",)
"""Read models that replay the streams they read from the first message, through consumers of
their own with generated names."""


def as_served(agency: str, subject: str) -> str:
    """The server answers its own domain's API as the local API, and reports it so."""
    own_domain_api = f"$JS.{topology.domain_of(agency)}.API."
    if subject.startswith(own_domain_api):
        return "$JS.API." + subject.removeprefix(own_domain_api)
    return subject


def may_publish(agency: str, service: str, subject: str) -> bool:
    """Events only of its own service, and in a province only under its own agency (Kemnaker's
    services act for every agency's candidates), none for a read model; streams: create its own
    and the dead-letter stream, look at those and the ones it consumes from; consumers: its own
    durables, whole-stream replays for a read model that rebuilds, never another service's
    durable; nothing in another JetStream domain."""
    tokens = subject.split(".")
    if tokens[0] == "identity":  # asking the index: registration, for its own agency alone
        return service == "registration" and tokens[1] == agency
    if tokens[0] == "jembatan":
        if service in PUBLISHES_NO_EVENTS:
            return False
        national = agency == topology.HUB_AGENCY
        return (national or tokens[1] == agency) and tokens[2] == service
    own = ("DEADLETTER",) if service in PUBLISHES_NO_EVENTS else (service.upper(), "DEADLETTER")
    reads = READS_FROM.get(service, ())
    if subject.startswith("$JS.API.STREAM.CREATE."):
        return tokens[-1] in own
    if subject.startswith("$JS.API.STREAM.INFO."):
        return tokens[-1] in (*own, *reads)
    if subject.startswith(("$JS.API.CONSUMER.MSG.NEXT.", "$JS.API.CONSUMER.CREATE.")):
        stream, consumer = tokens[-2:] if "MSG" in tokens else tokens[4:6]
        if stream not in reads:
            return False
        if consumer.startswith(f"{service}-"):
            return True
        durable_of_another = "-" in consumer
        whole_stream = "MSG" in tokens or tokens[6:] == ["jembatan", "*", stream.lower(), ">"]
        return service in REBUILDS and not durable_of_another and whole_stream
    return False


def may_subscribe(service: str, subject: str) -> bool:
    """Its own inbox; and every agency's requests to the index, for the index alone."""
    return subject.startswith("_INBOX.") or (service == "identity" and subject == "identity.*.>")


SUBSCRIBE_PROBES = [
    *(f"jembatan.{agency}.>" for agency in AGENCIES),
    "jembatan.>",
    "deadletter.>",
    "$JS.API.>",
    "$JS.ACK.>",
    "_INBOX.probe",
    "identity.*.>",
]

SERVICE_USERS = [
    (agency, service) for agency in AGENCIES for service in topology.services_of(agency)
]


@pytest.mark.parametrize(("agency", "service"), SERVICE_USERS, ids=lambda v: v)
async def test_each_service_user_may_do_exactly_what_its_role_allows(
    federation: Federation, agency: str, service: str
) -> None:
    client = await federation.connect(agency, service)
    try:
        probes = event_subjects() + api_subjects()
        for subject in probes:
            await client.nc.publish(subject, b"")
        for subject in SUBSCRIBE_PROBES:
            await client.nc.subscribe(subject)
        await client.nc.flush()
        await asyncio.sleep(0.3)
    finally:
        await client.nc.close()

    served = {as_served(agency, subject) for subject in probes}
    expected_denied_publish = {s.lower() for s in served if not may_publish(agency, service, s)}
    expected_denied_subscribe = {
        s.lower() for s in SUBSCRIBE_PROBES if not may_subscribe(service, s)
    }
    assert client.denied_subjects("publish") == expected_denied_publish
    assert client.denied_subjects("subscription") == expected_denied_subscribe
    assert len(served) - len(expected_denied_publish) >= 1, "the user may publish nothing"
