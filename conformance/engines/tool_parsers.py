"""The tool-call parser an engine is launched with: by model family, from tool_parsers.yaml (data).

    tool_parser_args("sglang", "fixtures/tiny-chat", user_args)  ->  ["--tool-call-parser", "qwen"]

The family is read from the model directory's config.json (`model_type`, else `architectures`);
a model given by name only, or a family not in the file, gets the file's `default`. When the
user's own engine arguments already set the flag, nothing is added: theirs is the only one.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import yaml

from conformance.errors import UsageError

DATA = Path(__file__).with_name("tool_parsers.yaml")
ENGINES = ("vllm", "sglang", "dynamo")
FLAGS = {"vllm": "--tool-call-parser", "sglang": "--tool-call-parser", "dynamo": "--dyn-tool-call-parser"}
FAMILY_KEYS = {"name", "model_types", "architectures", "parsers"}


def _parsers(where: str, value) -> dict[str, str]:
    if not isinstance(value, dict) or set(value) != set(ENGINES) or not all(isinstance(v, str) and v for v in value.values()):
        raise UsageError(f"{DATA}: {where} must name a parser for exactly {', '.join(ENGINES)}")
    return dict(value)


@lru_cache(maxsize=None)
def load_table(path: Path = DATA) -> tuple[dict[str, str], tuple[dict, ...]]:
    """(default parsers, families), validated: unknown keys are rejected."""
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(doc, dict) or set(doc) != {"default", "families"}:
        raise UsageError(f"{path}: expected exactly the keys default, families")
    families = []
    for i, fam in enumerate(doc["families"] or []):
        if not isinstance(fam, dict) or set(fam) - FAMILY_KEYS or "name" not in fam or "parsers" not in fam:
            raise UsageError(f"{path}: families[{i}] takes the keys {', '.join(sorted(FAMILY_KEYS))} (name, parsers required)")
        families.append({"name": fam["name"], "model_types": tuple(fam.get("model_types") or ()),
                         "architectures": tuple(fam.get("architectures") or ()),
                         "parsers": _parsers(f"families[{i}].parsers", fam["parsers"])})
    return _parsers("default", doc["default"]), tuple(families)


def model_family(model: str | Path) -> tuple[str | None, list[str]]:
    """(model_type, architectures) from the model directory's config.json; (None, []) if unreadable."""
    try:
        config = json.loads((Path(model) / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None, []
    if not isinstance(config, dict):
        return None, []
    archs = config.get("architectures")
    return config.get("model_type"), [a for a in archs if isinstance(a, str)] if isinstance(archs, list) else []


def tool_parser(engine: str, model: str | Path) -> str:
    """The parser name `engine` should use for `model`."""
    default, families = load_table()
    model_type, archs = model_family(model)
    for fam in families:
        if model_type in fam["model_types"] if model_type else set(archs) & set(fam["architectures"]):
            return fam["parsers"][engine]
    return default[engine]


def user_sets(flag: str, extra_args: list[str]) -> bool:
    return any(arg == flag or arg.startswith(flag + "=") for arg in extra_args)


def tool_parser_args(engine: str, model: str | Path, extra_args: list[str]) -> list[str]:
    """The engine's tool-parser flag and value, or nothing when the user's own arguments set it."""
    flag = FLAGS[engine]
    return [] if user_sets(flag, extra_args) else [flag, tool_parser(engine, model)]
