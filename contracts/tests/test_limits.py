"""Every event is bounded field by field, and as a whole by `MAX_EVENT_BYTES`."""

from __future__ import annotations

import uuid

import pytest
from pydantic import ValidationError

from jembatan_contracts import (
    CATALOGUE,
    MAX_EVENT_BYTES,
    CandidateRegistered,
    Event,
    EventTooLarge,
    check_event_size,
)
from jembatan_contracts.schemas import current_schema


def _unbounded(node: dict, defs: dict, path: str) -> list[str]:
    """Paths of strings without maxLength and arrays without maxItems (or unbounded items)."""
    if "$ref" in node:
        return _unbounded(defs[node["$ref"].split("/")[-1]], defs, path)
    if "anyOf" in node:
        return [p for option in node["anyOf"] for p in _unbounded(option, defs, path)]
    kind = node.get("type")
    if kind == "string" and "enum" not in node and "format" not in node and "pattern" not in node:
        return [] if "maxLength" in node else [path]
    if kind == "array":
        missing = [] if "maxItems" in node else [path]
        return missing + _unbounded(node.get("items", {}), defs, f"{path}[]")
    return []


@pytest.mark.parametrize("event", CATALOGUE, ids=lambda e: e.name)
def test_every_text_and_list_field_has_a_limit(event: type[Event]) -> None:
    schema = current_schema(event)
    defs = schema.get("$defs", {})
    unbounded = [
        path for name, node in schema["properties"].items() for path in _unbounded(node, defs, name)
    ]
    assert unbounded == []


@pytest.mark.parametrize("event", CATALOGUE, ids=lambda e: e.name)
def test_an_event_with_every_field_at_its_limit_fits_in_max_event_bytes(
    event: type[Event],
) -> None:
    schema = current_schema(event)
    # Every list full, every string at its longest and as costly as JSON makes a character
    # (six bytes: an escaped control character); numbers, ids and dates at their longest.
    worst = sum(
        (len(name) + 4) + _longest(node) * node.get("maxItems", 1)
        for name, node in _leaves(schema["properties"], schema.get("$defs", {}))
    )
    assert worst < MAX_EVENT_BYTES


def _longest(node: dict) -> int:
    if node.get("type") == "string" and "maxLength" in node:
        return 6 * node["maxLength"] + 3
    return 40  # a number, a uuid, a date or time, an enum value, with its separator


def _leaves(properties: dict, defs: dict) -> list[tuple[str, dict]]:
    leaves = []
    for name, node in properties.items():
        options = node.get("anyOf", [node])
        for option in options:
            if "$ref" in option:
                option = defs[option["$ref"].split("/")[-1]]
            if option.get("type") == "array":
                leaves.append((name, {**option.get("items", {}), "maxItems": option["maxItems"]}))
            elif option.get("type") is not None or "enum" in option:
                leaves.append((name, option))
    return leaves


def test_a_sector_longer_than_a_code_is_refused_naming_the_field() -> None:
    with pytest.raises(ValidationError, match="preferred_sector"):
        CandidateRegistered(
            agency="kaltim",
            journey_id=uuid.uuid4(),
            candidate_id=uuid.uuid4(),
            track="TITP",
            preferred_sector="x" * 900_000,
            education="SMA",
            province_code="64",
            registered_on="2026-03-01",
        )


def test_a_serialised_event_above_the_limit_is_refused_with_the_rule() -> None:
    check_event_size("CandidateRegistered", "x" * MAX_EVENT_BYTES)
    with pytest.raises(EventTooLarge, match=r"at most 65536 bytes \(MAX_EVENT_BYTES\)"):
        check_event_size("CandidateRegistered", "é" * (MAX_EVENT_BYTES // 2 + 1))
