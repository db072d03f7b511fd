"""Faults in stored data: a mutator that copies a gateway SQLite store and damages chosen traces
the way a broken capture or pipeline would. `tokconf trace` must detect each one (tests/trace/).

Targets are `session/turn` labels, in the order `tokconf trace` reads a session (call time).
"""
from __future__ import annotations

import copy
import json
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from conformance.checking.client_tokenizer import Tokenizer

# ChatML with a default system prompt: the kind of template a pipeline renders with by mistake
OTHER_TEMPLATE = ("{%- if messages[0].role != 'system' %}<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
                  "{%- endif %}{%- for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{%- endfor %}"
                  "{%- if add_generation_prompt %}<|im_start|>assistant\n{%- endif %}")

Records = dict[str, dict[str, Any]]  # label -> record (the gateway's TraceRecord as a dict)


@dataclass(frozen=True)
class StoreFault:
    name: str
    description: str
    target: str  # the label of the trace it damages
    apply: Callable[[Records, Tokenizer], dict[str, dict[str, Any]]]  # label -> new record
    detected_by: tuple[str, ...]  # the checks that must fail
    also: tuple[str, ...] = ()  # other traces the fault makes fail (the donor a copy now duplicates)


def _split_token(tok: Tokenizer, ids: list[int]) -> tuple[int, list[int]] | None:
    """The first id whose token splits into two vocabulary tokens that spell the same bytes."""
    vocab = tok.hf.get_vocab()
    for pos, token_id in enumerate(ids):
        piece = tok.hf.convert_ids_to_tokens(token_id)
        if not isinstance(piece, str) or token_id in tok.special_ids:
            continue
        for cut in range(1, len(piece)):
            left, right = piece[:cut], piece[cut:]
            if left in vocab and right in vocab:
                return pos, [vocab[left], vocab[right]]
    return None


def ids_shifted(records: Records, tok: Tokenizer, target: str) -> dict:
    rec = copy.deepcopy(records[target])
    ids = rec["completion_token_ids"]
    rec["completion_token_ids"] = rec["prompt_token_ids"][-1:] + ids[:-1]  # one position late
    return {target: rec}


def retokenized(records: Records, tok: Tokenizer, target: str) -> dict:
    """Turn k's completion re-tokenized: the same text in other tokens, everything else kept consistent."""
    rec = copy.deepcopy(records[target])
    ids = rec["completion_token_ids"]
    found = _split_token(tok, ids)
    if found is None:
        raise ValueError(f"{target}: no completion token splits into two vocabulary tokens")
    pos, pair = found
    new = ids[:pos] + pair + ids[pos + 1:]
    assert tok.decode(new, skip_special_tokens=False) == tok.decode(ids, skip_special_tokens=False)
    rec["completion_token_ids"] = new
    if rec.get("logprobs"):
        rec["logprobs"] = rec["logprobs"][:pos + 1] + rec["logprobs"][pos:]
    if "completion" in (rec.get("token_counts") or {}):
        rec["token_counts"]["completion"] = len(new)
    raw = rec.get("raw_response")
    if isinstance(raw, dict) and raw.get("choices"):
        raw["choices"][0]["token_ids"] = new
        raw.get("usage", {})["completion_tokens"] = len(new)
    return {target: rec}


def logprobs_short(records: Records, tok: Tokenizer, target: str) -> dict:
    rec = copy.deepcopy(records[target])
    rec["logprobs"] = rec["logprobs"][:-1]
    return {target: rec}


def spliced(records: Records, tok: Tokenizer, target: str, donor: str) -> dict:
    """Another session's trace stored in place of this session's turn (it keeps its own session_id)."""
    rec = copy.deepcopy(records[donor])
    rec["trace_id"] = records[target]["trace_id"]
    rec["timestamp"] = records[target]["timestamp"]
    return {target: rec}


def choice1_as_choice0(records: Records, tok: Tokenizer, target: str) -> dict:
    rec = copy.deepcopy(records[target])
    second = next(c for c in rec["raw_response"]["choices"] if c.get("index") == 1)
    rec["completion_token_ids"] = list(second["token_ids"])
    rec["response_message"] = copy.deepcopy(second["message"])
    rec["finish_reason"] = second["finish_reason"]
    rec["logprobs"] = [e["logprob"] for e in second["logprobs"]["content"]]
    return {target: rec}


