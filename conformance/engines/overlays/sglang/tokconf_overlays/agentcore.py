"""agentcore-rl-toolkit's token-id patch for SGLang chat, as an overlay on SGLang 0.5.23.

The patch (agentcore-rl-toolkit, backends/slime/patches/sglang_token_ids.py, for SGLang 0.5.9 /
0.5.12; removed in its PR #79) made /v1/chat/completions always return token ids, with no
request field asking for them:

  non-stream   root `prompt_token_ids`; `choices[i].token_ids` = every output id of the choice,
               the EOS or stop-string token included (SGLang's `output_ids`).
  stream       root `prompt_token_ids` on the role chunk of each choice index;
               `choices[i].token_ids` on content / tool-call chunks = the ids generated since the
               last chunk of that index that carried ids (a delta). Ids whose text is not sent
               yet wait in a pending buffer:
                 - the detokenizer holds text back (half a UTF-8 character, a possible stop string),
                 - the tool parser buffers `<tool_call>{...` and yields no chunk until it can,
                 - the EOS and a matched stop string have no text at all,
                 - reasoning text: `reasoning_content` chunks carry no ids,
               and go out on the next content / tool-call chunk of that index, or on its finish chunk.
  prompt       the ids the chat layer hands the engine (GenerateReqInput.input_ids); none when it
               hands text (a multimodal prompt SGLang renders as text).
  both         every new key is dropped when it has nothing (None, or no output id at all): a
               vanilla client sees no new key.

docs/agentcore-overlay-vs-patch.md lists where this differs from the patch itself, each shown by
tests/live/test_agentcore_overlay_vs_patch.py on the same scripted engine outputs.

How it hooks in: SGLang's engine outputs (`content` dicts with cumulative `output_ids`) pass
through TokenizerManager.generate_request; the chat stream turns each into SSE chunks. The
overlay sees each output before the chat code does (StreamIds.on_output) and adds the ids to
each chunk the chat code yields (StreamIds.annotate). Upstream's chunk building is untouched.
"""
from __future__ import annotations

import contextlib
import contextvars
import json

from tokconf_overlays._tap import tap_engine_outputs
from tokconf_overlays._wire import response_with, sse_event

NAME = "agentcore"
_TAP = "_tokconf_stream_ids"  # attribute on the request's GenerateReqInput: that request's StreamIds
# the prompt ids of the non-stream request being answered (per asyncio task: never shared)
_NONSTREAM_PROMPT: contextvars.ContextVar = contextvars.ContextVar("tokconf_agentcore_prompt", default=None)


def request_prompt_ids(adapted_request) -> list[int] | None:
    """The prompt ids the chat layer gave the engine: GenerateReqInput.input_ids, the first row
    when n>1 made it a batch of copies; None when the prompt went as text."""
    ids = getattr(adapted_request, "input_ids", None)
    if not ids or isinstance(ids, str):
        return None
    return list(ids[0]) if isinstance(ids[0], list) else list(ids)


