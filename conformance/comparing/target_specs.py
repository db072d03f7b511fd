"""Targets for `tokconf compare --target`, as data: a server to attach to, an engine to launch,
or a recording to replay. On the command line, comma-separated key=value pairs:

    --target name=vllm,base_url=http://127.0.0.1:8000,dialect=vllm,model=tiny-chat,tokenizer=fixtures/tiny-chat
    --target name=sglang,engine=sglang,model=fixtures/tiny-chat
    --target name=recorded,recording=fixtures/recordings/vllm-0.32.0-cpu.jsonl,dialect=vllm,model=tiny-chat

or a YAML/JSON file (`--targets FILE`) holding a list of such mappings (or {targets: [...]}).
API keys are never part of a spec: `api_key_env` names the environment variable that holds one.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.errors import UsageError
from conformance.inputs.schema import build, key, keys_of, read_document


@dataclass(frozen=True)
class TargetSpec:
    """One target; each field names its key (the schema of --target and of a --targets file)."""

    name: str = key("name")
    base_url: str | None = key("base_url", None)  # attach
    engine: str | None = key("engine", None)  # launch (one after the other)
    engine_cmd: str | None = key("engine_cmd", None)  # launch the user's command line (with ready_url), like --engine-cmd
    ready_url: str | None = key("ready_url", None)
    recording: str | None = key("recording", None)  # replay a JSONL recording (tests, offline comparisons)
    dialect: str | None = key("dialect", None)
    model: str | None = key("model", None)  # model directory (launch) or served model name (attach, recording)
    tokenizer: str | None = key("tokenizer", None)
    served_model: str | None = key("served_model", None)
    api_key_env: str | None = key("api_key_env", None)
    engine_python: str | None = key("engine_python", None)
    engine_args: tuple[str, ...] = key("engine_args", ())
    worker: str | None = key("worker", None)  # engines made of a frontend and a worker (Dynamo: vllm, mocker, sglang)

    @property
    def kind(self) -> str:
        return "attach" if self.base_url else "launch" if self.engine or self.engine_cmd else "recording"


KEYS = set(keys_of(TargetSpec))


def _from_mapping(data: dict[str, Any], where: str) -> TargetSpec:
    spec = build(TargetSpec, data, where)
    if not spec.name:
        raise UsageError(f"{where}: a target needs a name")
    modes = [k for k in ("base_url", "engine", "engine_cmd", "recording") if getattr(spec, k)]
    if len(modes) != 1:
        raise UsageError(f"{where}: give exactly one of base_url, engine, engine_cmd, recording (got {modes or 'none'})")
    if not (spec.engine or spec.engine_cmd) and not spec.model:
        raise UsageError(f"{where}: an attached or recorded target needs model (the served model name)")
    return spec


def parse_target(text: str) -> TargetSpec:
    data: dict[str, Any] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key_, eq, value = part.partition("=")
        if not eq:
            raise UsageError(f"--target {text!r}: {part!r} is not key=value")
        data[key_.strip()] = value.strip()
    if "engine_args" in data:
        raise UsageError(f"--target {text!r}: engine_args is a list: give it in a --targets file")
    return _from_mapping(data, f"--target {text!r}")


def load_targets(path: Path) -> list[TargetSpec]:
    doc = read_document(path, "targets file")
    items = doc.get("targets") if isinstance(doc, dict) else doc
    if isinstance(doc, dict) and set(doc) - {"targets"}:
        raise UsageError(f"targets file {path}: unknown key {sorted(set(doc) - {'targets'})[0]!r}; known: targets")
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise UsageError(f"targets file {path}: expected a list of targets (mappings)")
    return [_from_mapping(item, f"targets file {path}: target #{n + 1}") for n, item in enumerate(items)]


def check_unique(specs: list[TargetSpec]) -> list[TargetSpec]:
    names = [s.name for s in specs]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise UsageError(f"target names must be unique: {', '.join(dupes)}")
    if len(specs) < 2:
        raise UsageError("compare needs at least two targets")
    return specs
