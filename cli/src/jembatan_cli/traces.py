"""Show a candidate journey's traces as span trees, from the JSON-lines files the services write."""

from __future__ import annotations

import contextlib
import json
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from jembatan_kit.trace_files import span_files

_TRACE_ID_PREFIX = '{"trace_id":"'


def journey_spans(directory: Path, journey_id: str) -> list[dict[str, Any]]:
    """The spans of every trace in which some span names this journey, from every span file in
    `directory`, rotated ones included.

    Two passes over the lines, parsing only those that can matter (a line that mentions the
    journey id, then a line of one of its traces): a service keeps up to 256 MB of spans, and
    parsing every line of every service would take minutes and gigabytes.
    """
    files = span_files(directory)
    trace_ids = set()
    for line in _lines(files):
        if journey_id in line:
            span = json.loads(line)
            if span["attributes"].get("jembatan.journey_id") == journey_id:
                trace_ids.add(span["trace_id"])
    if not trace_ids:
        return []
    spans = []
    for line in _lines(files):
        # The writer puts the trace id first (`trace_files.span_record`).
        if line.startswith(_TRACE_ID_PREFIX):
            start = len(_TRACE_ID_PREFIX)
            if line[start : start + 32] not in trace_ids:
                continue
        if line.strip() and (span := json.loads(line))["trace_id"] in trace_ids:
            spans.append(span)
    return spans


def _lines(files: list[Path]) -> Iterator[str]:
    for path in files:
        # The oldest file may be deleted by a rotation meanwhile.
        with contextlib.suppress(FileNotFoundError), path.open(encoding="utf-8") as lines:
            yield from lines


def traces_of_journey(
    spans: list[dict[str, Any]], journey_id: str
) -> dict[str, list[dict[str, Any]]]:
    """Every trace in which some span names this journey, with all of that trace's spans."""
    trace_ids = {
        span["trace_id"]
        for span in spans
        if span["attributes"].get("jembatan.journey_id") == journey_id
    }
    by_trace: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for span in spans:
        if span["trace_id"] in trace_ids:
            by_trace[span["trace_id"]].append(span)
    return dict(sorted(by_trace.items(), key=lambda item: min(s["start_ns"] for s in item[1])))


def render_tree(spans: list[dict[str, Any]]) -> list[str]:
    """Lines of an indented span tree: offset from the trace start, duration, name, service."""
    ids = {span["span_id"] for span in spans}
    children: dict[str | None, list[dict[str, Any]]] = defaultdict(list)
    for span in spans:
        parent = span["parent_span_id"] if span["parent_span_id"] in ids else None
        children[parent].append(span)
    for siblings in children.values():
        siblings.sort(key=lambda span: span["start_ns"])
    start = min(span["start_ns"] for span in spans)
    lines: list[str] = []

    def walk(span: dict[str, Any], depth: int) -> None:
        offset_ms = (span["start_ns"] - start) / 1e6
        duration_ms = (span["end_ns"] - span["start_ns"]) / 1e6
        status = "" if span["status"] != "ERROR" else "  [error]"
        lines.append(
            f"{offset_ms:>9.1f} ms {duration_ms:>8.1f} ms  {'  ' * depth}{span['name']}"
            f"  ({span['service']}){status}"
        )
        for child in children[span["span_id"]]:
            walk(child, depth + 1)

    for root in children[None]:
        walk(root, 0)
    return lines
