"""A tiny path language for where a dialect puts token ids in a JSON body.

    prompt_token_ids            root key
    choices[i].token_ids        the choice whose `index` is i (list position if no `index`)
    nvext.completion_token_ids  nested keys
    sglext.output_ids[i]        element i of a list
    meta_info.output_token_logprobs[*][1]
                                a column: element 1 of every entry (SGLang's [logprob, id, text])
    $request.input_ids          a field of the request that was sent (ids the dialect never
                                echoes because the client sent them: token-in)
    choices[i].$side.prompt_token_ids
                                the record a side channel stored for the call (a gateway's
                                trace), attached to choice 0 by conformance.wire.exchange: no
                                engine sends a `$side` key

A path resolves to the value, or MISSING when a key on the way is absent (which is not the
same as a JSON null: dialects differ on exactly that).
"""
from __future__ import annotations

import copy
import re
from typing import Any

REQUEST_PREFIX = "$request."
SIDE_KEY = "$side"  # where an exchange's view holds its side-channel record (never a wire key)
_SEGMENT = re.compile(r"^(?P<key>\$side|[A-Za-z_][\w-]*)(?P<idx>(?:\[(?:i|\d+|\*)\])*)$")
_INDEX = re.compile(r"\[(i|\d+|\*)\]")


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Any = _Missing()

Step = tuple[str, str]  # ("key", name) or ("idx", "i" | digits | "*")


def is_request_path(path: str | None) -> bool:
    return bool(path) and path.startswith(REQUEST_PREFIX)


def parse(path: str) -> list[Step]:
    if path.startswith(REQUEST_PREFIX):
        path = path[len(REQUEST_PREFIX):]
    steps: list[Step] = []
    for part in path.split("."):
        m = _SEGMENT.match(part)
        if not m:
            raise ValueError(f"bad path segment {part!r} in {path!r}")
        steps.append(("key", m["key"]))
        steps += [("idx", i) for i in _INDEX.findall(m["idx"])]
    if sum(1 for kind, v in steps if kind == "idx" and v == "*") > 1:
        raise ValueError(f"at most one [*] column in {path!r}")
    return steps


def _pick(items: list, idx: str, choice: int) -> Any:
    want = choice if idx == "i" else int(idx)
    if idx == "i" and items and all(isinstance(x, dict) and "index" in x for x in items):
        for item in items:
            if item["index"] == want:
                return item
        return MISSING
    return items[want] if 0 <= want < len(items) else MISSING


def _walk(node: Any, steps: list[Step], choice: int) -> Any:
    for pos, (kind, value) in enumerate(steps):
        if kind == "key":
            if not isinstance(node, dict) or value not in node:
                return MISSING
            node = node[value]
            continue
        if not isinstance(node, list):
            return MISSING
        if value == "*":
            return [_walk(item, steps[pos + 1:], choice) for item in node]
        node = _pick(node, value, choice)
        if node is MISSING:
            return MISSING
    return node


def resolve(body: Any, path: str, choice: int = 0, request: Any = None) -> Any:
    """The value at `path`; a `$request.` path reads `request` (MISSING without one)."""
    if is_request_path(path):
        body = request if request is not None else MISSING
    return _walk(body, parse(path), choice)


def _split_at_column(steps: list[Step]) -> tuple[list[Step], list[Step]] | None:
    for pos, step in enumerate(steps):
        if step == ("idx", "*"):
            return steps[:pos], steps[pos + 1:]
    return None


def _assign_steps(body: Any, steps: list[Step], value: Any, choice: int) -> bool:
    *parents, (kind, last) = steps
    node = _walk(body, parents, choice)
    if kind == "key":
        if not isinstance(node, dict):
            return False
        node[last] = value
        return True
    if not isinstance(node, list):
        return False
    want = choice if last == "i" else int(last)
    if 0 <= want < len(node):
        node[want] = value
        return True
    return False


def assign(body: Any, path: str, value: Any, choice: int = 0) -> bool:
    """Set the value at `path` (creating the last key); False if the path's parents are absent.

    For a column path (`entries[*][1]`) `value` is the new column: the entries are rebuilt one
    per value, each a copy of the entry at the same position (or of the last one) with the
    column set, so a fault can drop, add or change ids in a logprob list.
    """
    if is_request_path(path):
        return False
    steps = parse(path)
    split = _split_at_column(steps)
    if split is None:
        return _assign_steps(body, steps, value, choice)
    head, tail = split
    entries = _walk(body, head, choice)
    if not isinstance(entries, list) or not entries or not isinstance(value, list):
        return False
    rebuilt = []
    for pos, item in enumerate(value):
        entry = copy.deepcopy(entries[min(pos, len(entries) - 1)])
        if tail:
            if not _assign_steps(entry, tail, item, choice):
                return False
        else:
            entry = item
        rebuilt.append(entry)
    entries[:] = rebuilt
    return True


def remove(body: Any, path: str, choice: int = 0) -> bool:
    """Delete the key at `path`; False if it was not there."""
    if is_request_path(path):
        return False
    *parents, (kind, key) = parse(path)
    node = _walk(body, parents, choice)
    if kind == "key" and isinstance(node, dict) and key in node:
        del node[key]
        return True
    return False
