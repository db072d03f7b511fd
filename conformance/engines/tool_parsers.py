"""The tool-call parser an engine is launched with, by the model's tool-call markup family
(conformance/inputs/tool_markup.yaml: one table for the markup tokconf reads and the parsers).

    tool_parser_args("sglang", "fixtures/tiny-chat", user_args)  ->  ["--tool-call-parser", "qwen"]

The family is what the served model directory's chat template writes (its markers: a Llama
architecture with a DeepSeek template, an R1 distill, gets DeepSeek's parsers), else what its
config.json names (`model_type`, else `architectures`); a model given by name only, or matching
no family, gets the table's `default_parsers`. When the user's own engine arguments already set
the flag, nothing is added: theirs is the only one. The flag is the engine's `tool_parser_flag`.
"""
from __future__ import annotations

import json
from pathlib import Path

from conformance.engines.registry import engine_kind
from conformance.errors import UsageError
from conformance.inputs.chat_template_files import chat_template_in
from conformance.inputs.tool_markup import DATA, Family, family_of_config, family_of_template, load

def load_table(path: Path = DATA) -> tuple[dict[str, str], tuple[dict, ...]]:
    """(default parsers, families as {name, model_types, architectures, parsers}), validated."""
    table = load(path)
    return dict(table.default_parsers), tuple(
        {"name": f.name, "model_types": f.model_types, "architectures": f.architectures, "parsers": dict(f.parsers)}
        for f in table.families)


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


def markup_family(model: str | Path) -> Family | None:
    """The model's family: its chat template's markers first (the template decides what the model
    writes), then its config.json."""
    return family_of_template(chat_template_in(model)) or family_of_config(*model_family(model))


def tool_parser(engine: str, model: str | Path) -> str:
    """The parser name `engine` should use for `model`."""
    family = markup_family(model)
    parsers = family.parsers if family else load().default_parsers
    if engine not in parsers:  # an engine with a tool_parser_flag the table does not know yet
        raise UsageError(f"engine {engine} has a tool_parser_flag, and {DATA.name} names no parser for it")
    return parsers[engine]


def user_sets(flag: str, extra_args: list[str]) -> bool:
    return any(arg == flag or arg.startswith(flag + "=") for arg in extra_args)


def tool_parser_args(engine: str, model: str | Path, extra_args: list[str]) -> list[str]:
    """The engine's tool-parser flag (its `tool_parser_flag`) and value, or nothing when the user's own
    arguments set it or the engine has no such flag."""
    flag = engine_kind(engine).tool_parser_flag
    return [] if flag is None or user_sets(flag, extra_args) else [flag, tool_parser(engine, model)]
