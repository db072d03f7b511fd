"""Token-id dialects: how an engine is asked for ids and where it puts them.

A dialect is data (a profile in profiles/*.yaml, or a user's file given by path); the
Dialect class below is the single interface the checks read ids through, so a new engine's
dialect never touches the checks.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..errors import UsageError
from ..resources import dialect_profiles_dir
from .paths import MISSING, parse, resolve

STREAM_MODES = {"delta", "cumulative", "final", "trailing", "rejected"}


def _deep_merge(base: dict, extra: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


@dataclass
class StreamIds:
    """Where ids appeared in one choice index's chunks of a stream."""

    prompt: list[tuple[int, Any]] = field(default_factory=list)  # (chunk position, value)
    completion: list[tuple[int, Any]] = field(default_factory=list)  # (chunk position, value or MISSING)

    def concatenated(self) -> list:
        out: list = []
        for _, value in self.completion:
            if isinstance(value, list):
                out.extend(value)
        return out


@dataclass
class Dialect:
    name: str
    title: str
    request_fields: dict[str, Any]
    nonstream_prompt: str | None
    nonstream_completion: str | None
    stream_mode: str
    stream_prompt: str | None
    stream_completion: str | None
    eos_in_completion_ids: bool
    n: str
    unrequested: str | None
    features: frozenset[str]
    source: str
    raw: dict[str, Any]

    # -- requests ---------------------------------------------------------------
    def with_ids(self, body: dict[str, Any]) -> dict[str, Any]:
        """The request body with this dialect's opt-in merged in."""
        return _deep_merge(body, self.request_fields)

    # -- non-stream responses ----------------------------------------------------
    def prompt_ids(self, response: dict[str, Any], choice: int = 0) -> Any:
        return resolve(response, self.nonstream_prompt, choice) if self.nonstream_prompt else MISSING

    def completion_ids(self, response: dict[str, Any], choice: int = 0) -> Any:
        return resolve(response, self.nonstream_completion, choice) if self.nonstream_completion else MISSING

    # -- streams -----------------------------------------------------------------
    def stream_ids(self, chunks: list[dict[str, Any]], choice: int = 0) -> StreamIds:
        """Ids per chunk for one choice index. A chunk counts for the index if one of its
        choices has that index, or if it has no choices (trailing/usage chunks)."""
        found = StreamIds()
        for pos, chunk in enumerate(chunks):
            choices = chunk.get("choices") or []
            indices = {c.get("index", 0) for c in choices if isinstance(c, dict)}
            if choices and choice not in indices:
                continue
            if self.stream_prompt:
                value = resolve(chunk, self.stream_prompt, choice)
                if value is not MISSING and value is not None:
                    found.prompt.append((pos, value))
            if self.stream_completion and choices:
                found.completion.append((pos, resolve(chunk, self.stream_completion, choice)))
        return found

    def has(self, feature: str) -> bool:
        return feature in self.features


def from_profile(raw: dict[str, Any], source: str) -> Dialect:
    try:
        stream = raw.get("stream") or {}
        nonstream = raw.get("nonstream") or {}
        mode = stream.get("mode", "rejected")
        if mode not in STREAM_MODES:
            raise UsageError(f"dialect {source}: stream.mode {mode!r} is not one of {sorted(STREAM_MODES)}")
        for path in filter(None, [nonstream.get("prompt_ids"), nonstream.get("completion_ids"),
                                  stream.get("prompt_ids"), stream.get("completion_ids")]):
            parse(path)
        return Dialect(
            name=raw["name"],
            title=raw.get("title", raw["name"]),
            request_fields=(raw.get("request") or {}).get("fields") or {},
            nonstream_prompt=nonstream.get("prompt_ids"),
            nonstream_completion=nonstream.get("completion_ids"),
            stream_mode=mode,
            stream_prompt=stream.get("prompt_ids"),
            stream_completion=stream.get("completion_ids"),
            eos_in_completion_ids=bool(raw.get("eos_in_completion_ids", True)),
            n=raw.get("n", "per_choice"),
            unrequested=raw.get("unrequested", "omitted"),
            features=frozenset(raw.get("features") or ()),
            source=source,
            raw=raw,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise UsageError(f"dialect profile {source} is invalid: {exc}") from exc


def builtin_names() -> list[str]:
    return sorted(p.stem for p in dialect_profiles_dir().glob("*.yaml"))


def load_dialect(name_or_path: str) -> Dialect:
    """A shipped dialect by name, or a user's profile file by path."""
    path = Path(name_or_path)
    if not path.suffix:
        path = dialect_profiles_dir() / f"{name_or_path}.yaml"
        if not path.exists():
            raise UsageError(f"unknown dialect {name_or_path!r}; shipped: {', '.join(builtin_names())}")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read dialect profile {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise UsageError(f"dialect profile {path} does not parse: {exc}") from exc
    if not isinstance(raw, dict):
        raise UsageError(f"dialect profile {path} is not a mapping")
    return from_profile(raw, str(path))
