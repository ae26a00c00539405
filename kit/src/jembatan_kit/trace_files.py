"""Spans written locally as JSON lines, one file per service, so an operator on the embedded
default can read a journey's trace without installing a collector (`jembatan trace`).

A file that reaches `ROTATE_BYTES` is renamed `<service>.jsonl.1` (the one before to `.2`, and so
on; the oldest beyond `KEEP_ROTATED` is deleted) and a new one started, so the spans of a
service take at most `(1 + KEEP_ROTATED) * ROTATE_BYTES` of disk.
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import json
import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

FLUSH_INTERVAL_S = 0.5
"""At most this long between a span's end and its line reaching the file."""
FLUSH_LINES = 1000
"""A buffer this long is written at once, without waiting for the interval."""
ROTATE_BYTES = 64 * 1024 * 1024
KEEP_ROTATED = 3


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
    write holds whole lines. Before a write, a file past `rotate_bytes` is rotated, by one
    process at a time (an flock on `<file>.lock`), and a process whose file was rotated by
    another opens the new one.
    """

    def __init__(
        self,
        path: Path,
        flush_interval_s: float = FLUSH_INTERVAL_S,
        rotate_bytes: int = ROTATE_BYTES,
        keep_rotated: int = KEEP_ROTATED,
    ) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._path = path
        self._rotate_bytes = rotate_bytes
        self._keep_rotated = keep_rotated
        self._fd: int | None = self._open()
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

    def _open(self) -> int:
        return os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def _write_locked(self) -> None:
        if self._lines and self._fd is not None:
            self._rotate_if_due_locked()
            pending = memoryview(b"".join(self._lines))
            while pending:
                pending = pending[os.write(self._fd, pending) :]
        self._lines.clear()

    def _rotate_if_due_locked(self) -> None:
        assert self._fd is not None
        if self._is_current(self._fd) and os.fstat(self._fd).st_size < self._rotate_bytes:
            return
        with _exclusive(self._path.with_name(self._path.name + ".lock")):
            # Another process may have rotated it meanwhile: look at the file by its name.
            with contextlib.suppress(FileNotFoundError):
                if self._path.stat().st_size >= self._rotate_bytes:
                    self._rotate()
            os.close(self._fd)
            self._fd = self._open()

    def _is_current(self, fd: int) -> bool:
        """Whether `fd` is still the file named `path` (no other process rotated it)."""
        try:
            named = self._path.stat()
        except FileNotFoundError:
            return False
        opened = os.fstat(fd)
        return (named.st_dev, named.st_ino) == (opened.st_dev, opened.st_ino)

    def _rotate(self) -> None:
        """`.jsonl` becomes `.jsonl.1`, `.1` becomes `.2`, ...; the oldest kept is replaced."""
        name = self._path.name
        rotated = [self._path.with_name(f"{name}.{n}") for n in range(1, 1 + self._keep_rotated)]
        if not rotated:
            self._path.unlink()
            return
        for newer, older in reversed(list(itertools.pairwise(rotated))):
            if newer.exists():
                newer.replace(older)
        self._path.replace(rotated[0])


@contextlib.contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    fd = os.open(lock_path, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


_ROTATED = re.compile(r"^(?P<current>.+\.jsonl)(\.(?P<number>[0-9]+))?$")


def span_files(directory: Path) -> list[Path]:
    """The span files in `directory`, each service's rotated ones (oldest first) before its
    current one."""

    def age(path: Path) -> tuple[str, int]:
        match = _ROTATED.match(path.name)
        assert match is not None
        return match["current"], -int(match["number"] or 0)

    return sorted(
        (path for path in directory.glob("*.jsonl*") if _ROTATED.match(path.name)), key=age
    )


def read_spans(directory: Path) -> list[dict[str, Any]]:
    """Every span in `directory`'s files, rotated ones included."""
    spans: list[dict[str, Any]] = []
    for path in span_files(directory):
        with path.open(encoding="utf-8") as lines:
            spans.extend(json.loads(line) for line in lines if line.strip())
    return spans
