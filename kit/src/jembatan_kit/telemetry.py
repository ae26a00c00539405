"""OpenTelemetry for every service: one call sets up the provider, exporters and propagation.

Configured by the standard `OTEL_*` variables: `OTEL_EXPORTER_OTLP_ENDPOINT` sends spans to a
collector, `OTEL_TRACES_SAMPLER`/`OTEL_TRACES_SAMPLER_ARG` choose sampling, `OTEL_SDK_DISABLED`
turns tracing off. `JEMBATAN_TRACES_DIR` also writes spans as JSON lines to
`<dir>/<service>.jsonl` for `jembatan trace`.
"""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.sdk.trace.sampling import Decision, ParentBased, Sampler, SamplingResult
from opentelemetry.trace import (
    Link,
    NonRecordingSpan,
    SpanContext,
    SpanKind,
    TraceFlags,
    TraceState,
)
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import Attributes

TRACER_NAME = "jembatan"

_installed: TracerProvider | None = None


def setup_telemetry(
    service_name: str,
    agency: str,
    extra_processors: tuple[SpanProcessor, ...] = (),
) -> trace.TracerProvider:
    """Install the process-wide tracer provider once and return it."""
    global _installed
    if _installed is not None:
        return _installed
    if os.environ.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return trace.get_tracer_provider()
    resource = Resource.create(
        {
            "service.name": os.environ.get("OTEL_SERVICE_NAME", service_name),
            "service.namespace": "jembatan",
            "jembatan.agency": agency,
        }
    )
    provider = TracerProvider(
        resource=resource,
        id_generator=JourneyIdGenerator(),
        # The standard variable, when set, chooses instead (the SDK reads it when given none).
        sampler=None if os.environ.get("OTEL_TRACES_SAMPLER") else ParentBased(NoStrayStatements()),
    )
    if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get(
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
    ):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    if traces_dir := os.environ.get("JEMBATAN_TRACES_DIR"):
        from pathlib import Path

        from .trace_files import JsonLinesSpanProcessor

        provider.add_span_processor(
            JsonLinesSpanProcessor(Path(traces_dir) / f"{service_name}.jsonl")
        )
    for processor in extra_processors:
        provider.add_span_processor(processor)
    trace.set_tracer_provider(provider)
    _installed = provider
    return provider


class NoStrayStatements(Sampler):
    """Samples every trace but those a database statement would start on its own.

    A statement run within a request or a message's span is a child span of it, kept by the
    parent-based sampler. One run outside any (an outbox relay's poll, a lease renewal, a
    scheduler's sweep, a consumer's query for a batch of many journeys) would be the root of a
    trace of one span, belonging to no journey: on an idle system the relays' polls alone wrote
    about twenty such traces a second, pushing the journeys' spans out of the rotated files. The
    statement instrumentation's spans are the only client spans Jembatan makes."""

    def should_sample(
        self,
        parent_context: otel_context.Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: TraceState | None = None,
    ) -> SamplingResult:
        if kind is SpanKind.CLIENT:
            return SamplingResult(Decision.DROP)
        return SamplingResult(Decision.RECORD_AND_SAMPLE, attributes)

    def get_description(self) -> str:
        return "NoStrayStatements"


_tracer = trace.get_tracer(TRACER_NAME)


def tracing_enabled() -> bool:
    """Whether `setup_telemetry` installed a provider (not `OTEL_SDK_DISABLED`): work done only
    for spans, such as building links, can be skipped otherwise."""
    return _installed is not None


def tracer() -> trace.Tracer:
    """Jembatan's own tracer. Got once: a proxy that follows the provider `setup_telemetry`
    installs, so looking it up again for every span (a scope object and checks each time) is
    not needed."""
    return _tracer


_W3C = TraceContextTextMapPropagator()
"""What an outbox row stores of its context: the W3C traceparent, and nothing else (no baggage),
so it is written and read as the trace-context propagator does (`traceparent_of`,
`context_from_traceparent`)."""


_TRACEPARENT = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")
"""A version-00 traceparent, the one form Jembatan writes: read without the propagator's general
machinery (every consumed message has one). Any other form is left to the propagator."""


def traceparent_of(span: trace.Span) -> str | None:
    """The W3C traceparent naming `span`, as the trace-context propagator writes it."""
    context = span.get_span_context()
    if not context.is_valid:
        return None
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"


def current_traceparent() -> str | None:
    """The W3C traceparent of the active span, to be stored with an outbox row."""
    return traceparent_of(trace.get_current_span())


def context_from_headers(headers: Mapping[str, str] | None) -> otel_context.Context:
    """The context a message's headers carry: its W3C traceparent, the one header of trace
    context the relay publishes."""
    if headers and "tracestate" in headers:
        return _W3C.extract(headers)
    return context_from_traceparent(headers.get("traceparent") if headers else None)


