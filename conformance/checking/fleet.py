"""What the cross-worker check reads: one request sent once to each worker of a fleet.

A fleet is a router in front of N workers (`--fleet-size N`). With round-robin routing, N
requests sent one at a time, back to back, reach N different workers; the checks run one at a
time after every concurrent phase is over, so nothing else is in flight between them. A
cache-aware router sends identical requests to one worker and defeats this: route round robin.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from conformance.checking.id_sequences import require_id_list
from conformance.inputs.cases import Case
from conformance.wire.exchange import Exchange
from conformance.checking.dialect_replies import reply_of, stream_reply_of


def fleet_variants(dialect, case: Case) -> list[str]:
    """The greedy requests with ids the catalogue sends for the case, in this dialect."""
    out = ["nonstream"]
    if dialect.has("ids.stream"):
        out += ["stream"] + (["stream_notools"] if case.tools else [])
    if dialect.has("logprobs"):
        out.append("logprobs_nonstream")
        if dialect.has("ids.stream"):
            out.append("logprobs_stream")
    if dialect.shape != "chat" or dialect.sends_prompt:
        return out  # the client renders every prompt: no server-built follow-up to send
    if case.followup:
        out.append("next_turn")
    if dialect.has("token_in"):
        out.append("token_in")
    return out


def repeats(target, case: Case, variant: str) -> list[Exchange]:
    """The (case, variant) request sent `target.fleet_size` more times (attempts 1..N), one at a
    time. A follow-up is built once, on attempt 0's reply, so every worker gets the same body."""
    spec = target.request(case, variant)
    return [target.store.get(replace(spec, attempt=k, label=f"{spec.label}#{k}"))
            for k in range(1, target.fleet_size + 1)]


@dataclass(frozen=True)
class ReplyIds:
    prompt: list[int]
    completion: list[int]
    text: str


def reply_ids(target, ex: Exchange, what: str) -> ReplyIds:
    """Prompt ids, completion ids and text of a 2xx reply, stream or not (choice 0)."""
    d, vocab = target.dialect, target.tokenizer.vocab_size
    ex = ex.ok()
    if ex.is_stream_request:
        chunks = ex.stream.chunks
        found = d.stream_ids(chunks, request=ex.request)
        prompt = found.prompt[0][1] if found.prompt else None
        return ReplyIds(require_id_list(prompt, f"{what} prompt ids", vocab),
                        require_id_list(found.concatenated(), f"{what} completion ids", vocab),
                        stream_reply_of(d, chunks).as_text())
    body = ex.json
    return ReplyIds(require_id_list(d.prompt_ids(body, request=ex.request), f"{what} prompt ids", vocab),
                    require_id_list(d.completion_ids(body), f"{what} completion ids", vocab),
                    reply_of(d, body).as_text())
