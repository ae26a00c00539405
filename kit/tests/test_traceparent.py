"""Traceparents are read and written as the W3C trace-context propagator does, whatever the
header holds: Jembatan's own form without the propagator's machinery, any other form by it."""

from __future__ import annotations

import pytest
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from jembatan_kit.telemetry import (
    context_from_headers,
    context_from_traceparent,
    traceparent_of,
)

W3C = TraceContextTextMapPropagator()
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
SPAN = "00f067aa0ba902b7"

HEADERS = [
    f"00-{TRACE}-{SPAN}-01",
    f"00-{TRACE}-{SPAN}-00",
    f"00-{TRACE}-{SPAN}-ff",
    f"00-{TRACE.upper()}-{SPAN}-01",  # upper case is not hex to the W3C rule
    f"00-{'0' * 32}-{SPAN}-01",  # no trace id
    f"00-{TRACE}-{'0' * 16}-01",  # no span id
    f"ff-{TRACE}-{SPAN}-01",  # the forbidden version
    f"01-{TRACE}-{SPAN}-01-later",  # a later version, with a field of its own
    f"00-{TRACE}-{SPAN}-01-extra",  # version 00 has no fifth field
    f" 00-{TRACE}-{SPAN}-01 ",
    f"00-{TRACE[:-1]}-{SPAN}-01",
    f"00-{TRACE[:-1]}_-{SPAN}-01",  # int() would take an underscore
    f"00-+{TRACE[1:]}-{SPAN}-01",  # and a sign
    f"00_{TRACE}_{SPAN}_01",
    "",
    "garbage",
]


def _what(context: Context) -> tuple[int, int, int, bool, str] | None:
    span_context = trace.get_current_span(context).get_span_context()
    if not span_context.is_valid:
        return None
    return (
        span_context.trace_id,
        span_context.span_id,
        span_context.trace_flags,
        span_context.is_remote,
        span_context.trace_state.to_header(),
    )


@pytest.mark.parametrize("header", HEADERS)
def test_a_traceparent_is_read_as_the_propagator_reads_it(header: str) -> None:
    expected = _what(W3C.extract({"traceparent": header}))
    assert _what(context_from_traceparent(header)) == expected
    assert _what(context_from_headers({"traceparent": header, "Nats-Msg-Id": "x"})) == expected


def test_jembatans_own_form_is_read_into_a_remote_parent() -> None:
    context = context_from_traceparent(f"00-{TRACE}-{SPAN}-01")
    assert _what(context) == (int(TRACE, 16), int(SPAN, 16), 1, True, "")
    assert list(context) == list(W3C.extract({"traceparent": f"00-{TRACE}-{SPAN}-01"}))


def test_a_context_is_read_apart_from_the_current_one() -> None:
    with trace.use_span(NonRecordingSpan(SpanContext(1, 2, is_remote=False))):
        assert _what(context_from_traceparent(None)) is None
        assert _what(context_from_headers({})) is None
        assert _what(context_from_headers(None)) is None
        assert _what(context_from_traceparent(f"00-{'0' * 32}-{SPAN}-01")) is None


def test_a_tracestate_is_kept_as_the_propagator_keeps_it() -> None:
    headers = {"traceparent": f"00-{TRACE}-{SPAN}-01", "tracestate": "agency=kaltim"}
    assert _what(context_from_headers(headers)) == _what(W3C.extract(headers))
    assert _what(context_from_headers(headers))[-1] == "agency=kaltim"  # type: ignore[index]


@pytest.mark.parametrize("flags", [TraceFlags.DEFAULT, TraceFlags.SAMPLED])
def test_a_traceparent_is_written_as_the_propagator_writes_it(flags: int) -> None:
    span = NonRecordingSpan(SpanContext(int(TRACE, 16), int(SPAN, 16), False, TraceFlags(flags)))
    carrier: dict[str, str] = {}
    W3C.inject(carrier, context=trace.set_span_in_context(span))
    assert traceparent_of(span) == carrier["traceparent"]
    read = _what(context_from_traceparent(traceparent_of(span)))
    assert read == (int(TRACE, 16), int(SPAN, 16), flags, True, "")


def test_an_invalid_span_has_no_traceparent() -> None:
    assert traceparent_of(trace.INVALID_SPAN) is None
