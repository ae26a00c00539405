"""Show a candidate journey's traces as span trees, from the JSON-lines files the services write."""

from __future__ import annotations

from collections import defaultdict
from typing import Any


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
