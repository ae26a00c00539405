"""What is traced: every request, message and journey; no database statement on its own."""

from __future__ import annotations

from pathlib import Path

import pytest
from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ParentBased
from opentelemetry.trace import SpanKind, use_span
from sqlalchemy import text

from jembatan_kit.db import create_engine
from jembatan_kit.telemetry import NoStrayStatements


@pytest.fixture
def spans() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def provider(spans: InMemorySpanExporter) -> TracerProvider:
    provider = TracerProvider(sampler=ParentBased(NoStrayStatements()), shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(spans))
    return provider


@pytest.mark.parametrize("kind", [SpanKind.SERVER, SpanKind.INTERNAL, SpanKind.PRODUCER])
def test_a_request_a_journey_or_a_relay_wave_starts_a_trace(
    provider: TracerProvider, kind: SpanKind
) -> None:
    assert provider.get_tracer("test").start_span("root", kind=kind).is_recording()


async def test_a_statement_is_traced_within_a_span_and_never_on_its_own(
    provider: TracerProvider, spans: InMemorySpanExporter, tmp_path: Path
) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'service.db'}")
    instrumentor = SQLAlchemyInstrumentor()  # one per process: a service's runtime may hold it
    if instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.uninstrument()
    instrumentor.instrument(
        engine=engine.sync_engine, tracer_provider=provider, skip_dep_check=True
    )
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))  # a poll, a lease renewal
            with use_span(provider.get_tracer("test").start_span("process"), end_on_exit=True):
                await connection.execute(text("SELECT 2"))
    finally:
        instrumentor.uninstrument()
        await engine.dispose()
    finished = spans.get_finished_spans()
    statements = [span for span in finished if span.kind is SpanKind.CLIENT]
    (process,) = [span for span in finished if span.name == "process"]
    assert len(statements) == 1, "the statement outside any span is not a trace of its own"
    assert statements[0].parent is not None
    assert statements[0].parent.span_id == process.context.span_id
