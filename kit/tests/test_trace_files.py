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


def test_a_full_file_is_rotated_and_every_kept_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "kit-tests.jsonl"
    provider = TracerProvider(resource=Resource.create({"service.name": "kit-tests"}))
    processor = JsonLinesSpanProcessor(path, 3600, rotate_bytes=20_000, keep_rotated=2)
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("test")
    written = 0
    for _round in range(8):  # each round writes well over half a file
        for _ in range(40):
            tracer.start_span(f"span {written} " + "x" * 200).end()
            written += 1
        processor.force_flush()
    provider.shutdown()

    assert sorted(p.name for p in tmp_path.glob("kit-tests.jsonl*")) == [
        "kit-tests.jsonl",
        "kit-tests.jsonl.1",
        "kit-tests.jsonl.2",
        "kit-tests.jsonl.lock",
    ], "the oldest beyond two rotated files was deleted"
    assert all(p.stat().st_size < 20_000 + 40 * 1000 for p in tmp_path.glob("*.jsonl*"))
    numbers = [int(span["name"].split()[1]) for span in read_spans(tmp_path)]
    assert numbers == list(range(numbers[0], written)), "the kept spans, oldest first, no gap"
    assert 0 < numbers[0] < written - 80


def test_a_process_writes_to_the_new_file_after_another_rotated_it(tmp_path: Path) -> None:
    path = tmp_path / "kit-tests.jsonl"
    writers = []
    for name in ("a", "b"):
        provider = TracerProvider(resource=Resource.create({"service.name": name}))
        processor = JsonLinesSpanProcessor(path, 3600, rotate_bytes=20_000, keep_rotated=10)
        provider.add_span_processor(processor)
        writers.append((provider.get_tracer(name), processor))
    for number in range(10):
        for tracer, processor in writers:
            for _ in range(10):
                tracer.start_span(f"{number} " + "x" * 200).end()
            processor.force_flush()
    current = [json.loads(line) for line in path.read_text().splitlines()]
    assert {span["service"] for span in current} == {"a", "b"}, "both write the current file"
    assert len(list(tmp_path.glob("kit-tests.jsonl.*[0-9]"))) >= 3, "rotated several times"
    assert len(read_spans(tmp_path)) == 2 * 10 * 10, "no span lost in a rotation"
    for _tracer, processor in writers:
        processor.shutdown()
