"""The tool-call markup families of tool_markup.yaml (data), loaded and validated, and the family
a model belongs to: by its chat template's markers, else by its config.json.

    family_of_template(template_text)          -> the Family whose markers the template holds, or None
    family_of_config("llama", [...])            -> the Family listing that model_type / architecture
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from conformance.errors import UsageError
from conformance.inputs.schema import load_yaml

DATA = Path(__file__).with_name("tool_markup.yaml")
# the engines with a tool-parser flag (engines/ sits above and cannot be read from here; equal to the
# registry's by tests/engines/test_registry.py)
ENGINES = ("vllm", "sglang", "dynamo")
FAMILY_KEYS = {"name", "template_markers", "model_types", "architectures", "parsers", "call_marker", "envelope", "forms"}
FORM_KEYS = {"pattern", "args", "param"}
ARGS_READINGS = ("json", "parameters")
# what a form's pattern may capture: a whole call object, a list of them, or a name and its arguments
CALL_GROUPS = ({"call"}, {"list"}, {"name", "args"})


@dataclass(frozen=True)
class Form:
    pattern: re.Pattern
    args: str = "json"  # how the `args` group reads: JSON, or key/value pairs found by `param`
    param: re.Pattern | None = None


@dataclass(frozen=True)
class Family:
    name: str
    template_markers: tuple[str, ...]
    model_types: tuple[str, ...]
    architectures: tuple[str, ...]
    parsers: dict
    call_marker: str | None  # opens a call in the decoded text
    envelope: tuple[str, ...]  # section markers around the calls: markup, not content
    forms: tuple[Form, ...]  # empty: tokconf has no grammar for this family's markup


@dataclass(frozen=True)
class Table:
    default_parsers: dict
    families: tuple[Family, ...]


def _parsers(path: Path, where: str, value) -> dict[str, str]:
    if not isinstance(value, dict) or set(value) != set(ENGINES) or not all(isinstance(v, str) and v for v in value.values()):
        raise UsageError(f"{path}: {where} must name a parser for exactly {', '.join(ENGINES)}")
    return dict(value)


def _strings(path: Path, where: str, value) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise UsageError(f"{path}: {where} must be a list of strings")
    return tuple(value)


def _regex(path: Path, where: str, value) -> re.Pattern:
    try:
        return re.compile(value, re.S)
    except (re.error, TypeError) as exc:
        raise UsageError(f"{path}: {where} is not a regular expression: {exc}") from exc


def _form(path: Path, where: str, raw) -> Form:
    if not isinstance(raw, dict) or set(raw) - FORM_KEYS or "pattern" not in raw:
        raise UsageError(f"{path}: {where} takes the keys {', '.join(sorted(FORM_KEYS))} (pattern required)")
    pattern = _regex(path, f"{where}.pattern", raw["pattern"])
    if set(pattern.groupindex) not in CALL_GROUPS:
        raise UsageError(f"{path}: {where}.pattern must capture (?P<call>), (?P<list>) or (?P<name>) and (?P<args>)")
    args = raw.get("args", "json")
    if args not in ARGS_READINGS or (args == "parameters") != ("param" in raw):
        raise UsageError(f"{path}: {where}.args is one of {', '.join(ARGS_READINGS)}; `param` goes with parameters")
    param = _regex(path, f"{where}.param", raw["param"]) if "param" in raw else None
    if param is not None and set(param.groupindex) != {"key", "value"}:
        raise UsageError(f"{path}: {where}.param must capture (?P<key>) and (?P<value>)")
    return Form(pattern, args, param)


def _family(path: Path, i: int, raw) -> Family:
    where = f"families[{i}]"
    if not isinstance(raw, dict) or set(raw) - FAMILY_KEYS or not {"name", "parsers"} <= set(raw):
        raise UsageError(f"{path}: {where} takes the keys {', '.join(sorted(FAMILY_KEYS))} (name, parsers required)")
    forms = raw.get("forms") or []
    if not isinstance(forms, list):
        raise UsageError(f"{path}: {where}.forms must be a list")
    if forms and not raw.get("call_marker"):
        raise UsageError(f"{path}: {where} has forms and no call_marker")
    return Family(str(raw["name"]), _strings(path, f"{where}.template_markers", raw.get("template_markers")),
                  _strings(path, f"{where}.model_types", raw.get("model_types")),
                  _strings(path, f"{where}.architectures", raw.get("architectures")),
                  _parsers(path, f"{where}.parsers", raw["parsers"]), raw.get("call_marker"),
                  _strings(path, f"{where}.envelope", raw.get("envelope")),
                  tuple(_form(path, f"{where}.forms[{j}]", f) for j, f in enumerate(forms)))


@lru_cache(maxsize=None)
def load(path: Path = DATA) -> Table:
    """The table, validated: unknown keys, bad regexes and missing parsers are errors."""
    doc = load_yaml(path.read_text(encoding="utf-8"))
    if not isinstance(doc, dict) or set(doc) != {"default_parsers", "families"}:
        raise UsageError(f"{path}: expected exactly the keys default_parsers, families")
    families = tuple(_family(path, i, raw) for i, raw in enumerate(doc["families"] or []))
    return Table(_parsers(path, "default_parsers", doc["default_parsers"]), families)


def family_named(name: str, path: Path = DATA) -> Family:
    return next(f for f in load(path).families if f.name == name)


def family_of_template(template: str | None, path: Path = DATA) -> Family | None:
    """The first family (file order) whose template markers all appear in the chat template."""
    if not template:
        return None
    return next((f for f in load(path).families if f.template_markers and all(m in template for m in f.template_markers)),
                None)


def family_of_config(model_type: str | None, architectures: list[str], path: Path = DATA) -> Family | None:
    """The family listing the model_type (or, without one, one of the architectures)."""
    for fam in load(path).families:
        if model_type in fam.model_types if model_type else set(architectures) & set(fam.architectures):
            return fam
    return None