def _with_prompt_ids(rec: dict, ids: list[int]) -> dict:
    """The record storing other prompt ids, consistently: its count, and the raw response's copy
    and usage where it keeps one."""
    rec["prompt_token_ids"] = ids
    rec["token_counts"]["prompt"] = len(ids)
    if isinstance(rec.get("raw_response"), dict):
        rec["raw_response"]["prompt_token_ids"] = ids
        rec["raw_response"].get("usage", {})["prompt_tokens"] = len(ids)
    return rec


def other_template(records: Records, tok: Tokenizer, target: str) -> dict:
    rec = copy.deepcopy(records[target])
    text = tok.hf.apply_chat_template(rec["messages"], chat_template=OTHER_TEMPLATE, add_generation_prompt=True,
                                      tokenize=False)
    return {target: _with_prompt_ids(rec, tok.hf.encode(text, add_special_tokens=False))}


def stream_cut(records: Records, tok: Tokenizer, target: str) -> dict:
    """A stream the client left halfway: the gateway stores what arrived, with no finish reason."""
    rec = copy.deepcopy(records[target])
    keep = len(rec["completion_token_ids"]) // 2
    rec["completion_token_ids"] = rec["completion_token_ids"][:keep]
    rec["logprobs"] = rec["logprobs"][:keep]
    rec["response_message"]["content"] = tok.decode(rec["completion_token_ids"])
    rec["finish_reason"] = None
    rec["token_counts"] = {}  # the usage chunk comes last: never received
    return {target: rec}


def logprob_set(records: Records, tok: Tokenizer, target: str, value: float) -> dict:
    """One stored logprob replaced: a probability (> 0) or NaN where a log-probability belongs."""
    rec = copy.deepcopy(records[target])
    rec["logprobs"][1] = value
    return {target: rec}


def stored_twice(records: Records, tok: Tokenizer, target: str, first: str) -> dict:
    """The response of `first` written again (a retried write): a new trace id, the rest the same."""
    rec = copy.deepcopy(records[first])
    rec["trace_id"] = records[target]["trace_id"]
    return {target: rec}


def other_model(records: Records, tok: Tokenizer, target: str) -> dict:
    """A record answered by another model than the request named (a router's fallback)."""
    rec = copy.deepcopy(records[target])
    rec["model"] = "tiny-chat-fallback"
    if isinstance(rec.get("raw_response"), dict):
        rec["raw_response"]["model"] = "tiny-chat-fallback"
    return {target: rec}


def newline_after_eos_dropped(records: Records, tok: Tokenizer, target: str, previous: str) -> dict:
    """The client built this turn's prompt as the earlier prompt + completion ids + the new
    messages, without the "\n" the template puts after the end-of-turn token (verl #3720)."""
    rec = copy.deepcopy(records[target])
    before = records[previous]
    at = len(before["prompt_token_ids"]) + len(before["completion_token_ids"])
    ids = rec["prompt_token_ids"]
    if ids[at - 1] not in tok.eos_ids or tok.decode(ids[at:at + 1], skip_special_tokens=False) != "\n":
        raise ValueError(f"{target}: no '\\n' after the end of {previous}'s turn")
    return {target: _with_prompt_ids(rec, ids[:at] + ids[at + 1:])}


def aborted(records: Records, tok: Tokenizer, target: str) -> dict:
    """A generation aborted in flight (miles #2589: a weight-version publish aborted every
    request): the engine returns the partial reply with finish_reason "abort", and it is stored."""
    rec = copy.deepcopy(records[target])
    keep = len(rec["completion_token_ids"]) // 2
    rec["completion_token_ids"] = rec["completion_token_ids"][:keep]
    rec["logprobs"] = rec["logprobs"][:keep]
    rec["response_message"]["content"] = tok.decode(rec["completion_token_ids"])
    rec["finish_reason"] = "abort"
    rec["token_counts"]["completion"] = keep
    raw = rec["raw_response"]
    raw["choices"][0].update(token_ids=rec["completion_token_ids"], finish_reason="abort",
                             message=rec["response_message"])
    raw["usage"]["completion_tokens"] = keep
    return {target: rec}


