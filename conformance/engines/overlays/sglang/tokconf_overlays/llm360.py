"""LLM360's `return_completion_token_ids` for SGLang chat, as an overlay on SGLang 0.5.23.

Followed point by point from LLM360/sglang at commit 68b2135f (docs/forks.md links each line);
written here in tokconf's own code. The fork's contract on /v1/chat/completions:

  request      `return_completion_token_ids: bool = False`, beside upstream's `return_prompt_token_ids`.
  non-stream   choices[i].completion_token_ids = the choice's `output_ids` (the EOS or stop-string
               token included); choices[i].prompt_token_ids from `return_prompt_token_ids`.
  stream       allowed with both flags (the fork has no streaming guard for either; upstream
               0.5.23 rejects `return_prompt_token_ids` with `stream: true`, so the overlay lifts
               that guard too). Per choice index the fork keeps the last prompt ids it saw and
               EXTENDS a list with every engine output's `output_ids`; both go out on that
               index's finish chunk only, as choices[i].prompt_token_ids / completion_token_ids.
  both         a key whose value is None is omitted (the fork's serializer pops it).

The fork's extend-every-output is right only when each output carries just its new ids, i.e.
with `--incremental-streaming-output`. With SGLang's default every output repeats all ids so far,
and the fork's finish chunk holds every prefix concatenated. The overlay does what the fork does;
tokconf's engine test runs it with the flag, and its fast tests show the default-mode result
failing (tests/suites/test_checks_documented_shapes.py).

Upstream's request model ignores unknown fields, so the fork's field must be declared: the
overlay swaps in a subclass of ChatCompletionRequest before the HTTP server imports it.
"""
from __future__ import annotations

import contextlib
import json

from tokconf_overlays._tap import tap_engine_outputs
from tokconf_overlays._wire import replace_request_model, sse_event, with_choice_keys

NAME = "llm360"
_TAP = "_tokconf_llm360_ids"  # attribute on the request's GenerateReqInput: that stream's FinishIds


class FinishIds:
    """The ids ONE chat stream puts on its finish chunks, per choice index (never shared)."""

    def __init__(self, want_prompt: bool, want_completion: bool):
        self.want_prompt, self.want_completion = want_prompt, want_completion
        self.prompt: dict[int, list[int]] = {}
        self.completion: dict[int, list[int]] = {}

    def on_output(self, content: dict) -> None:
        index = content.get("index", 0)
        if self.want_prompt and content.get("prompt_token_ids") is not None:
            self.prompt[index] = list(content["prompt_token_ids"])  # the same on every output: overwrite
        if self.want_completion and content.get("output_ids"):
            self.completion.setdefault(index, []).extend(content["output_ids"])  # the fork extends, as is

    def annotate(self, event: str) -> str:
        if not event.startswith("data: {"):
            return event
        chunk = json.loads(event[len("data: "):])
        choices = chunk.get("choices") or []
        if len(choices) != 1 or choices[0].get("finish_reason") is None:
            return event  # only an index's finish chunk carries the ids
        choice, index = choices[0], choices[0].get("index", 0)
        for key, found in (("prompt_token_ids", self.prompt), ("completion_token_ids", self.completion)):
            if index in found:  # None is omitted, never sent as null
                choice[key] = found[index]
        return sse_event(chunk)


def completion_ids(output: dict) -> dict:
    """A non-stream choice's key: the engine output's `output_ids` (omitted, never null)."""
    ids = output.get("output_ids")
    return {} if ids is None else {"completion_token_ids": list(ids)}


def patch_protocol(module) -> None:
    class ChatCompletionRequest(module.ChatCompletionRequest):
        return_completion_token_ids: bool = False

    replace_request_model(module, ChatCompletionRequest)


def patch_tokenizer_manager(module) -> None:
    """Let a stream's FinishIds see every engine output (`content` dict) before the chat code."""
    tap_engine_outputs(module, _TAP, lambda ids, content: ids.on_output(content))


def patch_serving_chat(module) -> None:
    cls = module.OpenAIServingChat
    upstream_convert = cls._convert_to_internal_request
    upstream_stream = cls._generate_chat_stream
    upstream_build = cls._build_chat_response

    def _convert_to_internal_request(self, request, raw_request=None):
        if not (request.stream and request.return_prompt_token_ids):
            return upstream_convert(self, request, raw_request)
        # upstream's guard refuses return_prompt_token_ids on a stream; the fork has none
        request.return_prompt_token_ids = False
        try:
            adapted, processed = upstream_convert(self, request, raw_request)
        finally:
            request.return_prompt_token_ids = True
        adapted.return_prompt_token_ids = True  # the tokenizer manager hands the prompt ids back
        return adapted, processed

    async def _generate_chat_stream(self, adapted_request, request, raw_request):
        ids = FinishIds(bool(request.return_prompt_token_ids), bool(request.return_completion_token_ids))
        setattr(adapted_request, _TAP, ids)
        async with contextlib.aclosing(upstream_stream(self, adapted_request, request, raw_request)) as events:
            async for event in events:
                yield ids.annotate(event)

    cls._convert_to_internal_request = _convert_to_internal_request
    cls._generate_chat_stream = _generate_chat_stream
    # the non-stream response: upstream's, re-serialized with each choice's completion ids when asked
    cls._build_chat_response = with_choice_keys(upstream_build, lambda request: request.return_completion_token_ids,
                                                completion_ids)


PATCHES = {
    "sglang.srt.entrypoints.openai.protocol": patch_protocol,
    "sglang.srt.managers.tokenizer_manager": patch_tokenizer_manager,
    "sglang.srt.entrypoints.openai.serving_chat": patch_serving_chat,
}
