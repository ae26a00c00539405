"""Spans written locally as JSON lines, one file per service, so an operator on the embedded
default can read a journey's trace without installing a collector (`jembatan trace`)."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

import orjson
from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

FLUSH_INTERVAL_S = 0.5
"""At most this long between a span's end and its line reaching the file."""
FLUSH_LINES = 1000
"""A buffer this long is written at once, without waiting for the interval."""


def span_record(span: ReadableSpan) -> dict[str, Any]:
    context = span.get_span_context()
    assert context is not None
    return {
        "trace_id": f"{context.trace_id:032x}",
        "span_id": f"{context.span_id:016x}",
        "parent_span_id": f"{span.parent.span_id:016x}" if span.parent else None,
        "name": span.name,
        "kind": span.kind.name,
        "service": span.resource.attributes.get("service.name"),
        "agency": span.resource.attributes.get("jembatan.agency"),
        "start_ns": span.start_time,
        "end_ns": span.end_time,
        "status": span.status.status_code.name,
        "attributes": dict(span.attributes or {}),
        "links": [
            {"trace_id": f"{link.context.trace_id:032x}", "span_id": f"{link.context.span_id:016x}"}
            for link in span.links
        ],
    }


class JsonLinesSpanProcessor(SpanProcessor):
    """Appends each ended span to `path` as one JSON line.

    The line is encoded when the span ends, on the thread that ends it (a few microseconds
    with orjson), and kept in a buffer that is written with one `write` of whole lines: when it
    holds `FLUSH_LINES`, every `FLUSH_INTERVAL_S` (a daemon thread that only does that), and on
    `force_flush` and `shutdown`. For a local file this is cheaper than the SDK's
    BatchSpanProcessor, whose queue and export thread cost each span more than its encoding.
    Several processes may append to the same file: the file is opened with O_APPEND and each
    write holds whole lines.
    """

    def __init__(self, path: Path, flush_interval_s: float = FLUSH_INTERVAL_S) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fd: int | None = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self._lines: list[bytes] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._interval_s = flush_interval_s
        self._flusher = threading.Thread(
            target=self._flush_periodically, name="jembatan-span-lines", daemon=True
        )
        self._flusher.start()

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        return None

    def on_end(self, span: ReadableSpan) -> None:
        line = orjson.dumps(span_record(span)) + b"\n"
        with self._lock:
            self._lines.append(line)
            if len(self._lines) >= FLUSH_LINES:
                self._write_locked()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        with self._lock:
            self._write_locked()
        return True

    def shutdown(self) -> None:
        self._stopping.set()
        self._flusher.join(timeout=5)
        with self._lock:
            self._write_locked()
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def _flush_periodically(self) -> None:
        while not self._stopping.wait(self._interval_s):
            self.force_flush()

    def _write_locked(self) -> None:
        if self._lines and self._fd is not None:
            pending = memoryview(b"".join(self._lines))
            while pending:
                pending = pending[os.write(self._fd, pending) :]
        self._lines.clear()


def read_spans(directory: Path) -> list[dict[str, Any]]:
    spans = []
    for path in sorted(directory.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                spans.append(json.loads(line))
    return spans
