"""Checks over stored traces: pure functions of the trace(s), the client tokenizer and the
mapping; no I/O. A check returns (PASS, optionally saying what it compared), raises Fail,
Inconclusive, or NotApplicable (SKIP: the store lacks what the check reads).

Per trace: trace.decode, trace.prompt, trace.counts, trace.finish, trace.choices, trace.raw,
trace.session; trace.complete, trace.logprobs, trace.model, trace.duplicate (record_checks.py,
the last one against every earlier record of the store). Per pair of turns of one session:
session.prefix (TITO).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable

from conformance.dialects import DEFAULT_REASONING_FIELDS
from conformance.checking.verdicts import Fail, Inconclusive
from conformance.checking.client_tokenizer import Tokenizer
from conformance.checking.drift import continuation, prefix_break
from conformance.checking.eos import ends_with_eos, require_declared_eos_end
from conformance.checking.id_sequences import (describe_divergence, divergence_evidence, first_divergence,
                                               require_id_list)
from conformance.checking.replies import Reply, ToolCall, check_decoded_matches, tool_family
from conformance.checking.tool_call_text import calls_in_text
from conformance.inputs.tool_markup import Family, load as load_markup
from conformance.dialects.paths import MISSING
from conformance.trace.mapping import Mapping
from conformance.trace.model import Trace


class NotApplicable(Exception):
    """The store does not hold what the check reads: SKIP, with the reason."""


@dataclass(frozen=True)
class TraceCheck:
    id: str
    description: str
    fn: Callable[..., str | None]
    pair: bool = False  # reads two turns of a session (previous, current)
    store: bool = False  # reads what earlier records of the whole store were (record_checks.Seen)


TRACE_CHECKS: dict[str, TraceCheck] = {}


def trace_check(check_id: str, pair: bool = False, store: bool = False):
    def decorate(fn):
        TRACE_CHECKS[check_id] = TraceCheck(check_id, (fn.__doc__ or "").strip(), fn, pair, store)
        return fn
    return decorate


def _need(trace: Trace, name: str, why: str) -> Any:
    if not trace.has(name):
        raise NotApplicable(f"the record has no {name} ({why})")
    return trace.get(name)


def _ids(trace: Trace, name: str, tok: Tokenizer) -> list[int]:
    value = trace.get(name)
    if value is MISSING:
        raise Fail(f"the record has no {name}")
    return require_id_list(value, f"stored {name}", tok.vocab_size)


def _compared(compared: list[str], nothing: str) -> str:
    """The PASS note naming the fields compared; SKIP (`nothing` says why) when there were none."""
    if not compared:
        raise NotApplicable(nothing)
    return "compared " + ", ".join(compared)


def stop_strings(trace: Trace) -> list[str]:
    stop = trace.get("stop")
    if stop in (MISSING, None):
        return []
    return [stop] if isinstance(stop, str) else [s for s in stop if isinstance(s, str)]


def stored_reply(message: Any, finish_reason: Any) -> Reply:
    """The reply a stored assistant message holds. Tool calls are whole (non-stream) or stream
    fragments as the gateway keeps them ({index, function: {name?, arguments piece}}): fragments
    with the same index are joined, as a client joins deltas."""
    if not isinstance(message, dict):
        raise Fail(f"the stored response message is a {type(message).__name__}, not an object")
    calls: dict[int, dict[str, str]] = {}
    for n, tc in enumerate(message.get("tool_calls") or []):
        if not isinstance(tc, dict):
            raise Fail(f"stored tool call {n} is not an object: {tc!r}")
        slot = calls.setdefault(tc["index"] if isinstance(tc.get("index"), int) else 10_000 + n,
                                {"name": "", "arguments": ""})
        fn = tc.get("function") or {}
        slot["name"] += fn.get("name") or ""
        args = fn.get("arguments")
        slot["arguments"] += args if isinstance(args, str) else (json.dumps(args) if args is not None else "")
    content = message.get("content")
    key = _reasoning(message)
    return Reply(content if isinstance(content, str) else "",
                 [ToolCall.from_wire(calls[k]["name"], calls[k]["arguments"]) for k in sorted(calls)],
                 finish_reason if isinstance(finish_reason, str) else None,
                 reasoning=message[key] if key else "")


def reply_key(reply: Reply) -> str:
    """What identifies a reply when an agent sends it back: content (trimmed) and tool calls."""
    return Reply(reply.content.strip(), reply.tool_calls).as_text()


def _reasoning(message: Any) -> str | None:
    if isinstance(message, dict):
        for key in DEFAULT_REASONING_FIELDS:  # where engines put it (the dialects' default)
            if isinstance(message.get(key), str) and message[key]:
                return key
    return None


@trace_check("trace.decode")
def check_decode(trace: Trace, tok: Tokenizer, mapping: Mapping) -> str | None:
    """The stored completion ids decode to the stored response message: the reply rule of
    `verify` (EOS and special tokens skipped, a matched stop string kept by the ids, tool-call
    markup compared with the parsed tool calls, a mid-character length cut)."""
    message = _need(trace, "message", "nothing to decode against")
    ids = _ids(trace, "completion_ids", tok)
    reply = stored_reply(message, trace.get("finish_reason"))  # reasoning included: the ids cover it
    decoded = tok.decode(ids)
    family = None if reply.tool_calls else _malformed_tool_markup(tok, decoded)
    if family is not None:
        raise Inconclusive(f"the model wrote {family.name} tool-call markup that does not parse (an unclosed or "
                           f"malformed {family.call_marker} call): what a tool parser makes of it is not the id "
                           "contract", decoded=decoded, content=reply.content)
    check_decoded_matches(tok, ids, reply, stop_strings(trace), "stored trace")
    return None


def _malformed_tool_markup(tok: Tokenizer, decoded: str) -> Family | None:
    """The chat template's family when it opens more calls in the text than its grammar reads (or
    it has no grammar): markup a tool parser may have taken or left as content. The template is
    only read when some family's call marker is in the text (a hub tokenizer loads it late)."""
    if not any(f.call_marker and f.call_marker in decoded for f in load_markup().families):
        return None
    family = tool_family(tok)
    opened = decoded.count(family.call_marker) if family is not None and family.call_marker else 0
    if not opened:
        return None
    split = calls_in_text(family, decoded) if family.forms else None
    return family if split is None or len(split[1]) < opened else None


