"""Cases as data: load and validate a cases file (YAML or JSON)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from conformance.errors import UsageError

KNOWN_TAGS = {"tool_call", "tools_parity", "stop_string", "length", "multi_turn", "n_choices"}


@dataclass(frozen=True)
class Case:
    id: str
    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]] | None = None
    params: dict[str, Any] = field(default_factory=dict)
    tags: frozenset[str] = frozenset()
    exercises: tuple[str, ...] = ()
    reply: str | None = None
    reply_without_tools: str | None = None
    followup: tuple[dict[str, Any], ...] = ()  # messages sent after the reply, for the next turn

    def has(self, tag: str) -> bool:
        return tag in self.tags

    @property
    def is_greedy(self) -> bool:
        """Temperature 0 and one choice: the same request must give the same ids."""
        return self.params.get("temperature") == 0 and self.params.get("n", 1) == 1


def _load_document(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read cases file {path}: {exc.strerror}") from exc
    try:
        return json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise UsageError(f"cases file {path} does not parse: {exc}") from exc


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
    doc = _load_document(path)
    if not isinstance(doc, dict) or not isinstance(doc.get("cases"), list):
        raise UsageError(f"cases file {path}: expected a mapping with a 'cases' list")
    defaults = doc.get("defaults") or {}
    tools_dir = path.parent.parent / "tools"
    cases, seen = [], set()
    for n, raw in enumerate(doc["cases"]):
        where = f"{path}: case #{n + 1}"
        if not isinstance(raw, dict) or not raw.get("id"):
            raise UsageError(f"{where}: every case needs an 'id'")
        cid = str(raw["id"])
        where = f"{path}: case {cid!r}"
        if cid in seen:
            raise UsageError(f"{where}: duplicate id")
        seen.add(cid)
        messages = raw.get("messages")
        if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) and "role" in m for m in messages):
            raise UsageError(f"{where}: 'messages' must be a non-empty list of {{role, content}} objects")
        tags = frozenset(raw.get("tags") or ())
        unknown = tags - KNOWN_TAGS
        if unknown:
            raise UsageError(f"{where}: unknown tags {sorted(unknown)} (known: {sorted(KNOWN_TAGS)})")
        tools = [_resolve_tool(t, tools_dir, where) for t in raw.get("tools") or []] or None
        followup = raw.get("followup") or []
        if not isinstance(followup, list) or not all(isinstance(m, dict) and "role" in m for m in followup):
            raise UsageError(f"{where}: 'followup' must be a list of {{role, content}} messages")
        params = {**(defaults.get("params") or {}), **(raw.get("params") or {})}
        cases.append(
            Case(
                id=cid,
                messages=messages,
                tools=tools,
                params=params,
                tags=tags,
                exercises=tuple(raw.get("exercises") or ()),
                reply=raw.get("reply"),
                reply_without_tools=raw.get("reply_without_tools"),
                followup=tuple(followup),
            )
        )
    if not cases:
        raise UsageError(f"cases file {path} holds no cases")
    return cases
