"""Which completion ids are reasoning: the ids between the template's think markers."""
from __future__ import annotations

from dataclasses import dataclass

from conformance.checking.client_tokenizer import Tokenizer
from conformance.checking.replies import THINK_CLOSE, THINK_OPEN, Reply


@dataclass(frozen=True)
class ReasoningSpan:
    inner: int  # ids strictly between the markers
    markers: int  # marker ids present in the completion (0, 1 or 2)
    # the reasoning was never closed and the EOS ended it: the EOS stands where `</think>` would
    ended_by_eos: bool = False


def reasoning_span(tok: Tokenizer, ids: list[int], reply: Reply) -> ReasoningSpan | None:
    """The reasoning ids of a completion, or None if the markers are not single tokens (the
    span cannot be told by id). The reasoning starts after `<think>`, or at the first id when
    the prompt opened it (the template's generation prompt ends with `<think>`, or a reply whose
    reasoning field is filled holds no `<think>`); it ends before `</think>`, or at the end (cut
    by max_tokens while reasoning; the EOS that ended generation is not reasoning)."""
    open_id, close_id = tok.marker_id(THINK_OPEN), tok.marker_id(THINK_CLOSE)
    if open_id is None or close_id is None:
        return None
    end = ids.index(close_id) if close_id in ids else None
    start = ids.index(open_id) + 1 if open_id in ids[:end] else None
    eos = bool(ids) and ids[-1] in tok.eos_ids
    body = ids[:-1] if eos else ids
    if start is None and end is None:
        thinking = bool(reply.reasoning.strip())
        return ReasoningSpan(len(body) if thinking else 0, 0, thinking and eos)
    lo = start if start is not None else 0
    hi = end if end is not None else len(body)
    return ReasoningSpan(max(0, hi - lo), (start is not None) + (end is not None), end is None and eos)
