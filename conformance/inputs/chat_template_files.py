"""A model directory's chat template text, read from its files as transformers finds it:
chat_template.jinja, else chat_template.json, else tokenizer_config.json `chat_template` (a string,
or a list of named templates, all joined: tool markers may sit in the `tool_use` one)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def template_text(value: Any) -> str | None:
    """A chat_template value as one text: a string, or named templates ({name, template} list, or a
    name -> template dict as transformers keeps them) joined."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        value = [{"template": t} for t in value.values()]
    if isinstance(value, list):
        texts = [t.get("template") for t in value if isinstance(t, dict) and isinstance(t.get("template"), str)]
        return "\n".join(texts) or None
    return None


def _json_field(path: Path, key: str) -> Any:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc.get(key) if isinstance(doc, dict) else None


def chat_template_in(model_dir: str | Path) -> str | None:
    """The template text in a local model directory, or None (not a directory, or none there)."""
    d = Path(model_dir)
    try:
        return (d / "chat_template.jinja").read_text(encoding="utf-8")
    except OSError:
        pass
    return template_text(_json_field(d / "chat_template.json", "chat_template")) or \
        template_text(_json_field(d / "tokenizer_config.json", "chat_template"))
