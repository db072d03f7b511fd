"""Miles' chat logprobs with token ids, as an overlay on SGLang 0.5.23.

Miles (radixark/miles) reads training ids from SGLang chat. Upstream SGLang's chat logprob
entries are `{token, bytes, logprob, top_logprobs}`: a token's text, which cannot be turned
back into an id reliably (byte fallback, added tokens, the same text from two ids). The fork
Miles' mock server reproduces adds the id itself:

  logprobs.content[k].token_id = the id of the k-th output token
                                 (= meta_info.output_token_logprobs[k][1], same order, same count)

Everything else stays upstream's: `input_ids` token-in, `return_meta_info`, the streaming guard
(Miles never streams to the backend). Non-stream responses only.
"""
from __future__ import annotations

import json

NAME = "miles"


def patch_serving_chat(module) -> None:
    cls = module.OpenAIServingChat
    upstream_build = cls._build_chat_response

    def _build_chat_response(self, request, ret, created):
        response = upstream_build(self, request, ret, created)
        if not request.logprobs or not hasattr(response, "model_dump_json"):
            return response
        from fastapi.responses import Response

        body = json.loads(response.model_dump_json(by_alias=True))
        for choice in body.get("choices") or []:
            entries = (choice.get("logprobs") or {}).get("content")
            raw = ret[choice["index"]]["meta_info"].get("output_token_logprobs") or []
            if not isinstance(entries, list):
                continue
            # one entry per output token, in order: entry k is (logprob, id, text) k
            for entry, (_logprob, token_id, _text) in zip(entries, raw):
                entry["token_id"] = token_id
        return Response(content=json.dumps(body, ensure_ascii=False, separators=(",", ":")),
                        media_type="application/json")

    cls._build_chat_response = _build_chat_response


PATCHES = {"sglang.srt.entrypoints.openai.serving_chat": patch_serving_chat}