@trace_check("trace.prompt")
def check_prompt(trace: Trace, tok: Tokenizer, mapping: Mapping) -> str | None:
    """The stored prompt ids equal the client's chat template of the stored messages and tools
    (apply_chat_template(..., add_generation_prompt=True)) and decode to the text it renders."""
    messages = _need(trace, "messages", "nothing to render the template from")
    if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
        raise Fail("the stored messages are not a list of message objects")
    tools = trace.get("tools") if trace.has("tools") else None
    server = _ids(trace, "prompt_ids", tok)
    try:
        client = tok.prompt_ids(messages, tools)
    except Exception as exc:  # a template error on stored messages: the data, not tokconf, is at odds
        raise Inconclusive(f"the client template cannot render the stored messages: {exc}") from exc
    if server == client:
        return None
    if tools:
        _unless_tool_keys_sorted(tok, messages, tools, server)
    rendered = tok.render_prompt(messages, tools)
    evidence = divergence_evidence(tok, "stored prompt ids", server, "client template ids", client)  # only on failure: it decodes every id
    text = tok.decode(server, skip_special_tokens=False)
    if text != rendered:
        at = first_divergence(list(text), list(rendered)) or 0
        raise Fail(f"the stored prompt ids decode to another text than the client template renders from the stored "
                   f"messages, at character {at} after {text[max(0, at - 30):at]!r}: stored {text[at:at + 30]!r}, "
                   f"template {rendered[at:at + 30]!r}", stored_text=text, client_text=rendered, **evidence)
    raise Fail("same text, different tokens: " + describe_divergence(tok, "stored prompt ids", server,
                                                                    "client template ids", client), **evidence)


