"""Key paths of JSON bodies: the shape a vanilla client sees, comparable with a recorded baseline.

    {"choices": [{"message": {"content": "hi"}}], "usage": null}
    -> {"choices", "choices[]", "choices[].message", "choices[].message.content", "usage"}

Lists collapse to `[]` (every element contributes), so the set is the union of shapes and
does not depend on how many choices or tool calls a reply has.
"""
from __future__ import annotations

from typing import Any, Iterable


def key_paths(value: Any, prefix: str = "") -> set[str]:
    out: set[str] = set()
    if isinstance(value, dict):
        for key, child in value.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            out.add(path)
            out |= key_paths(child, path)
    elif isinstance(value, list):
        for child in value:
            out.add(f"{prefix}[]")
            out |= key_paths(child, f"{prefix}[]")
    return out


def union_key_paths(bodies: Iterable[Any]) -> set[str]:
    out: set[str] = set()
    for body in bodies:
        out |= key_paths(body)
    return out


def diff(actual: set[str], baseline: set[str]) -> tuple[list[str], list[str]]:
    """(paths added relative to the baseline, paths missing from it), sorted."""
    return sorted(actual - baseline), sorted(baseline - actual)
