"""`jembatan trace` finds a journey's spans in rotated span files as in the current one."""

from __future__ import annotations

import uuid
from pathlib import Path

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from typer.testing import CliRunner

from jembatan_cli.main import app
from jembatan_cli.traces import journey_spans
from jembatan_kit.trace_files import JsonLinesSpanProcessor


def test_a_journeys_spans_are_read_from_rotated_files_too(tmp_path: Path) -> None:
    traces = tmp_path / "traces"
    provider = TracerProvider(
        resource=Resource.create({"service.name": "training", "jembatan.agency": "kaltim"}),
        shutdown_on_exit=False,
    )
    processor = JsonLinesSpanProcessor(
        traces / "training.jsonl", 3600, rotate_bytes=10_000, keep_rotated=5
    )
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("test")
    followed, other = str(uuid.uuid4()), str(uuid.uuid4())
    # The followed journey's first request is written, then enough of another journey's spans
    # to rotate its file, then its second request.
    for request, journey in (("register", followed), ("noise", other), ("enrol", followed)):
        for number in range(30 if journey == other else 1):
            with tracer.start_as_current_span(
                f"{request} {number}", attributes={"jembatan.journey_id": journey}
            ):
                tracer.start_span("child " + "x" * 200).end()
            processor.force_flush()
    provider.shutdown()
    assert (traces / "training.jsonl.2").exists(), "the first request's spans were rotated"

    spans = journey_spans(traces, followed)

    assert sorted(span["name"] for span in spans if not span["name"].startswith("child")) == [
        "enrol 0",
        "register 0",
    ]
    assert len(spans) == 4, "each request's trace, its child included"
    shown = CliRunner().invoke(app, ["trace", followed, "--data-dir", str(tmp_path)])
    assert shown.exit_code == 0, shown.output
    assert "register 0" in shown.output and "enrol 0" in shown.output
    assert "noise" not in shown.output
