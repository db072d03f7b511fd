"""One schema per input file, declared once: a dataclass whose fields name the YAML/JSON key they
come from (`key("stream.mode")`). Loading checks every value's type against the field's
annotation, rejects keys the dataclass does not declare (naming the key and the file), and fills
defaults; every mistake is a UsageError (one line, exit 2).

    @dataclass
    class Profile:
        name: str = key("name")
        mode: str = key("stream.mode", "delta", choices=MODES)
"""
from __future__ import annotations

import json
import types
import typing
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, get_args, get_origin, get_type_hints

import yaml

from conformance.errors import UsageError

ABSENT = object()


def key(path: str, default: Any = MISSING, *, choices: Any = None, default_from: Callable[[dict], Any] | None = None,
        check: Callable[[Any], str | None] | None = None, doc: str = "", optional: bool = False) -> Any:
    """A field read from `path` (dots: nested mappings). `default_from` computes a default from the
    other fields' values; `check` returns a complaint about a value, or None; `optional`: absent from
    the file is None, while the dataclass still takes it positionally."""
    meta = {"key": path, "choices": choices, "default_from": default_from, "check": check, "doc": doc,
            "optional": optional}
    if isinstance(default, (dict, list, set)):
        value = default
        return field(default_factory=lambda: type(value)(value), metadata=meta)
    if default is MISSING and default_from is not None:
        default = None
    return field(default=default, metadata=meta)


def read_input_text(path: Path | str, what: str) -> str:
    """An input file's text, or a UsageError naming it: missing, unreadable, a directory, or not
    UTF-8 (a binary or compressed file given by mistake)."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise UsageError(f"{what} {path} is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset "
                         f"{exc.start}: a binary or compressed file?)") from None


_LIBYAML = getattr(yaml, "CSafeLoader", None)  # PyYAML built with libyaml: the same documents, ~8x faster


def load_yaml(text: str) -> Any:
    """yaml.safe_load, through libyaml where PyYAML has it (the shipped cases, profiles and tables
    parse to the same data either way: tests/inputs/test_yaml_loading.py). A document libyaml rejects is
    parsed again by PyYAML's own parser, so what it says about the mistake (line, problem) is the
    pure loader's, as without libyaml."""
    if _LIBYAML is None:
        return yaml.safe_load(text)
    try:
        return yaml.load(text, Loader=_LIBYAML)  # noqa: S506 (CSafeLoader: the safe constructor)
    except yaml.YAMLError:
        return yaml.safe_load(text)


def read_document(path: Path, what: str) -> Any:
    """The four loaders' read and parse, once: a file that cannot be read or does not parse is a
    UsageError naming the file."""
    text = read_input_text(path, what)
    try:
        return json.loads(text) if str(path).endswith(".json") else load_yaml(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{what} {path} is not JSON: line {exc.lineno}: {exc.msg}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark else ""
        raise UsageError(f"{what} {path} does not parse: {where}{getattr(exc, 'problem', None) or exc}") from None


def _type_name(hint: Any) -> str:
    origin = get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in get_args(hint))
    if hint is type(None):
        return "null"
    if origin in (list, tuple, frozenset, set):
        return "a list"
    if origin is dict or hint is dict:
        return "a mapping"
    return {str: "a string", bool: "true/false", int: "an integer", float: "a number"}.get(hint, str(hint))


def coerce(value: Any, hint: Any, where: str) -> Any:
    """`value` as the annotated type (lists become tuples/frozensets), or UsageError."""
    origin, args = get_origin(hint), get_args(hint)
    if hint is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        for arg in args:
            try:
                return coerce(value, arg, where)
            except UsageError:
                continue
        raise UsageError(f"{where} must be {_type_name(hint)}, got {json.dumps(value, default=str)[:60]}")
    if hint is type(None):
        if value is None:
            return None
    elif origin in (list, tuple, frozenset, set):
        if isinstance(value, list):
            item = args[0] if args else Any
            items = [coerce(v, item, f"{where}[{n}]") for n, v in enumerate(value)]
            return {list: list, tuple: tuple, frozenset: frozenset, set: set}[origin](items)
    elif origin is dict or hint is dict:
        if isinstance(value, dict):
            kt, vt = args if args else (Any, Any)
            return {coerce(k, kt, f"{where} key"): coerce(v, vt, f"{where}.{k}") for k, v in value.items()}
    elif hint is bool:
        if isinstance(value, bool):
            return value
    elif hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif hint is str:
        if isinstance(value, str):
            return value
    raise UsageError(f"{where} must be {_type_name(hint)}, got {json.dumps(value, default=str)[:60]}")


def _get(raw: dict, path: str) -> Any:
    node: Any = raw
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return ABSENT
        node = node[part]
    return node


def _unknown_keys(raw: dict, known: set[str], prefix: str = "") -> list[str]:
    out = []
    for k, v in raw.items():
        path = f"{prefix}{k}"
        if path in known:
            continue  # a leaf: its content is the field's (a free-form mapping, say)
        if any(p.startswith(path + ".") for p in known) and isinstance(v, dict):
            out += _unknown_keys(v, known, path + ".")
        else:
            out.append(path)
    return out


def keys_of(cls) -> dict[str, Any]:
    return {f.metadata["key"]: f for f in fields(cls) if "key" in f.metadata}


def build(cls, data: Any, where: str, extra_keys: set[str] = frozenset(), **context: Any):
    """An instance of `cls` from a mapping; `where` names it in errors ("dialect profile x.yaml")."""
    raw = data
    if not isinstance(raw, dict):
        raise UsageError(f"{where}: expected a mapping, got {_type_name(type(raw))}")
    known = keys_of(cls)
    unknown = [k for k in _unknown_keys(raw, set(known) | set(extra_keys)) if k not in extra_keys]
    if unknown:
        import difflib

        bad = unknown[0]
        near = difflib.get_close_matches(bad, list(known), n=1)
        parent = bad.rpartition(".")[0]
        siblings = sorted(k for k in known if k.rpartition(".")[0] == parent)
        raise UsageError(f"{where}: unknown key {bad!r}" + (f" (did you mean {near[0]!r}?)" if near else "")
                         + (f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else "")
                         + f"; known{' under ' + parent if parent else ''}: {', '.join(siblings)}")
    hints = get_type_hints(cls)
    values: dict[str, Any] = {}
    later = []
    for name, f in ((f.name, f) for f in known.values()):
        meta = f.metadata
        value = _get(raw, meta["key"])
        if value is ABSENT:
            if meta["default_from"] is not None:
                later.append(f)
            elif meta["optional"]:
                values[name] = None
            elif f.default is MISSING and f.default_factory is MISSING:
                raise UsageError(f"{where}: missing key {meta['key']!r}")
            continue
        if value is None and f.default_factory is not MISSING:
            continue  # `key: null` for a mapping or list: empty, as if left out
        value = coerce(value, hints[name], f"{where}: {meta['key']}")
        if meta["choices"] is not None and value not in meta["choices"]:
            raise UsageError(f"{where}: {meta['key']} {value!r} is not one of {', '.join(map(str, sorted(meta['choices'], key=str)))}")
        if meta["check"] is not None and value is not None:  # null passed the type: a `X | None` field
            complaint = meta["check"](value)
            if complaint:
                raise UsageError(f"{where}: {meta['key']}: {complaint}")
        values[name] = value
    for f in later:
        values[f.name] = f.metadata["default_from"](values)
    return cls(**values, **context)