class StreamIds:
    """The id bookkeeping of ONE chat stream. One instance per request: the buffers must never be
    shared between requests (concurrent streams would receive each other's ids)."""

    def __init__(self, incremental: bool):
        self.incremental = incremental  # --incremental-streaming-output: output_ids are already deltas
        self.watermark: dict[int, int] = {}  # per choice index: how many of its output ids were taken
        self.pending: dict[int, list[int]] = {}  # per choice index: ids not sent on a chunk yet
        self.prompt: list[int] | None = None  # set from the request (request_prompt_ids)

    def new_ids(self, index: int, output_ids: list[int]) -> list[int]:
        """The ids one engine output adds to choice `index`. In the default (cumulative) mode every
        output repeats all ids so far, so slice past what this index already took."""
        if self.incremental:
            return list(output_ids)
        start = self.watermark.get(index, 0)
        self.watermark[index] = len(output_ids)
        return list(output_ids[start:])

    def on_output(self, content: dict, tools_active: bool) -> None:
        """An engine output for this request, seen before the chat code turns it into chunks."""
        index = content.get("index", 0)
        new = self.new_ids(index, content.get("output_ids") or [])
        self.pending.setdefault(index, []).extend(new)  # extend, never replace: see the module doc

    def claim(self, index: int, finishing: bool) -> list[int]:
        """The ids for a chunk of `index` that carries answer text, a tool call or the finish
        reason: everything pending (the first chunk emitted after a silent stretch claims it all)."""
        return self.pending.pop(index, [])

    def annotate(self, event: str) -> str:
        """One SSE event as the chat code yields it, with the ids added."""
        if not event.startswith("data: {"):
            return event  # [DONE], named events
        chunk = json.loads(event[len("data: "):])
        choices = chunk.get("choices") or []
        if len(choices) != 1:
            return event  # trailing sglext / usage chunks carry no choice
        choice = choices[0]
        index, delta = choice.get("index", 0), choice.get("delta") or {}
        if delta.get("role") and self.prompt is not None:
            chunk["prompt_token_ids"] = self.prompt
        finishing = choice.get("finish_reason") is not None
        # not reasoning_content: reasoning ids wait for the answer's first chunk, as the patch does
        if delta.get("content") or delta.get("tool_calls") or finishing:
            ids = self.claim(index, finishing)
            if ids:  # dropped when there is nothing: no `token_ids: []` / null on the wire
                choice["token_ids"] = ids
        if "prompt_token_ids" not in chunk and "token_ids" not in choice:
            return event
        return sse_event(chunk)


def incremental_streaming() -> bool:
    """The server runs with --incremental-streaming-output (0.5.23's name; 0.5.9 said stream_output)."""
    from sglang.srt.runtime_context import get_serving

    return bool(get_serving().incremental_streaming_output)


def _nonstream_ids(response: dict, ret: list[dict], prompt: list[int] | None) -> dict:
    """Root prompt_token_ids and choices[i].token_ids on a non-stream response."""
    if prompt:
        response["prompt_token_ids"] = prompt
    for choice in response.get("choices") or []:
        output_ids = ret[choice["index"]].get("output_ids")
        if output_ids:  # no output id at all (max_tokens 0): no key, as on the stream
            choice["token_ids"] = list(output_ids)
    return response


def patch_tokenizer_manager(module) -> None:
    """Let the request's StreamIds see every engine output first (the tap: StreamIds, tool parsing on)."""
    tap_engine_outputs(module, _TAP, lambda tap, content: tap[0].on_output(content, tap[1]))


def patch_serving_chat(module, stream_ids_class=StreamIds) -> None:
    cls = module.OpenAIServingChat
    upstream_stream = cls._generate_chat_stream
    upstream_nonstream = cls._handle_non_streaming_request
    upstream_build = cls._build_chat_response

    async def _generate_chat_stream(self, adapted_request, request, raw_request):
        ids = stream_ids_class(incremental_streaming())  # one per request, never shared
        ids.prompt = request_prompt_ids(adapted_request)
        setattr(adapted_request, _TAP, (ids, self._tool_call_parsing_active(request)))
        async with contextlib.aclosing(upstream_stream(self, adapted_request, request, raw_request)) as events:
            async for event in events:
                yield ids.annotate(event)

    async def _handle_non_streaming_request(self, adapted_request, request, raw_request):
        token = _NONSTREAM_PROMPT.set(request_prompt_ids(adapted_request))
        try:
            return await upstream_nonstream(self, adapted_request, request, raw_request)
        finally:
            _NONSTREAM_PROMPT.reset(token)

    def _build_chat_response(self, request, ret, created):
        response = upstream_build(self, request, ret, created)
        return response_with(response, lambda body: _nonstream_ids(body, ret, _NONSTREAM_PROMPT.get()))

    cls._generate_chat_stream = _generate_chat_stream
    cls._handle_non_streaming_request = _handle_non_streaming_request
    cls._build_chat_response = _build_chat_response


def patches(stream_ids_class=StreamIds) -> dict:
    """What to patch, with the StreamIds class to use (the broken variants pass their own)."""
    return {
        "sglang.srt.managers.tokenizer_manager": patch_tokenizer_manager,
        "sglang.srt.entrypoints.openai.serving_chat": lambda m: patch_serving_chat(m, stream_ids_class),
    }


PATCHES = patches()
