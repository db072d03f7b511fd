"""A tiny path language for where a dialect puts token ids in a JSON body.

    prompt_token_ids            root key
    choices[i].token_ids        the choice whose `index` is i (list position if no `index`)
    nvext.completion_token_ids  nested keys
    sglext.output_ids[i]        element i of a list

A path resolves to the value, or MISSING when a key on the way is absent (which is not the
same as a JSON null: dialects differ on exactly that).
"""
from __future__ import annotations

import re
from typing import Any

_SEGMENT = re.compile(r"^(?P<key>[A-Za-z_][\w-]*)(?:\[(?P<idx>i|\d+)\])?$")


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Any = _Missing()


def parse(path: str) -> list[tuple[str, str | None]]:
    segments = []
    for part in path.split("."):
        m = _SEGMENT.match(part)
        if not m:
            raise ValueError(f"bad path segment {part!r} in {path!r}")
        segments.append((m["key"], m["idx"]))
    return segments


def _pick(items: list, idx: str, choice: int) -> Any:
    want = choice if idx == "i" else int(idx)
    if idx == "i" and items and all(isinstance(x, dict) and "index" in x for x in items):
        for item in items:
            if item["index"] == want:
                return item
        return MISSING
    return items[want] if 0 <= want < len(items) else MISSING


def _walk(node: Any, segments: list[tuple[str, str | None]], choice: int) -> Any:
    for key, idx in segments:
        if not isinstance(node, dict) or key not in node:
            return MISSING
        node = node[key]
        if idx is not None:
            if not isinstance(node, list):
                return MISSING
            node = _pick(node, idx, choice)
            if node is MISSING:
                return MISSING
    return node


def resolve(body: Any, path: str, choice: int = 0) -> Any:
    return _walk(body, parse(path), choice)


def assign(body: Any, path: str, value: Any, choice: int = 0) -> bool:
    """Set the value at `path` (creating the last key); False if the path's parents are absent."""
    *parents, (key, idx) = parse(path)
    node = _walk(body, parents, choice)
    if not isinstance(node, dict):
        return False
    if idx is None:
        node[key] = value
        return True
    items = node.get(key)
    want = choice if idx == "i" else int(idx)
    if isinstance(items, list) and 0 <= want < len(items):
        items[want] = value
        return True
    return False


def remove(body: Any, path: str, choice: int = 0) -> bool:
    """Delete the key at `path`; False if it was not there."""
    *parents, (key, idx) = parse(path)
    node = _walk(body, parents, choice)
    if idx is None and isinstance(node, dict) and key in node:
        del node[key]
        return True
    return False
