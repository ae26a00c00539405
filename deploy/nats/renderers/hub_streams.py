"""The streams the hub-streams job creates at the hub, as JetStream API JSON (what `nats stream add
--config` takes): the sourcing streams, which take in the provinces' events Kemnaker's services
consume, and the revocation bucket every service reads. Compose and Kubernetes run the job."""

from __future__ import annotations

import json

from topology import (
    HUB_AGENCY,
    HUB_CLUSTER_SIZE,
    PROVINCES,
    domain_of,
    sourced_from_provinces,
    sourced_streams,
    sync_deliver_prefix,
)

from jembatan_contracts.envelope import SUBJECT_ROOT
from jembatan_kit.broker import DUPLICATE_WINDOW_S
from jembatan_kit.revocation import bucket_config
from jembatan_kit.settings import ServiceSettings

DUPLICATE_WINDOW_NS = DUPLICATE_WINDOW_S * 1_000_000_000
STREAM_MAX_AGE_NS = round(
    ServiceSettings.model_fields["stream_max_age_days"].default * 24 * 60 * 60 * 1_000_000_000
)
"""How long the hub's sourcing streams keep an event: as long as the streams the services create
(`STREAM_MAX_AGE_DAYS`, its default), which the inboxes' retention follows."""


def hub_created_streams() -> list[dict[str, object]]:
    """What the hub-streams job creates: the sourcing streams, and the revocation bucket."""
    return [*hub_sourcing_streams(), bucket_config(HUB_CLUSTER_SIZE).as_dict()]


def hub_sourcing_streams() -> list[dict[str, object]]:
    """The hub's stream configs (JetStream API JSON, as `nats stream add --config` takes it)."""
    streams = []
    for stream in sourced_streams():
        sources = [
            {
                "name": stream,
                "filter_subject": event.subject_for(province),
                "external": {
                    "api": f"$JS.{domain_of(province)}.API",
                    "deliver": sync_deliver_prefix(province, stream),
                },
            }
            for province in PROVINCES
            for event in sourced_from_provinces()
            if event.stream_name() == stream
        ]
        streams.append(
            {
                "name": stream,
                "description": f"{HUB_AGENCY}'s own {stream.lower()} events, and the provinces'"
                " events the hub consumes",
                "subjects": [f"{SUBJECT_ROOT}.{HUB_AGENCY}.{stream.lower()}.>"],
                "sources": sources,
                "retention": "limits",
                "storage": "file",
                "discard": "old",
                "num_replicas": HUB_CLUSTER_SIZE,
                "max_age": STREAM_MAX_AGE_NS,
                "duplicate_window": DUPLICATE_WINDOW_NS,
            }
        )
    return streams


def hub_stream_names() -> tuple[str, ...]:
    return tuple(str(stream["name"]) for stream in hub_created_streams())


def file_name(stream: str) -> str:
    """The stream's committed config, in deploy/nats and as mounted into the job."""
    return f"hub-stream-{stream.lower()}.json"


def hub_streams_command() -> str:
    """Create each of the hub's sourcing streams and the revocation bucket that does not exist
    yet (as `ops`)."""
    return " && ".join(
        f"(nats stream info {name} >/dev/null 2>&1 || nats stream add --config"
        f" /etc/jembatan/{file_name(name)})"
        for name in hub_stream_names()
    )


def render_hub_streams() -> dict[str, str]:
    """Each stream's config file, by its name."""
    return {
        file_name(str(stream["name"])): json.dumps(stream, indent=2) + "\n"
        for stream in hub_created_streams()
    }
