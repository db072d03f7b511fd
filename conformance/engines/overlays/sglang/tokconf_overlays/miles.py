"""Miles' SGLang changes for chat, as an overlay on SGLang 0.5.23.

Followed point by point from Miles' SGLang patch, radixark/miles docker/patch/v0.5.7/sglang.patch
at commit 167b66f0 (docs/forks.md links each hunk); written here in tokconf's own code:

  logprob ids   every chat logprobs.content entry names its token: `token_id` (an int), in
                non-stream responses AND stream chunks (the fork changes the one helper both
                use). Upstream's entries are {token, bytes, logprob, top_logprobs} only: a
                token's text, which cannot be turned back into an id reliably.
  prompt echo   with `logprobs`, choices[i].input_token_ids = the ids of
                meta_info.input_token_logprobs. SGLang computes those from `logprob_start_len`
                on: the default (-1) gives none (an empty list), 0 the whole prompt.
  logprob_start_len   a chat request field (default None = upstream's -1), passed to the engine.
  input_ids     when the request sends `input_ids`, the fork builds the sampling parameters
                without stop strings: the request's `stop` is not applied (its comment: "if
                input_ids is provided, the stop token is not used"); `stop_token_ids` still is.
                Upstream 0.5.23 applies `stop` with input_ids.

Unchanged from upstream: `input_ids` token-in itself (upstream has it since 0.5.13),
`return_meta_info`, and the streaming guard for it (Miles never streams to the backend).
"""
from __future__ import annotations

from typing import Optional

from tokconf_overlays._wire import replace_request_model, with_choice_keys

NAME = "miles"

# the response models that hold a chat logprob entry, directly or not: rebuilt after the entry
# gains its field, so they serialize it
_HOLDERS = ("ChoiceLogprobs", "ChatCompletionResponseChoice", "ChatCompletionResponse",
            "ChatCompletionResponseStreamChoice", "ChatCompletionStreamResponse")


def prompt_echo(output: dict) -> dict:
    """A non-stream choice's key: the ids of the engine output's meta_info.input_token_logprobs."""
    prompt_logprobs = output["meta_info"].get("input_token_logprobs") or []
    return {"input_token_ids": [token_id for _, token_id, _ in prompt_logprobs]}


def patch_protocol(module) -> None:
    from pydantic.fields import FieldInfo

    entry = module.ChatCompletionTokenLogprob
    entry.model_fields["token_id"] = FieldInfo(annotation=Optional[int], default=None)
    entry.model_rebuild(force=True)
    for name in _HOLDERS:
        getattr(module, name).model_rebuild(force=True)

    class ChatCompletionRequest(module.ChatCompletionRequest):
        logprob_start_len: Optional[int] = None

    replace_request_model(module, ChatCompletionRequest)


def patch_serving_chat(module) -> None:
    cls = module.OpenAIServingChat
    upstream_convert = cls._convert_to_internal_request
    upstream_entries = cls._build_token_logprobs_from_raw
    upstream_build = cls._build_chat_response

    def _convert_to_internal_request(self, request, raw_request=None):
        if request.input_ids is not None:
            request.stop = None  # the fork's input_ids path passes no stop strings
        adapted, processed = upstream_convert(self, request, raw_request)
        if request.logprob_start_len is not None:
            adapted.logprob_start_len = request.logprob_start_len
        return adapted, processed

    def _build_token_logprobs_from_raw(self, output_token_logprobs, output_top_logprobs, *args, **kwargs):
        # one helper for stream chunks and non-stream choices: entry k is (logprob, id, text) k
        entries = upstream_entries(self, output_token_logprobs, output_top_logprobs, *args, **kwargs)
        for entry, raw in zip(entries, output_token_logprobs):
            entry.token_id = raw[1]
        return entries

    cls._convert_to_internal_request = _convert_to_internal_request
    cls._build_token_logprobs_from_raw = _build_token_logprobs_from_raw
    # the non-stream response: upstream's, re-serialized with each choice's prompt echo when logprobs
    cls._build_chat_response = with_choice_keys(upstream_build, lambda request: request.logprobs, prompt_echo)


PATCHES = {
    "sglang.srt.entrypoints.openai.protocol": patch_protocol,
    "sglang.srt.entrypoints.openai.serving_chat": patch_serving_chat,
}