def context_from_traceparent(traceparent: str | None) -> otel_context.Context:
    """The context a traceparent names, as the trace-context propagator reads it: empty for
    none or an invalid one."""
    if not traceparent:
        return otel_context.Context()
    match = _TRACEPARENT.fullmatch(traceparent)
    if match is None:
        return _W3C.extract({"traceparent": traceparent})
    trace_id, span_id = int(match[1], 16), int(match[2], 16)
    if not trace_id or not span_id:
        return otel_context.Context()
    flags = TraceFlags(int(match[3], 16))
    remote = SpanContext(trace_id, span_id, is_remote=True, trace_flags=flags)
    return trace.set_span_in_context(NonRecordingSpan(remote), otel_context.Context())


# --- one trace per candidate journey ---------------------------------------------------------
#
# A journey lasts months and is moved on by many separate operator requests. Its trace id is the
# journey id (both are 128 bits), and registration opens it with a short root span whose span id
# is derived from the journey id. Any service that stages an event for a journey outside that
# trace (an HTTP request, say) does it in a short "stage" span parented to the journey's root and
# linked to the request's own trace. So every event, relay and consumer of one journey is in one
# trace, each operator request is a trace of its own linked to it, and no span lives for months.

_forced_ids: ContextVar[tuple[int, int] | None] = ContextVar("jembatan_forced_ids", default=None)


class JourneyIdGenerator(RandomIdGenerator):
    """Random ids, except while a journey's root span is being started."""

    def generate_trace_id(self) -> int:
        forced = _forced_ids.get()
        return forced[0] if forced else super().generate_trace_id()

    def generate_span_id(self) -> int:
        forced = _forced_ids.get()
        return forced[1] if forced else super().generate_span_id()


def journey_trace_id(journey_id: uuid.UUID) -> int:
    return journey_id.int


def journey_root_span_id(journey_id: uuid.UUID) -> int:
    return int.from_bytes(hashlib.sha256(journey_id.bytes).digest()[:8], "big") or 1


def journey_context(journey_id: uuid.UUID) -> otel_context.Context:
    """A context whose parent is the journey's root span, wherever that span was recorded."""
    root = SpanContext(
        trace_id=journey_trace_id(journey_id),
        span_id=journey_root_span_id(journey_id),
        is_remote=True,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
    )
    return trace.set_span_in_context(NonRecordingSpan(root))


def _link_to(span: trace.Span) -> list[Link]:
    context = span.get_span_context()
    return [Link(context)] if context.is_valid else []


@contextmanager
def journey_root_span(
    journey_id: uuid.UUID, agency: str, creates: str | None = None
) -> Iterator[trace.Span]:
    """Open a journey's trace (registration does this once per candidate). `creates` names the
    event staged in it, for which the root is the creation context."""
    token = _forced_ids.set((journey_trace_id(journey_id), journey_root_span_id(journey_id)))
    attributes: dict[str, str] = {"jembatan.journey_id": str(journey_id), "jembatan.agency": agency}
    if creates:
        attributes |= creation_attributes(creates)
    try:
        span = tracer().start_span(
            "journey",
            context=otel_context.Context(),
            links=_link_to(trace.get_current_span()),
            attributes=attributes,
        )
    finally:
        _forced_ids.reset(token)
    with trace.use_span(span, end_on_exit=True):
        yield span


def staging_traceparent(
    journey_id: uuid.UUID,
    name: str,
    attributes: Mapping[str, str] | None = None,
    within: trace.Span | None = None,
) -> str | None:
    """The traceparent a journey's events are staged with, so they continue its trace: that of
    `within` (or else of the current span) if it is in the journey's trace already; if not, of a
    short span `name` in the journey's trace, linked to where we are (with `attributes` besides
    the journey's id). With tracing off, the journey's root: a service downstream that traces
    still continues the journey's trace.

    A `within` restored from a stored traceparent (`restored_span`: work done now that follows
    from a message handled long ago) is not a span of this process: the short span `name` is
    then started under it, so the staging shows in the trace where it follows on."""
    here = within or trace.get_current_span()
    span = here
    in_journey = here.get_span_context().trace_id == journey_trace_id(journey_id)
    if not in_journey or here.get_span_context().is_remote:
        parent, linked = (
            (trace.set_span_in_context(here), trace.get_current_span())
            if in_journey
            else (journey_context(journey_id), here)
        )
        span = tracer().start_span(
            name,
            context=parent,
            links=_link_to(linked),
            attributes={"jembatan.journey_id": str(journey_id), **(attributes or {})},
        )
        span.end()
    return traceparent_of(span)


def restored_span(traceparent: str | None) -> trace.Span:
    """The span a traceparent stored with a row names (no span of this process), for work done
    now that follows from it: events staged `within` it (`staging_traceparent`, or
    `outbox.staging_for_messages`) continue its trace in a short span under it."""
    return trace.get_current_span(context_from_traceparent(traceparent))


def creation_attributes(event_types: str) -> dict[str, str]:
    """What a span in which events are staged says of them: it is their creation context (the
    OpenTelemetry messaging conventions' "create"), and which events (comma-separated)."""
    return {"messaging.operation.type": "create", "jembatan.event_type": event_types}
