"""LLM360's `return_completion_token_ids` for SGLang chat, as an overlay on SGLang 0.5.23.

LLM360's SGLang fork adds one request field to /v1/chat/completions:

  return_completion_token_ids: true  ->  choices[i].completion_token_ids = the choice's output ids
                                         (SGLang's `output_ids`: the EOS / stop-string token included)

  - non-stream only: a stream request with the flag is rejected before anything is streamed,
    with HTTP 400 and SGLang's flat error body (the same guard upstream has for
    return_prompt_token_ids / return_token_ids / return_meta_info);
  - the key is omitted when the flag is off (no `completion_token_ids: null`);
  - prompt ids come from upstream's own `return_prompt_token_ids` (choices[i].prompt_token_ids).

Upstream's request model ignores unknown fields, so the fork's field must be declared: the
overlay swaps in a subclass of ChatCompletionRequest before the HTTP server imports it.
"""
from __future__ import annotations

import json

NAME = "llm360"


def patch_protocol(module) -> None:
    class ChatCompletionRequest(module.ChatCompletionRequest):
        return_completion_token_ids: bool = False

    ChatCompletionRequest.__module__, ChatCompletionRequest.__qualname__ = module.__name__, "ChatCompletionRequest"
    module.ChatCompletionRequest = ChatCompletionRequest  # what http_server / serving_chat import


def patch_serving_chat(module) -> None:
    cls = module.OpenAIServingChat
    upstream_convert = cls._convert_to_internal_request
    upstream_build = cls._build_chat_response

    def _convert_to_internal_request(self, request, raw_request=None):
        if request.stream and getattr(request, "return_completion_token_ids", False):
            # a ValueError here becomes upstream's 400 {"object":"error",...} before the stream starts
            raise ValueError("return_completion_token_ids is not supported with streaming. "
                             "Please set stream=false when using return_completion_token_ids=true.")
        return upstream_convert(self, request, raw_request)

    def _build_chat_response(self, request, ret, created):
        response = upstream_build(self, request, ret, created)
        if not getattr(request, "return_completion_token_ids", False) or not hasattr(response, "model_dump_json"):
            return response
        from fastapi.responses import Response

        body = json.loads(response.model_dump_json(by_alias=True))
        for choice in body.get("choices") or []:
            output_ids = ret[choice["index"]].get("output_ids")
            if output_ids is not None:  # omitted, never null
                choice["completion_token_ids"] = list(output_ids)
        return Response(content=json.dumps(body, ensure_ascii=False, separators=(",", ":")),
                        media_type="application/json")

    cls._convert_to_internal_request = _convert_to_internal_request
    cls._build_chat_response = _build_chat_response


PATCHES = {
    "sglang.srt.entrypoints.openai.protocol": patch_protocol,
    "sglang.srt.entrypoints.openai.serving_chat": patch_serving_chat,
}
