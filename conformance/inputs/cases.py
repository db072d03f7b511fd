"""Cases as data: load and validate a cases file (YAML or JSON)."""
from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from conformance.errors import UsageError
from conformance.inputs.schema import build, key, read_document

KNOWN_TAGS = {"tool_call", "tools_parity", "stop_string", "length", "multi_turn", "n_choices"}


ROLES = ("system", "developer", "user", "assistant", "tool")


def _messages(value: list) -> str | None:
    if not all(isinstance(m, dict) and "role" in m for m in value):
        return "every message needs a role ({role, content} objects)"
    unknown = sorted({str(m["role"]) for m in value} - set(ROLES))
    if unknown:
        return f"unknown role {', '.join(map(repr, unknown))} (roles: {', '.join(ROLES)})"
    return None


def _number(low: float | None = None, high: float | None = None, whole: bool = False, above: bool = False):
    kind = "an integer" if whole else "a number"

    def check(value: Any) -> str | None:
        ok = isinstance(value, int if whole else (int, float)) and not isinstance(value, bool)
        if not ok or (low is not None and (value <= low if above else value < low)) or (high is not None and value > high):
            bound = (f" above {low:g}" if above else f" from {low:g}") if low is not None else ""
            top = (" up to" if above else " to") + f" {high:g}" if high is not None else ""
            return f"must be {kind}{bound}{top}, got {value!r}"
        return None
    return check


def _stop(value: Any) -> str | None:
    if isinstance(value, str) or (isinstance(value, list) and all(isinstance(s, str) for s in value)):
        return None
    return f"must be a string or a list of strings, got {value!r}"


def _bool(value: Any) -> str | None:
    return None if isinstance(value, bool) else f"must be true or false, got {value!r}"


# The sampling params every OpenAI-compatible engine reads, checked at load: a wrong one would be
# sent as is, and every check would ERROR with the engine's HTTP 400, the engine blamed. Params
# not listed here (an engine's own: top_k, min_tokens...) go to the engine unchecked.
PARAMS = {"temperature": _number(0, 2), "top_p": _number(0, 1, above=True), "max_tokens": _number(1, whole=True),
          "max_completion_tokens": _number(1, whole=True), "n": _number(1, whole=True), "seed": _number(whole=True),
          "presence_penalty": _number(-2, 2), "frequency_penalty": _number(-2, 2), "stop": _stop,
          "logprobs": _bool, "top_logprobs": _number(0, 20, whole=True)}


def check_params(params: dict[str, Any], where: str) -> None:
    for name, check in PARAMS.items():
        if name in params and (why := check(params[name])):
            raise UsageError(f"{where}: params.{name} {why}")


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
        params = {**doc.default_params, **case.params}
        check_params(params, where)
        cases.append(replace(case, tools=tools, params=params))
    if not cases:
        raise UsageError(f"cases file {path} holds no cases")
    return cases