def _sorted_keys(value: Any) -> Any:
    """The value with every object's keys in sorted order, at every depth."""
    if isinstance(value, dict):
        return {k: _sorted_keys(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted_keys(v) for v in value]
    return value


def _objects(value: Any) -> list[dict]:
    """Every object in the value, at every depth."""
    if isinstance(value, dict):
        return [value, *(o for v in value.values() for o in _objects(v))]
    if isinstance(value, list):
        return [o for v in value for o in _objects(v)]
    return []


def _unless_tool_keys_sorted(tok: Tokenizer, messages: list, tools: Any, server: list[int]) -> None:
    """Inconclusive when the stored tools lost the key order the template renders (a JSON column
    that normalizes objects, as Postgres jsonb does, sorts the keys of each tool schema): the
    template (`tool | tojson`) writes keys in the order given, so the ids cannot be re-rendered.
    Told by the ids (the render of the tools with sorted keys is the stored prompt), or by the
    tools themselves (every object's keys sorted, in several objects: not chance, and the stored
    prompt's text holds the very characters of the re-render, only in another order)."""
    lost = "the store lost the key order of the tool schemas the template renders (a JSON column that sorts keys)"
    try:
        if tok.prompt_ids(messages, _sorted_keys(tools)) == server:
            raise Inconclusive(f"the stored prompt ids are the template's render of the tools with their keys sorted: "
                               f"{lost}; the prompt cannot be compared as sent")
    except Inconclusive:
        raise
    except Exception:  # a template error on the sorted tools: no evidence either way
        pass
    ordered = [o for o in _objects(tools) if len(o) > 1]
    if len(ordered) < 2 or not all(list(o) == sorted(o) for o in ordered):
        return
    # a reordering of keys moves characters, it adds or drops none: any other difference is a finding
    text, rendered = tok.decode(server, skip_special_tokens=False), tok.render_prompt(messages, tools)
    if text != rendered and sorted(text) == sorted(rendered):
        raise Inconclusive(f"the stored tools have the keys of every object in sorted order ({len(ordered)} objects): "
                           f"{lost}; the prompt cannot be re-rendered as sent, the prompt ids not compared")


def _logprob_values(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise Fail(f"the stored logprobs are a {type(value).__name__}, not a list")
    return [e.get("logprob") if isinstance(e, dict) else e for e in value]


@trace_check("trace.counts")
def check_counts(trace: Trace, tok: Tokenizer, mapping: Mapping) -> str | None:
    """The stored counts agree with the stored ids: prompt and completion token counts (usage)
    equal the id list lengths, and there is one logprob per completion id, none null."""
    prompt = require_id_list(trace.get("prompt_ids"), "stored prompt_ids", None)
    completion = require_id_list(trace.get("completion_ids"), "stored completion_ids", None)
    compared = []
    for name, ids in (("prompt_count", prompt), ("completion_count", completion)):
        if trace.has(name):
            count = trace.get(name)
            if count != len(ids):
                raise Fail(f"the stored {name} is {count!r} for {len(ids)} stored {name.split('_')[0]} ids",
                           count=count, ids=len(ids))
            compared.append(name)
    if trace.has("logprobs"):
        values = _logprob_values(trace.get("logprobs"))
        if len(values) != len(completion):
            raise Fail(f"{len(values)} stored logprobs for {len(completion)} completion ids: the logprobs no longer line "
                       "up with the ids they score", logprobs=len(values), ids=len(completion))
        bad = [i for i, v in enumerate(values) if isinstance(v, bool) or not isinstance(v, (int, float))]
        if bad:
            raise Fail(f"stored logprobs at {bad[:10]} are not numbers", values=[values[i] for i in bad[:10]])
        compared.append("logprobs")
    return _compared(compared, "the record stores no token counts and no logprobs")


@trace_check("trace.finish")
def check_finish(trace: Trace, tok: Tokenizer, mapping: Mapping) -> str | None:
    """The finish reason agrees with the ids: a reply that stopped at the EOS (stop, tool_calls,
    no stop string) ends with the EOS id (or without it, as the mapping declares), an EOS never
    sits inside the ids, and a reply cut by max_tokens has no EOS, no stop string and no more ids
    than max_tokens."""
    finish = _need(trace, "finish_reason", "nothing to compare the ids with")
    ids = _ids(trace, "completion_ids", tok)
    ends = ends_with_eos(tok, ids)
    if finish == "length":
        if ends:
            raise Fail("finish_reason length but the last completion id is the EOS", ids=ids)
        reached = [s for s in stop_strings(trace) if s in tok.decode(ids)]
        if reached:
            raise Fail(f"finish_reason length, but the ids complete the stop string {reached[0]!r}: a stop reached "
                       "inside the max_tokens budget ends the reply with finish_reason stop", ids=ids[-10:])
        limit = trace.get("max_tokens")
        if isinstance(limit, int) and len(ids) > limit:
            raise Fail(f"finish_reason length with max_tokens {limit} but {len(ids)} completion ids", ids=ids)
        return None
    if finish not in ("stop", "tool_calls"):
        raise Inconclusive(f"finish_reason {finish!r}: no rule ties it to the ids")
    stops = stop_strings(trace)
    if not ends and stops:
        decoded = tok.decode(ids)
        if any(s in decoded for s in stops):
            return "a stop string ended the reply"
        raise Fail(f"finish_reason {finish} without an EOS at the end, and the ids hold none of the stop strings {stops}",
                   ids=ids[-10:])
    require_declared_eos_end(tok, ids, finish, mapping.eos_in_completion_ids, "the mapping")
    return None


@trace_check("trace.choices")
def check_choices(trace: Trace, tok: Tokenizer, mapping: Mapping) -> str | None:
    """A request that asked for n > 1 choices has every choice's ids in the store; a record that
    holds one choice of several loses the others (and with them the samples training reads)."""
    n = trace.get("n")
    if n in (MISSING, None) or n == 1:
        raise NotApplicable("the request asked for one choice")
    if not isinstance(n, int) or n < 1:
        raise Fail(f"the stored request's n is {n!r}")
    raw = trace.get("raw_response")
    returned = len(raw.get("choices") or []) if isinstance(raw, dict) else None
    raise Fail(f"the request asked for n={n} choices; the record holds the ids of one (choice 0)"
               + (f" while the engine returned {returned}" if returned else "")
               + ": the other choices are lost to training", n=n, engine_choices=returned)


@trace_check("trace.raw")
def check_raw(trace: Trace, tok: Tokenizer, mapping: Mapping) -> str | None:
    """When the store keeps the engine's whole response, the extracted fields (prompt ids,
    completion ids, message, finish reason) are the response's choice 0."""
    raw = trace.get("raw_response")
    if not isinstance(raw, dict) or not mapping.raw_fields:
        raise NotApplicable("the record keeps no raw response (a stream, or a store that does not keep it)")
    compared = []
    for name in ("prompt_ids", "completion_ids", "finish_reason"):
        want = mapping.raw(raw, name)
        if want is MISSING:
            continue
        got = trace.get(name)
        if got != want:
            raise Fail(f"the stored {name} is not the raw response's "
                       f"({mapping.raw_fields[name]}): stored {str(got)[:80]}, raw {str(want)[:80]}",
                       stored=got, raw=want)
        compared.append(name)
    want = mapping.raw(raw, "message")
    if want is not MISSING and trace.has("message"):
        if reply_key(stored_reply(trace.get("message"), None)) != reply_key(stored_reply(want, None)):
            raise Fail("the stored response message is not the raw response's choice 0 message",
                       stored=trace.get("message"), raw=want)
        compared.append("message")
    return _compared(compared, "the raw response holds none of the mapped fields")


@trace_check("trace.session")
def check_session(trace: Trace, tok: Tokenizer, mapping: Mapping) -> str | None:
    """A record filed under a session says it belongs to that session (a record of another
    session spliced in would be trained as part of the wrong rollout)."""
    own = trace.get("session_id")
    if trace.session_hint is None or own in (MISSING, None):
        raise NotApplicable("the store does not file records under sessions apart from the record's own field")
    if str(own) != trace.session_hint:
        raise Fail(f"the record says session {own!r} but the store files it under {trace.session_hint!r}",
                   record_session=own, filed_under=trace.session_hint)
    return None


def continues(previous: Trace, current: Trace) -> bool:
    """Whether `current`'s messages are `previous`'s messages, then an assistant message (the reply)."""
    before, now = previous.get("messages"), current.get("messages")
    if not isinstance(before, list) or not isinstance(now, list) or len(now) <= len(before):
        return False
    return now[:len(before)] == before and isinstance(now[len(before)], dict) \
        and now[len(before)].get("role") == "assistant"


def unstored_replies(previous: Trace | None, current: Trace, stored_keys: set[str]) -> list[int]:
    """Positions of assistant messages `current` was built on (after `previous`'s reply) that are
    the reply of no stored trace of the session: the turn that produced them is missing."""
    messages = current.get("messages")
    if not isinstance(messages, list) or previous is None:
        return []
    start = len(previous.get("messages")) + 1
    out = []
    for pos in range(start, len(messages)):
        m = messages[pos]
        if isinstance(m, dict) and m.get("role") == "assistant":
            try:
                key = reply_key(stored_reply(m, None))
            except Fail:
                continue
            if key not in stored_keys:
                out.append(pos)
    return out


@trace_check("session.prefix", pair=True)
def check_prefix(previous: Trace, current: Trace, tok: Tokenizer, mapping: Mapping,
                 missing_turns: list[int] = ()) -> str | None:
    """TITO across turns of one session: the turn built on an earlier turn's reply has prompt
    ids that start with that turn's prompt ids + completion ids (and the EOS when the mapping
    leaves it out), and no reply it was built on is missing from the store. On failure: where
    they part, the decoded tokens on both sides, and the drift class."""
    if missing_turns:
        raise Fail(f"{current.label} continues from assistant messages at {list(missing_turns)} that no trace of the session "
                   f"stored: the turn that produced them is missing or was replaced by another session's trace",
                   positions=list(missing_turns))
    if previous.get("finish_reason") == "length":
        raise Inconclusive(f"{previous.label} was cut by max_tokens: its completion is not a whole turn to continue from")
    prompt = _ids(previous, "prompt_ids", tok)
    completion = _ids(previous, "completion_ids", tok)
    following = _ids(current, "prompt_ids", tok)
    expected = continuation(tok, prompt, completion, mapping.eos_in_completion_ids)
    at = first_divergence(expected, following[:len(expected)])
    if at is None:
        return f"continues {previous.label}"
    family = _malformed_tool_markup(tok, tok.decode(completion))
    if family is not None:
        raise Inconclusive(f"{previous.label}'s ids hold {family.name} tool-call markup that does not parse: the reply "
                           "the tool parser returned (and the agent sent back) cannot reproduce them, so the next "
                           "prompt cannot extend them",
                           first_divergence=at)
    raise prefix_break(tok, expected, following, at, len(prompt), previous.label, current.label)


from conformance.trace import record_checks  # noqa: E402,F401 - registers its checks after these