def fault_catalogue() -> list[StoreFault]:
    """The faults, aimed at traces of tests/trace/data/gateway-vllm.sqlite that pass clean."""
    return [
        StoreFault("ids-shifted", "completion ids stored one position late", "hello/0",
                   lambda r, t: ids_shifted(r, t, "hello/0"), ("trace.decode", "trace.finish", "trace.raw")),
        StoreFault("retokenized", "a turn's completion re-tokenized (same text, other tokens; counts kept consistent)",
                   "french/1", lambda r, t: retokenized(r, t, "french/1"), ("session.prefix",)),
        StoreFault("logprobs-short", "one logprob short of the completion ids", "haiku/0",
                   lambda r, t: logprobs_short(r, t, "haiku/0"), ("trace.counts",)),
        StoreFault("spliced", "a trace of another session stored as this session's turn", "french/1",
                   lambda r, t: spliced(r, t, "french/1", "haiku/1"), ("trace.session", "session.prefix", "trace.duplicate"),
                   also=("haiku/1",)),
        StoreFault("choice1-as-choice0", "the second choice of an n=2 response stored as the first", "random-n2/0",
                   lambda r, t: choice1_as_choice0(r, t, "random-n2/0"), ("trace.raw",)),
        StoreFault("other-template", "the prompt ids rendered with another chat template", "flower_emoji/0",
                   lambda r, t: other_template(r, t, "flower_emoji/0"), ("trace.prompt", "session.prefix")),
        StoreFault("stream-cut", "a stream stored halfway without a finish reason (client disconnect)", "haiku-stream/0",
                   lambda r, t: stream_cut(r, t, "haiku-stream/0"), ("trace.complete",)),
        StoreFault("logprob-positive", "a probability stored where a log-probability belongs", "capital_tools/0",
                   lambda r, t: logprob_set(r, t, "capital_tools/0", 0.7), ("trace.logprobs",)),
        StoreFault("logprob-nan", "a NaN stored as a logprob", "capital_tools-stream/0",
                   lambda r, t: logprob_set(r, t, "capital_tools-stream/0", float("nan")), ("trace.logprobs",)),
        StoreFault("stored-twice", "a response written twice under two trace ids", "french-stream/2",
                   lambda r, t: stored_twice(r, t, "french-stream/2", "french-stream/1"), ("trace.duplicate",)),
        StoreFault("newline-after-eos-dropped", "a later turn's prompt ids built without the newline after the "
                   "end-of-turn token", "haiku/1", lambda r, t: newline_after_eos_dropped(r, t, "haiku/1", "haiku/0"),
                   ("trace.prompt",)),
        StoreFault("aborted", "a generation aborted in flight stored as a turn (finish_reason abort)", "weather_followup/0",
                   lambda r, t: aborted(r, t, "weather_followup/0"), ("trace.complete",)),
        StoreFault("other-model", "a record answered by another model than the request named", "count_stop/0",
                   lambda r, t: other_model(r, t, "count_stop/0"), ("trace.model",)),
    ]


def read_store(path: Path) -> Records:
    """Every trace of a (small) gateway store by label, sessions in call order."""
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute("SELECT ts.session_id, t.data FROM trace_sessions ts JOIN traces t ON "
                            "t.trace_id = ts.trace_id ORDER BY ts.session_id, json_extract(t.data, '$.timestamp')")
        out: Records = {}
        turns: dict[str, int] = {}
        for sid, data in rows:
            n = turns.get(sid, 0)
            turns[sid] = n + 1
            out[f"{sid}/{n}"] = json.loads(data)
        return out
    finally:
        conn.close()


def write_faulty_store(clean: Path, out: Path, fault: StoreFault, tok: Tokenizer) -> Path:
    """A copy of `clean` with the fault applied (the records keep their trace ids and filing)."""
    records = read_store(clean)
    changed = fault.apply(records, tok)
    shutil.copyfile(clean, out)
    conn = sqlite3.connect(out)
    try:
        for label, rec in changed.items():
            trace_id = records[label]["trace_id"]
            conn.execute("UPDATE traces SET data = ? WHERE trace_id = ?", (json.dumps(rec), trace_id))
        conn.commit()
    finally:
        conn.close()
    return out
