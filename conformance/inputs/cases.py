"""Cases as data: load and validate a cases file (YAML or JSON)."""
from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from conformance.errors import UsageError
from conformance.inputs.schema import build, key, read_document

KNOWN_TAGS = {"tool_call", "tools_parity", "stop_string", "length", "multi_turn", "n_choices"}


def _messages(value: list) -> str | None:
    if not all("role" in m for m in value):
        return "every message needs a role ({role, content} objects)"
    return None


def _tags(value: frozenset) -> str | None:
    unknown = value - KNOWN_TAGS
    return f"unknown tags {sorted(unknown)} (known: {sorted(KNOWN_TAGS)})" if unknown else None


@dataclass(frozen=True)
class Case:
    """One case as the checks see it; each field names its key in a cases file (the schema)."""

    id: str = key("id")
    messages: list[dict[str, Any]] = key("messages", check=lambda v: "must not be empty" if not v else _messages(v))
    tools: list[Any] | None = key("tools", None)  # names of tools/<name>.json beside the cases folder, or tool objects
    params: dict[str, Any] = key("params", {})
    tags: frozenset[str] = key("tags", frozenset(), check=_tags)
    exercises: tuple[str, ...] = key("exercises", ())
    reply: str | None = key("reply", None)
    reply_without_tools: str | None = key("reply_without_tools", None)
    followup: tuple[dict[str, Any], ...] = key("followup", (), check=_messages)  # messages after the reply, for the next turn

    def has(self, tag: str) -> bool:
        return tag in self.tags

    @property
    def is_greedy(self) -> bool:
        """Temperature 0 and one choice: the same request must give the same ids."""
        return self.params.get("temperature") == 0 and self.params.get("n", 1) == 1


@dataclass
class CasesFile:
    cases: list[Any] = key("cases")
    default_params: dict[str, Any] = key("defaults.params", {})


def _resolve_tool(tool: Any, tools_dir: Path, where: str) -> dict[str, Any]:
    if isinstance(tool, dict):
        return tool
    if isinstance(tool, str):
        path = tools_dir / f"{tool}.json"
        if not path.exists():
            raise UsageError(f"{where}: tool {tool!r} not found (looked for {path})")
        return json.loads(path.read_text(encoding="utf-8"))
    raise UsageError(f"{where}: a tool is a name or an OpenAI tool object, got {tool!r}")


def load_cases(path: str | Path) -> list[Case]:
    path = Path(path)
    doc = build(CasesFile, read_document(path, "cases file"), f"cases file {path}")
    tools_dir = path.parent.parent / "tools"
    cases, seen = [], set()
    for n, raw in enumerate(doc.cases):
        where = f"cases file {path}: case #{n + 1}"
        if isinstance(raw, dict) and isinstance(raw.get("id"), (str, int)) and not isinstance(raw.get("id"), bool):
            raw = {**raw, "id": str(raw["id"])}
            where = f"cases file {path}: case {raw['id']!r}"
        case = build(Case, raw, where)
        if case.id in seen:
            raise UsageError(f"{where}: duplicate id")
        seen.add(case.id)
        tools = [_resolve_tool(t, tools_dir, where) for t in case.tools or []] or None
        cases.append(replace(case, tools=tools, params={**doc.default_params, **case.params}))
    if not cases:
        raise UsageError(f"cases file {path} holds no cases")
    return cases
