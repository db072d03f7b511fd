"""The dialect features: what a profile may declare and what a check may require
(`@check(requires=...)`), one registry for both, checked when each is loaded."""
from __future__ import annotations

from typing import Iterable

FEATURES = {
    "ids.nonstream": "prompt and completion ids in non-stream responses",
    "ids.stream": "completion ids (and prompt ids) in stream chunks",
    "logprobs": "logprobs entries that can be aligned with the completion ids",
    "logprobs.ids": "the ids themselves are read from the logprobs (Miles, SGLang /generate)",
    "token_in": "a request field that takes prompt ids instead of messages",
    "content.string": "message.content is always a string, \"\" beside a tool call (Miles rejects null)",
    "request.add_special_tokens": "the chat request takes add_special_tokens and, true, adds the tokenizer's own special "
                                  "tokens (a BOS) on top of the rendered template (vLLM; Dynamo refuses the field)",
    "stream.client_cancel": "a client may close a stream mid-way (a partial rollout) and the engine keeps serving: "
                            "declared where abort.client_cancel has been seen live through tokconf's whole engine "
                            "tier (vLLM); elsewhere it SKIPs until then",
    # implied by the profile's stream.mode and n; declaring them is allowed
    "ids.per_chunk": "each stream chunk carries the ids of its own text (implied by stream.delta and stream.cumulative)",
    "stream.delta": "each chunk carries the ids since the last one",
    "stream.cumulative": "each chunk repeats every id so far",
    "stream.trailing": "one chunk after the text carries the ids",
    "stream.final": "only the final chunk carries the ids",
    "stream.rejected": "a stream asking for ids is refused with a 4xx",
    "n.per_choice": "n>1 gives each choice its own ids",
    "n.rejected": "n>1 with the opt-in is refused with a 4xx",
}


def unknown_features(names: Iterable[str]) -> list[str]:
    return sorted(set(names) - set(FEATURES))
