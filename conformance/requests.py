"""Request variants: the distinct requests a check can ask for, built from a case and a dialect.

Checks name the variants they read (`needs=`); the runner builds each one once per case and
sends every distinct body once, however many checks read it.
"""
from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

from .cases import Case
from .dialects import Dialect

CHAT_PATH = "/v1/chat/completions"


@dataclass(frozen=True)
class Variant:
    name: str
    description: str
    stream: bool
    ids: bool = True  # ask for token ids with the dialect's opt-in
    tools: bool = True  # keep the case's tools


VARIANTS: dict[str, Variant] = {
    v.name: v
    for v in [
        Variant("nonstream", "the case as a non-stream request, ids requested", stream=False),
        Variant("stream", "the case streamed, ids requested, usage in a final chunk", stream=True),
        Variant("stream_notools", "the case streamed without its tools, ids requested", stream=True, tools=False),
    ]
}


@dataclass(frozen=True)
class RequestSpec:
    method: str
    path: str
    body: dict[str, Any]
    label: str = ""  # "case/variant", for recordings and reports; not part of the identity

    @property
    def key(self) -> str:
        """Identity of the request on the wire: equal bodies are sent once."""
        return f"{self.method} {self.path} " + json.dumps(self.body, sort_keys=True, ensure_ascii=False)


def build_request(case: Case, variant: str, dialect: Dialect, model: str) -> RequestSpec:
    v = VARIANTS[variant]
    body: dict[str, Any] = {"model": model, "messages": copy.deepcopy(case.messages)}
    if case.tools and v.tools:
        body["tools"] = copy.deepcopy(case.tools)
    body.update(copy.deepcopy(case.params))
    if v.stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    if v.ids:
        body = dialect.with_ids(body)
    return RequestSpec("POST", CHAT_PATH, body, f"{case.id}/{variant}")
