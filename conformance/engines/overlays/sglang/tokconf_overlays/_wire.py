"""How the overlays put a fork's keys on what upstream's chat code sends. This is tokconf's own
mechanism, shared by every overlay (not a fork's code: each overlay decides WHICH keys go WHERE,
point by point with the fork): upstream builds its response model or SSE chunk as it always does,
and the overlay re-serializes it with the extra keys, compact, as SGLang serializes its own."""
from __future__ import annotations

import json
from typing import Callable


def dumps(obj) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def sse_event(chunk: dict) -> str:
    """One SSE event carrying `chunk`, as the chat stream yields it."""
    return "data: " + dumps(chunk) + "\n\n"


def response_with(response, add: Callable[[dict], None]):
    """Upstream's non-stream chat response, re-serialized after `add(body)` put the fork's keys in
    the parsed body; an error response (no model_dump_json) goes out unchanged."""
    if not hasattr(response, "model_dump_json"):
        return response
    from fastapi.responses import Response

    body = json.loads(response.model_dump_json(by_alias=True))
    add(body)
    return Response(content=dumps(body), media_type="application/json")


def with_choice_keys(upstream_build, asked: Callable[[object], bool], keys: Callable[[dict], dict]):
    """A `_build_chat_response` that is upstream's, and when `asked(request)`, puts on each choice
    the keys `keys(output)` gives for the engine output (`ret[i]`) that choice i was built from."""

    def _build_chat_response(self, request, ret, created):
        response = upstream_build(self, request, ret, created)
        if not asked(request):
            return response

        def add(body: dict) -> None:
            for choice in body.get("choices") or []:
                choice.update(keys(ret[choice["index"]]))

        return response_with(response, add)

    return _build_chat_response


def replace_request_model(module, subclass) -> None:
    """Put `subclass` (upstream's ChatCompletionRequest with the fork's fields declared: upstream's
    model ignores unknown fields) where http_server and serving_chat import the request model from."""
    subclass.__module__, subclass.__qualname__ = module.__name__, "ChatCompletionRequest"
    module.ChatCompletionRequest = subclass
