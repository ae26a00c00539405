"""AsyncAPI documents of the events, one per service, generated with FastStream.

A service's document lists what it publishes (the events of the contracts it owns, on its own
stream; the outbox relay sends them) and what it consumes (its durable pull consumers, read from
the service's own composition root), each with the event's JSON Schema. Nothing connects to NATS.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from faststream.nats import JStream, NatsBroker, PullSub
from faststream.specification.asyncapi import AsyncAPI
from faststream.specification.asyncapi.site import get_asyncapi_html

from jembatan_contracts import CATALOGUE, Event

from .consumers import consumers_of
from .system import DEFAULT_NATS_PORT

DOCUMENTED_SERVER = f"nats://127.0.0.1:{DEFAULT_NATS_PORT}"
"""The embedded default's NATS, named in every document (generation never connects)."""


def events_published_by(service: str) -> list[type[Event]]:
    return [event for event in CATALOGUE if event.subject_suffix.startswith(f"{service}.")]


def service_document(service: str) -> dict[str, Any]:
    consumers = consumers_of(service)
    broker = NatsBroker(DOCUMENTED_SERVER, description=f"The agency's NATS JetStream ({service})")
    for event_type in events_published_by(service):
        broker.publisher(
            event_type.subject_any_agency(),
            stream=JStream(event_type.stream_name(), declare=False),
            title=f"{event_type.name}:Publisher",
            description=(event_type.__doc__ or f"{service} publishes {event_type.name}").strip(),
            schema=event_type,
        )
    for consumer in consumers:
        broker.subscriber(
            consumer.event.subject_any_agency(),
            stream=JStream(consumer.event.stream_name(), declare=False),
            durable=consumer.durable,
            pull_sub=PullSub(),
            title=consumer.durable,
            description=f"{consumer.durable} consumes {consumer.event.name} from every "
            "agency, in batches, idempotently (inbox), dead-lettering what it cannot handle",
        )(_handler_of(consumer.event))
    specification = AsyncAPI(
        broker,
        title=f"Jembatan {service} events",
        version="1",
        description=f"What the {service} service publishes and consumes. Subjects are "
        "jembatan.<agency>.<service>.<entity>.<event>.v<major>; every event carries the "
        "envelope (event_id, which is also the Nats-Msg-Id, event_type, schema_version, "
        "occurred_at, agency, journey_id) and never a NIK, a name or a phone number.",
    ).to_specification()
    stable = _SortedSpecification(specification)
    return {
        "json": stable.to_json(),
        "html": get_asyncapi_html(cast(Any, stable), try_it_out_path=None),
    }


def _handler_of(event_type: type[Event]) -> Callable[..., Any]:
    async def handle(event: Any) -> None:
        return None

    handle.__annotations__ = {"event": event_type, "return": None}
    handle.__name__ = f"on_{event_type.name}"
    return handle


class _SortedSpecification:
    """The specification with its keys sorted, so regenerating it changes no line by itself."""

    def __init__(self, specification: Any) -> None:
        self.title = specification.title
        self._jsonable = specification.to_jsonable()

    def to_json(self) -> str:
        return json.dumps(self._jsonable, indent=2, sort_keys=True)


def write_documents(services: tuple[str, ...], out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for service in services:
        document = service_document(service)
        for kind in ("json", "html"):
            path = out / f"{service}.{kind}"
            text = document[kind]
            path.write_text(text if text.endswith("\n") else text + "\n")
            written.append(path)
    return written
