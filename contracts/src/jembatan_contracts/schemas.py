"""JSON Schemas of the catalogue, committed under contracts/schemas/, and the compatibility rule.

`python -m jembatan_contracts.schemas` rewrites the committed files after a compatible change.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from .envelope import Event
from .events import CATALOGUE

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schemas"


def schema_file_name(event: type[Event]) -> str:
    return f"{event.name}.v{event.major()}.json"


def current_schema(event: type[Event]) -> dict[str, Any]:
    schema = event.model_json_schema(mode="serialization")
    schema["$comment"] = f"{event.name} {event.version} on {event.subject_any_agency()}"
    return schema


def _types(node: dict[str, Any], defs: dict[str, Any]) -> set[str]:
    """The JSON types (and enum values) a property admits, following $ref and anyOf."""
    if "$ref" in node:
        return _types(defs[node["$ref"].split("/")[-1]], defs)
    if "anyOf" in node:
        return set().union(*(_types(option, defs) for option in node["anyOf"]))
    if "enum" in node:
        return {f"enum:{value}" for value in node["enum"]}
    if "const" in node:
        return {f"enum:{node['const']}"}
    kind = node.get("type", "any")
    fmt = node.get("format")
    return {f"{kind}:{fmt}" if fmt else str(kind)}


def breaking_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What in `new` would break a consumer written against `old` (same major version)."""
    problems: list[str] = []
    old_props, new_props = old.get("properties", {}), new.get("properties", {})
    old_defs, new_defs = old.get("$defs", {}), new.get("$defs", {})
    for name, old_node in old_props.items():
        if name not in new_props:
            problems.append(f"field {name!r} was removed or renamed")
            continue
        lost = _types(old_node, old_defs) - _types(new_props[name], new_defs)
        if lost:
            problems.append(f"field {name!r} no longer admits {sorted(lost)}")
    newly_required = set(new.get("required", [])) - set(old.get("required", []))
    for name in sorted(newly_required):
        problems.append(f"field {name!r} became required")
    return problems


def write_all(directory: Path = SCHEMA_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for event in CATALOGUE:
        path = directory / schema_file_name(event)
        path.write_text(json.dumps(current_schema(event), indent=2, sort_keys=True) + "\n")
        written.append(path)
    return written


if __name__ == "__main__":
    for written_path in write_all():
        print(written_path, file=sys.stdout)
