"""Targets for `tokconf compare --target`, as data: a server to attach to, an engine to launch,
or a recording to replay. On the command line, comma-separated key=value pairs:

    --target name=vllm,base_url=http://127.0.0.1:8000,dialect=vllm,model=tiny-chat,tokenizer=fixtures/tiny-chat
    --target name=sglang,engine=sglang,model=fixtures/tiny-chat
    --target name=recorded,recording=fixtures/recordings/vllm-0.32.0-cpu.jsonl,dialect=vllm,model=tiny-chat

or a YAML/JSON file (`--targets FILE`) holding a list of such mappings (or {targets: [...]}).
API keys are never part of a spec: `api_key_env` names the environment variable that holds one.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from conformance.errors import UsageError


@dataclass(frozen=True)
class TargetSpec:
    name: str
    base_url: str | None = None  # attach
    engine: str | None = None  # launch (one after the other)
    recording: str | None = None  # replay a JSONL recording (tests, offline comparisons)
    dialect: str | None = None
    model: str | None = None  # model directory (launch) or served model name (attach, recording)
    tokenizer: str | None = None
    served_model: str | None = None
    api_key_env: str | None = None
    engine_python: str | None = None
    engine_args: tuple[str, ...] = field(default_factory=tuple)
    worker: str | None = None  # engines made of a frontend and a worker (Dynamo: vllm, mocker, sglang)

    @property
    def kind(self) -> str:
        return "attach" if self.base_url else "launch" if self.engine else "recording"


KEYS = {f.name for f in fields(TargetSpec)}


def _from_mapping(data: dict[str, Any], where: str) -> TargetSpec:
    unknown = set(data) - KEYS
    if unknown:
        raise UsageError(f"{where}: unknown target key(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(KEYS))}")
    if not data.get("name"):
        raise UsageError(f"{where}: a target needs a name")
    modes = [k for k in ("base_url", "engine", "recording") if data.get(k)]
    if len(modes) != 1:
        raise UsageError(f"{where}: give exactly one of base_url, engine, recording (got {modes or 'none'})")
    if not data.get("engine") and not data.get("model"):
        raise UsageError(f"{where}: an attached or recorded target needs model (the served model name)")
    args = data.get("engine_args") or ()
    return TargetSpec(**{**{k: (str(v) if v is not None else None) for k, v in data.items() if k != "engine_args"},
                         "engine_args": tuple(str(a) for a in args)})


def parse_target(text: str) -> TargetSpec:
    data: dict[str, Any] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, eq, value = part.partition("=")
        if not eq:
            raise UsageError(f"--target {text!r}: {part!r} is not key=value")
        data[key.strip()] = value.strip()
    return _from_mapping(data, f"--target {text!r}")


def load_targets(path: Path) -> list[TargetSpec]:
    try:
        text = Path(path).read_text(encoding="utf-8")
        doc = json.loads(text) if str(path).endswith(".json") else yaml.safe_load(text)
    except OSError as exc:
        raise UsageError(f"cannot read targets file {path}: {exc.strerror}") from exc
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise UsageError(f"targets file {path} does not parse: {exc}") from exc
    items = doc.get("targets") if isinstance(doc, dict) else doc
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise UsageError(f"targets file {path}: expected a list of targets (mappings)")
    return [_from_mapping(item, f"{path} target {n}") for n, item in enumerate(items)]


def check_unique(specs: list[TargetSpec]) -> list[TargetSpec]:
    names = [s.name for s in specs]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise UsageError(f"target names must be unique: {', '.join(dupes)}")
    if len(specs) < 2:
        raise UsageError("compare needs at least two targets")
    return specs
