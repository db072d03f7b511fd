"""Trace mappings: where each field of a stored rollout record sits, as data (YAML, one schema,
unknown keys rejected). Shipped: mappings/rllm-gateway.yaml, mappings/generic.yaml."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from conformance.dialects.paths import MISSING, parse, resolve
from conformance.errors import UsageError

MAPPINGS_DIR = Path(__file__).resolve().parent / "mappings"
FIELDS = {
    "trace_id": "names the record in the report",
    "session_id": "records of one session are checked in order for the TITO prefix",
    "messages": "the chat messages the prompt was rendered from",
    "tools": "the tools sent with them",
    "prompt_ids": "the prompt token ids",
    "completion_ids": "the completion token ids",
    "message": "the assistant message returned (content, tool_calls, reasoning)",
    "finish_reason": "why generation stopped",
    "logprobs": "one logprob per completion id (floats or {logprob} entries)",
    "prompt_count": "the stored prompt token count",
    "completion_count": "the stored completion token count",
    "stop": "the request's stop strings",
    "max_tokens": "the request's max_tokens",
    "n": "the request's n (choices asked for)",
    "raw_response": "the engine's whole response, when the store keeps it",
    "model": "the model the record says answered",
    "request_model": "the model the request named",
    "response_id": "the engine's id of the response (finds a response stored twice)",
    "time": "when the call was made: orders a session's records (a store's own order can be its write order)",
}
RAW_FIELDS = {"prompt_ids", "completion_ids", "message", "finish_reason", "model"}
TOP = {"name", "title", "fields", "raw_response", "eos_in_completion_ids"}


@dataclass(frozen=True)
class Mapping:
    name: str
    title: str
    fields: dict[str, str]
    raw_fields: dict[str, str]
    eos_in_completion_ids: bool
    source: str

    def get(self, record: Any, field: str) -> Any:
        """The field's value in a record, MISSING when the mapping has no path for it or the record lacks it."""
        path = self.fields.get(field)
        return MISSING if path is None else resolve(record, path)

    def raw(self, raw_response: Any, field: str) -> Any:
        path = self.raw_fields.get(field)
        return MISSING if path is None else resolve(raw_response, path)


def _paths(section: Any, known: set[str], where: str) -> dict[str, str]:
    if not isinstance(section, dict):
        raise UsageError(f"{where}: expected a mapping of field -> path")
    unknown = set(section) - known
    if unknown:
        raise UsageError(f"{where}: unknown fields {sorted(unknown)} (known: {sorted(known)})")
    for key, path in section.items():
        if not isinstance(path, str):
            raise UsageError(f"{where}.{key}: a path is a string, got {path!r}")
        try:
            parse(path)
        except ValueError as exc:
            raise UsageError(f"{where}.{key}: {exc}") from exc
    return dict(section)


def load_mapping(name_or_path: str | Path) -> Mapping:
    """A shipped mapping by name (rllm-gateway, generic) or a user's file by path."""
    path = Path(name_or_path)
    if not path.exists():
        shipped = MAPPINGS_DIR / f"{name_or_path}.yaml"
        if not shipped.exists():
            names = sorted(p.stem for p in MAPPINGS_DIR.glob("*.yaml"))
            raise UsageError(f"unknown trace mapping {str(name_or_path)!r}: not a file, not one of {names}")
        path = shipped
    from conformance.inputs.schema import load_yaml, read_input_text

    text = read_input_text(path, "trace mapping")
    try:
        data = load_yaml(text)
    except yaml.YAMLError as exc:
        raise UsageError(f"trace mapping {path} cannot be read: {exc}") from exc
    if not isinstance(data, dict):
        raise UsageError(f"trace mapping {path}: expected a mapping at the top")
    unknown = set(data) - TOP
    if unknown:
        raise UsageError(f"trace mapping {path}: unknown keys {sorted(unknown)} (known: {sorted(TOP)})")
    for key in ("name", "fields"):
        if key not in data:
            raise UsageError(f"trace mapping {path}: '{key}' is required")
    fields = _paths(data["fields"], set(FIELDS), f"{path}: fields")
    for need in ("prompt_ids", "completion_ids"):
        if need not in fields:
            raise UsageError(f"trace mapping {path}: fields.{need} is required (there is nothing to verify without it)")
    eos = data.get("eos_in_completion_ids", True)
    if not isinstance(eos, bool):
        raise UsageError(f"trace mapping {path}: eos_in_completion_ids is true or false")
    return Mapping(str(data["name"]), str(data.get("title") or data["name"]), fields,
                   _paths(data.get("raw_response") or {}, RAW_FIELDS, f"{path}: raw_response"), eos, str(path))
