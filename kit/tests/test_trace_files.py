"""The embedded default's span files: every ended span reaches its file as one JSON line."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

from jembatan_kit.trace_files import FLUSH_LINES, JsonLinesSpanProcessor, read_spans


def provider_writing_to(path: Path, flush_interval_s: float = 0.05) -> TracerProvider:
    provider = TracerProvider(
        resource=Resource.create({"service.name": "kit-tests", "jembatan.agency": "kaltim"}),
        shutdown_on_exit=False,
    )
    provider.add_span_processor(JsonLinesSpanProcessor(path, flush_interval_s))
    return provider


def test_an_ended_span_reaches_the_file_within_the_flush_interval(tmp_path: Path) -> None:
    provider = provider_writing_to(tmp_path / "kit-tests.jsonl")
    tracer = provider.get_tracer("test")
    with (
        tracer.start_as_current_span("parent"),
        tracer.start_as_current_span(
            "child", attributes={"jembatan.event_type": "CandidateRegistered", "sizes": (1, 2)}
        ),
    ):
        pass
    deadline = time.monotonic() + 5
    while len(read_spans(tmp_path)) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    child, parent = read_spans(tmp_path)
    assert (child["name"], parent["name"]) == ("child", "parent")
    assert child["parent_span_id"] == parent["span_id"]
    assert child["trace_id"] == parent["trace_id"]
    assert child["service"] == "kit-tests" and child["agency"] == "kaltim"
    assert child["attributes"] == {"jembatan.event_type": "CandidateRegistered", "sizes": [1, 2]}
    provider.shutdown()


def test_shutdown_writes_what_is_buffered(tmp_path: Path) -> None:
    provider = provider_writing_to(tmp_path / "kit-tests.jsonl", flush_interval_s=3600)
    tracer = provider.get_tracer("test")
    for number in range(FLUSH_LINES + 5):
        tracer.start_span(f"span {number}").end()
    assert len(read_spans(tmp_path)) == FLUSH_LINES, "a full buffer is written at once"
    provider.shutdown()
    assert [span["name"] for span in read_spans(tmp_path)] == [
        f"span {number}" for number in range(FLUSH_LINES + 5)
    ]


WRITER = """
import sys, time
from pathlib import Path
sys.path.insert(0, {tests!r})
from test_trace_files import provider_writing_to
provider = provider_writing_to(Path(sys.argv[1]), flush_interval_s=0.001)
tracer = provider.get_tracer("test")
start = float(sys.argv[3])
time.sleep(max(0.0, start - time.time()))
while time.time() < start + 0.5:
    tracer.start_span(sys.argv[2] + " " + "x" * 200).end()
provider.shutdown()
"""


def test_processes_appending_to_one_file_write_whole_lines(tmp_path: Path) -> None:
    path = tmp_path / "kit-tests.jsonl"
    script = WRITER.format(tests=str(Path(__file__).parent))
    start = str(time.time() + 2)
    writers = [
        subprocess.Popen([sys.executable, "-c", script, str(path), name, start]) for name in "ab"
    ]
    assert [writer.wait(timeout=60) for writer in writers] == [0, 0]
    names = [json.loads(line)["name"].split()[0] for line in path.read_text().splitlines()]
    assert set(names) == {"a", "b"}
    assert names.count("a") > 1000 and names.count("b") > 1000
