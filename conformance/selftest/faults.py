"""Faults: mutations of a real exchange that reproduce token-id bugs seen in real engines.

Each fault names the bug class it reproduces. Tests use them to show that every check FAILS
on the fault it exists to catch; the self-test proxy (tokconf selftest) applies them to live
traffic. A fault returns False when the exchange gives it nothing to break (so a test can
tell a fault that did not apply from one the checks missed).
"""
from __future__ import annotations

import copy
import json
from dataclasses import dataclass, replace
from typing import Any, Callable

from conformance.dialects import Dialect
from conformance.dialects.paths import MISSING, assign, remove, resolve
from conformance.wire.exchange import Exchange
from conformance.wire.sse import parse_stream
from conformance.checking.client_tokenizer import Tokenizer


@dataclass(frozen=True)
class FaultContext:
    dialect: Dialect
    tokenizer: Tokenizer
    request: dict | None = None  # the request of the exchange being mutated (set by apply_fault)


@dataclass(frozen=True)
class Fault:
    name: str
    bug_class: str
    mode: str  # "stream" or "nonstream" (200 responses), "rejection" (4xx: mutate the Exchange itself)
    mutate: Callable[[Any, FaultContext], bool]
    # "chunks": mutate(list of chunk dicts) in place; "body": mutate(raw stream body) returns the
    # new body or None (for breaking the SSE framing itself)
    level: str = "chunks"
    # the dialect stream modes the fault belongs to (empty: any); elsewhere it has nothing to break
    stream_modes: tuple[str, ...] = ()


FAULTS: dict[str, Fault] = {}


def fault(name: str, mode: str, bug_class: str, level: str = "chunks", stream_modes: tuple[str, ...] = ()):
    def register(fn):
        FAULTS[name] = Fault(name, bug_class, mode, fn, level, stream_modes)
        return fn

    return register


# -- helpers over the dialect's paths --------------------------------------------------

def _completion_chunks(chunks: list[dict], ctx: FaultContext) -> list[tuple[dict, list]]:
    """Chunks carrying completion ids where the dialect puts them (per-choice deltas, a
    trailing chunk without choices, or a native stream's cumulative lists)."""
    path = ctx.dialect.stream_completion
    out = []
    for chunk in chunks:
        value = resolve(chunk, path)
        if isinstance(value, list):
            out.append((chunk, value))
    return out


def _set_chunk_ids(chunk: dict, ids: list, ctx: FaultContext) -> None:
    assign(chunk, ctx.dialect.stream_completion, ids)


def _trailing_per_choice(chunk: dict, ctx: FaultContext) -> list | None:
    """A trailing chunk's ids of every choice, by position (SGLang's `sglext.output_ids`): the
    list itself, when `chunk` has no choices and the dialect files its ids as `...[i]`."""
    path = ctx.dialect.stream_completion or ""
    if chunk.get("choices") or not path.endswith("[i]"):
        return None
    value = resolve(chunk, path[:-3])
    return value if isinstance(value, list) else None


def _first_choice(chunk: dict) -> dict:
    return (chunk.get("choices") or [{}])[0]


def _delta_is_empty(chunk: dict, ctx) -> bool:
    delta = _first_choice(chunk).get("delta") or {}
    return not delta.get("content") and not delta.get("tool_calls") and \
        not any(delta.get(k) for k in ctx.dialect.stream_reasoning)


# -- stream faults ------------------------------------------------------------------------

def _drop_ids_where(chunks, ctx, predicate) -> bool:
    changed = False
    for chunk, ids in _completion_chunks(chunks, ctx):
        if ids and predicate(chunk):
            _set_chunk_ids(chunk, [], ctx)
            changed = True
    return changed


@fault("stream.drop_ids_on_empty_delta", "stream",
       "ids lost on chunks whose text delta is empty (detokenizer hold-back, parser buffering): vLLM #27482 before PR #29074")
def _drop_empty_delta(chunks, ctx):
    return _drop_ids_where(chunks, ctx, lambda c: bool(c.get("choices")) and _delta_is_empty(c, ctx)
                           and _first_choice(c).get("finish_reason") is None)


@fault("stream.drop_ids_on_empty_finish_chunk", "stream",
       "ids lost on a finish chunk whose text delta is empty (the last token was held back by the detokenizer)")
def _drop_empty_finish(chunks, ctx):
    return _drop_ids_where(chunks, ctx, lambda c: bool(c.get("choices")) and _delta_is_empty(c, ctx)
                           and _first_choice(c).get("finish_reason") is not None)


@fault("stream.drop_ids_on_tool_chunks", "stream", "ids of tool-call chunks dropped by the tool parser path")
def _drop_tool_chunks(chunks, ctx):
    return _drop_ids_where(chunks, ctx, lambda c: bool((_first_choice(c).get("delta") or {}).get("tool_calls")))


@fault("stream.cumulative_as_delta", "stream",
       "cumulative ids sent where deltas are declared (Dynamo PR #7642: renamed stream_output became a no-op)")
def _cumulative(chunks, ctx):
    so_far: list = []
    changed = False
    for chunk, ids in _completion_chunks(chunks, ctx):
        so_far = so_far + ids
        if len(so_far) != len(ids):
            changed = True
        _set_chunk_ids(chunk, list(so_far), ctx)
    return changed


@fault("stream.delta_as_cumulative", "stream",
       "disjoint deltas sent where cumulative ids are declared (SGLang --incremental-streaming-output on, "
       "a client reading cumulative /generate chunks; the inverse of Dynamo PR #7642)")
def _delta_as_cumulative(chunks, ctx):
    if ctx.dialect.stream_mode != "cumulative":
        return False
    changed, seen = False, 0
    for chunk, ids in _completion_chunks(chunks, ctx):
        if seen and len(ids) > seen:
            changed = True
        _set_chunk_ids(chunk, ids[seen:], ctx)
        seen = max(seen, len(ids))
    return changed


@fault("stream.keep_last_id_per_chunk", "stream",
       "a chunk that carries several ids keeps only the last one (vLLM #28635/#30099: Harmony streaming kept the last "
       "token of a step that yielded more than one)", stream_modes=("delta",))
def _keep_last_id(chunks, ctx):
    changed = False
    for chunk, ids in _completion_chunks(chunks, ctx):
        if len(ids) > 1:
            _set_chunk_ids(chunk, ids[-1:], ctx)
            changed = True
    return changed


def _shift_ids(chunks, ctx, later: bool) -> bool:
    """Every chunk's ids moved to the next (later) or the previous chunk that carries the id key,
    the stream's ids kept: deltas are moved (the first or last chunk ends up empty, the last or
    first holds two chunks' ids); cumulative lists are moved, the last chunk keeping the whole."""
    found = _completion_chunks(chunks, ctx)
    if len(found) < 2 or sum(bool(ids) for _, ids in found) < 2:
        return False
    lists = [list(ids) for _, ids in found]
    if ctx.dialect.stream_mode == "cumulative":
        moved = ([lists[0][:0]] + lists[:-2] + [lists[-1]]) if later else (lists[1:] + [lists[-1]])
    elif later:
        moved = [[]] + lists[:-2] + [lists[-2] + lists[-1]]
    else:
        moved = [lists[0] + lists[1]] + lists[2:] + [[]]
    for (chunk, _), ids in zip(found, moved):
        _set_chunk_ids(chunk, ids, ctx)
    return moved != lists


@fault("stream.ids_one_chunk_late", "stream",
       "each chunk's ids sent on the chunk after its text, the concatenation intact (an output processor pairing a "
       "step's text with the previous step's ids; SGLang 0.5.23 with a tool parser sends a content delta, then its "
       "logprob entries on the next chunk)", stream_modes=("delta", "cumulative"))
def _ids_one_chunk_late(chunks, ctx):
    return _shift_ids(chunks, ctx, later=True)


@fault("stream.ids_one_chunk_early", "stream",
       "each chunk's ids sent on the chunk before its text, the concatenation intact (the ids of a held-back step "
       "flushed one chunk too soon)", stream_modes=("delta", "cumulative"))
def _ids_one_chunk_early(chunks, ctx):
    return _shift_ids(chunks, ctx, later=False)


@fault("stream.ids_stripped", "stream",
       "a proxy rebuilds each chunk from the fields it knows and drops the ids (agent-lightning #262: LiteLLM's "
       "chunk_creator tosses token_ids)")
def _ids_stripped(chunks, ctx):
    path = ctx.dialect.stream_completion
    # a path ending in a choice index (SGLang's sglext.output_ids[i]): the proxy drops the whole list
    parent = path[:path.rindex("[")] if path.endswith("]") else None
    changed = False
    for chunk, _ in _completion_chunks(chunks, ctx):
        changed |= remove(chunk, path) or (parent is not None and remove(chunk, parent))
    return changed  # applied only where something was removed (it claimed SGLang's ids and kept them)


@fault("stream.drop_eos", "stream", "the EOS id missing from the finish chunk")
def _drop_eos_stream(chunks, ctx):
    for chunk, ids in reversed(_completion_chunks(chunks, ctx)):
        if ids and ids[-1] in ctx.tokenizer.eos_ids:
            _set_chunk_ids(chunk, ids[:-1], ctx)
            return True
    return False


@fault("stream.prompt_ids_every_chunk", "stream", "prompt ids repeated on every chunk instead of once")
def _prompt_every_chunk(chunks, ctx):
    path = ctx.dialect.stream_prompt
    prompt = next((resolve(c, path) for c in chunks if isinstance(resolve(c, path), list)), None)
    if prompt is None:
        return False
    changed = False
    for chunk in chunks:
        if chunk.get("choices") and not isinstance(resolve(chunk, path), list):
            changed |= assign(chunk, path, list(prompt))
    return changed


@fault("stream.synthetic_final_repeats_ids", "stream",
       "a synthetic end-of-stream chunk cloned from the last one repeats its ids (Dynamo scrub_synthetic_chunk_metadata)")
def _synthetic_final(chunks, ctx):
    found = _completion_chunks(chunks, ctx)
    if not found:
        return False
    last_chunk, _ = found[-1]
    clone = copy.deepcopy(last_chunk)
    if clone.get("choices"):
        clone["choices"][0]["delta"] = {}
    chunks.insert(chunks.index(last_chunk) + 1, clone)
    return True


def _put(chunk: dict, path: str, value) -> bool:
    """assign(), creating missing parent objects of a plain dotted path (`nvext` absent on a chunk)."""
    if assign(chunk, path, value):
        return True
    if "[" in path:
        return False
    *parents, last = path.split(".")
    node = chunk
    for key in parents:
        node = node.setdefault(key, {})
        if not isinstance(node, dict):
            return False
    node[last] = value
    return True


def _finish_chunk(chunks) -> dict | None:
    return next((c for c in chunks if any(ch.get("finish_reason") is not None for ch in c.get("choices") or [])), None)


@fault("stream.final_ids_dropped", "stream",
       "the accumulated ids never attached to the finish chunk (the final-chunk gate never fires)",
       stream_modes=("final",))
def _final_ids_dropped(chunks, ctx):
    finish = _finish_chunk(chunks)
    return finish is not None and isinstance(resolve(finish, ctx.dialect.stream_completion), list) \
        and remove(finish, ctx.dialect.stream_completion)


@fault("stream.final_ids_every_chunk", "stream",
       "the accumulated ids attached to every chunk, not only the final one (the finish gate lost)",
       stream_modes=("final",))
def _final_ids_every_chunk(chunks, ctx):
    finish = _finish_chunk(chunks)
    ids = resolve(finish, ctx.dialect.stream_completion) if finish is not None else MISSING
    if not isinstance(ids, list):
        return False
    changed = False
    for chunk in chunks:
        if chunk.get("choices") and chunk is not finish:
            changed |= _put(chunk, ctx.dialect.stream_completion, list(ids))
    return changed


@fault("stream.final_ids_before_finish", "stream",
       "the accumulated ids sent on the last content chunk; the finish chunk goes out without them",
       stream_modes=("final",))
def _final_ids_before_finish(chunks, ctx):
    finish = _finish_chunk(chunks)
    path = ctx.dialect.stream_completion
    ids = resolve(finish, path) if finish is not None else MISSING
    before = [c for c in chunks[:chunks.index(finish)] if c.get("choices")] if finish is not None else []
    if not isinstance(ids, list) or not ids or not before:
        return False
    remove(finish, path)
    return _put(before[-1], path, list(ids))


@fault("stream.null_for_absent_ids", "stream",
       "a chunk without ids serializes the id keys as null instead of dropping them (a serializer without "
       "exclude_none; a patch that sets the key to None on every chunk)")
def _null_for_absent_ids(chunks, ctx):
    if ctx.dialect.unset_keys != "omitted":
        return False  # a dialect that sends null for unset keys (vLLM): a null is its own, not a fault
    changed = False
    for chunk in chunks:
        if not chunk.get("choices"):
            continue
        for path in (ctx.dialect.stream_prompt, ctx.dialect.stream_completion):
            if path and "[*]" not in path and not path.startswith("$") and resolve(chunk, path) is MISSING:
                changed |= assign(chunk, path, None)
    return changed


@fault("stream.prompt_ids_missing", "stream", "prompt ids never sent on the stream")
def _stream_prompt_missing(chunks, ctx):
    changed = False
    for chunk in chunks:
        changed |= remove(chunk, ctx.dialect.stream_prompt)
    return changed


@fault("stream.chunk_id_changes", "stream",
       "chunks of one stream under different ids (SGLang n>1: a finish chunk sent under another choice's id; "
       "a gateway that splices two upstream streams)")
def _chunk_id_changes(chunks, ctx):
    found = _completion_chunks(chunks, ctx)
    if len(found) < 2:
        return False
    chunk, _ = found[len(found) // 2]
    chunk["id"] = f"{chunk.get('id')}-other"
    return True


@fault("stream.choice_index_shifted", "stream",
       "a chunk's choice index points at a choice that was not asked for, so its ids land on the wrong choice")
def _choice_index_shifted(chunks, ctx):
    found = [(c, ids) for c, ids in _completion_chunks(chunks, ctx) if ids]
    if not found:
        return False
    chunk, _ = found[len(found) // 2]
    per_choice = _trailing_per_choice(chunk, ctx)
    if per_choice is not None:  # a trailing chunk: choice 0's ids filed under index 1
        per_choice.insert(0, [])
        return True
    chunk["choices"][0]["index"] = 1
    return True


@fault("stream.negative_pad_id", "stream", "a -1 padding / sentinel id leaked into the finish chunk's ids")
def _negative_pad(chunks, ctx):
    found = _completion_chunks(chunks, ctx)
    if not found:
        return False
    chunk, ids = found[-1]
    _set_chunk_ids(chunk, [*ids, -1], ctx)
    return True


@fault("stream.cut_before_done", "stream",
       "the stream cut short: the connection closes before the finish chunk and `data: [DONE]` "
       "(engine crash, proxy timeout)", level="body")
def _cut_before_done(body, ctx):
    events = [e for e in body.split("\n\n") if e.strip()]
    if len(events) < 3 or not events[-1].strip().endswith("[DONE]"):
        return None
    return "\n\n".join(events[:-2]) + "\n\n"


@fault("stream.broken_data_line", "stream",
       "a `data:` line broken in two mid-JSON (a buffering proxy that re-frames the stream)", level="body")
def _broken_data_line(body, ctx):
    events = [e for e in body.split("\n\n") if e.strip()]
    if len(events) < 3:
        return None
    mid = events[len(events) // 2]
    cut = len(mid) // 2
    events[len(events) // 2] = mid[:cut] + "\n" + mid[cut:]
    return "\n\n".join(events) + "\n\n"


# -- non-stream faults --------------------------------------------------------------------

def _ns_ids(body, ctx) -> list | None:
    value = resolve(body, ctx.dialect.nonstream_completion)
    return value if isinstance(value, list) else None


def _rewrite_ns_ids(body, ctx, rewrite) -> bool:
    """Replace non-empty completion ids with `rewrite(ids)`; False when there are none to rewrite."""
    ids = _ns_ids(body, ctx)
    return bool(ids) and assign(body, ctx.dialect.nonstream_completion, rewrite(ids))


@fault("nonstream.drop_eos", "nonstream", "the EOS id missing from the completion ids")
def _drop_eos_ns(body, ctx):
    ids = _ns_ids(body, ctx)
    if not ids or ids[-1] not in ctx.tokenizer.eos_ids:
        return False
    return assign(body, ctx.dialect.nonstream_completion, ids[:-1])


@fault("nonstream.null_completion_ids", "nonstream",
       "completion ids null although requested (vLLM #28246: reasoning parser path returned token_ids null)")
def _null_ids(body, ctx):
    return _ns_ids(body, ctx) is not None and assign(body, ctx.dialect.nonstream_completion, None)


@fault("nonstream.prompt_tail_in_completion", "nonstream",
       "the completion ids start with the prompt's last ids (sglang #17240: the detokenizer's decode_ids, which carry "
       "prompt context for incremental decoding, returned as output_ids); the text is right")
def _prompt_tail(body, ctx):
    prompt = resolve(body, ctx.dialect.nonstream_prompt)
    tail = prompt[-3:] if isinstance(prompt, list) else None
    return bool(tail) and _rewrite_ns_ids(body, ctx, lambda ids: tail + ids)


@fault("nonstream.string_ids", "nonstream", "ids serialized as strings")
def _string_ids(body, ctx):
    return _rewrite_ns_ids(body, ctx, lambda ids: [str(i) for i in ids])


@fault("nonstream.out_of_vocab", "nonstream", "an id outside the tokenizer's vocabulary (wrong tokenizer / offset)")
def _out_of_vocab(body, ctx):
    return _rewrite_ns_ids(body, ctx, lambda ids: [ids[0] + ctx.tokenizer.vocab_size, *ids[1:]])


@fault("nonstream.retokenized_completion", "nonstream",
       "completion ids re-tokenized from the detokenized text instead of the sampled ids (TRL #5224 drift class)")
def _retokenized(body, ctx):
    ids = _ns_ids(body, ctx)
    if ids is None:
        return False
    choice = (body.get("choices") or [{}])[0]
    text = (choice.get("message") or {}).get("content") or ""
    new = ctx.tokenizer.hf.encode(text, add_special_tokens=False)
    return new != ids and assign(body, ctx.dialect.nonstream_completion, new)


@fault("nonstream.drop_last_text_token", "nonstream", "off by one: the last generated text token missing")
def _drop_last_text(body, ctx):
    ids = _ns_ids(body, ctx)
    if not ids or len(ids) < 2:
        return False
    cut = len(ids) - 2 if ids[-1] in ctx.tokenizer.eos_ids else len(ids) - 1
    return assign(body, ctx.dialect.nonstream_completion, ids[:cut] + ids[cut + 1:])


@fault("nonstream.float_ids", "nonstream", "ids serialized as floats (an encoder that went through float64)")
def _float_ids(body, ctx):
    return _rewrite_ns_ids(body, ctx, lambda ids: [float(i) for i in ids])


@fault("nonstream.usage_off_by_one", "nonstream", "usage.completion_tokens counts one token more than the ids")
def _usage_off(body, ctx):
    usage = resolve(body, ctx.dialect.nonstream_usage)
    if not isinstance(usage, dict) or "completion_tokens" not in usage:
        return False
    usage["completion_tokens"] += 1
    return True


def _reasoning_tokens_off(usage) -> bool:
    details = usage.get("completion_tokens_details") if isinstance(usage, dict) else None
    if not isinstance(details, dict) or not isinstance(details.get("reasoning_tokens"), int):
        return False
    wrong = usage.get("completion_tokens")  # the whole completion counted as reasoning
    details["reasoning_tokens"] = wrong if isinstance(wrong, int) and wrong != details["reasoning_tokens"] \
        else details["reasoning_tokens"] + 1
    return True


@fault("stream.tool_call_unparsed", "stream",
       "the stream's tool parser misses a call the non-stream parser finds: same ids, markup left as content "
       "(two tool parsers in one engine that disagree)")
def _tool_call_unparsed(chunks, ctx):
    path = ctx.dialect.stream_completion
    if not any((_first_choice(c).get("delta") or {}).get("tool_calls") for c in chunks):
        return False
    if not any(isinstance(_first_choice(c).get("delta"), dict) and isinstance(resolve(c, path), list) for c in chunks):
        return False  # ids do not travel beside the deltas (a trailing-chunk dialect): no chunk's markup to rebuild
    for chunk in chunks:
        choice = _first_choice(chunk)
        delta = choice.get("delta")
        ids = resolve(chunk, path)
        if isinstance(delta, dict) and isinstance(ids, list):
            delta.pop("tool_calls", None)
            delta["content"] = ctx.tokenizer.decode(ids)
        if choice.get("finish_reason") == "tool_calls":
            choice["finish_reason"] = "stop"
    return True


@fault("nonstream.reasoning_tokens_miscounted", "nonstream",
       "usage.completion_tokens_details.reasoning_tokens counts the whole completion, not the reasoning ids "
       "(a reasoning parser that cannot find the think markers by id)")
def _reasoning_tokens_off_ns(body, ctx):
    return _reasoning_tokens_off(resolve(body, ctx.dialect.nonstream_usage))


@fault("stream.reasoning_tokens_miscounted", "stream",
       "the stream's final usage miscounts reasoning_tokens (a count kept apart from the ids streamed)")
def _reasoning_tokens_off_stream(chunks, ctx):
    for chunk in reversed(chunks):
        usage = resolve(chunk, ctx.dialect.stream_usage)
        if isinstance(usage, dict) and usage:
            return _reasoning_tokens_off(usage)
    return False


@fault("nonstream.reasoning_dropped", "nonstream",
       "the reasoning the ids hold is missing from the reply (a parser that discards the think block)")
def _reasoning_dropped(body, ctx):
    message = (body.get("choices") or [{}])[0].get("message") or {}
    changed = False
    for key in ctx.dialect.nonstream_reasoning:
        if message.get(key):
            message[key] = None
            changed = True
    return changed


@fault("nonstream.declared_count_off_by_one", "nonstream",
       "a count the dialect ties to the ids disagrees with them (Miles: len(meta_info.output_token_logprobs) "
       "!= meta_info.completion_tokens, its UpstreamResponseError after a tokenizer batch-decode bug)")
def _declared_count_off(body, ctx):
    changed = False
    for path in ctx.dialect.nonstream_counts:
        value = resolve(body, path)
        if isinstance(value, int) and not isinstance(value, bool):
            changed |= assign(body, path, value + 1)
    return changed


@fault("nonstream.prompt_ids_missing", "nonstream", "prompt ids not returned although requested")
def _ns_prompt_missing(body, ctx):
    return remove(body, ctx.dialect.nonstream_prompt)


# -- vanilla wire identity -------------------------------------------------------------------

@fault("plain.ids_without_optin", "nonstream",
       "ids sent to a client that did not ask for them (an always-on patch): vanilla clients get keys they never requested")
def _ids_without_optin(body, ctx):
    choice = (body.get("choices") or [{}])[0]
    text = (choice.get("message") or {}).get("content") or ""
    return assign(body, ctx.dialect.nonstream_completion, ctx.tokenizer.hf.encode(text, add_special_tokens=False))


@fault("stream.nonstandard_finish_reason", "stream",
       "finish_reason outside the OpenAI enum (an engine-internal 'eos'/'abort' leaked): the openai SDK rejects the chunk")
def _nonstandard_finish(chunks, ctx):
    for chunk in chunks:
        for choice in chunk.get("choices") or []:
            if choice.get("finish_reason") is not None:
                choice["finish_reason"] = "eos"
                return True
    return False


@fault("nonstream.adds_choice_key", "nonstream",
       "a patched engine adds a key to every vanilla response (a choice-level `weight_version: null`), "
       "so vanilla clients see a shape the unpatched engine never sent")
def _adds_choice_key(body, ctx):
    choices = body.get("choices") or []
    for choice in choices:
        choice["weight_version"] = None
    return bool(choices)


@fault("nonstream.optin_leaks_special_tokens", "nonstream",
       "asking for ids changes the reply: the ids path decodes without skip_special_tokens and leaks the EOS text")
def _optin_leaks_special(body, ctx):
    ids = _ns_ids(body, ctx)
    message = ((body.get("choices") or [{}])[0].get("message")) or {}
    if not ids or not message.get("content"):
        return False
    message["content"] = ctx.tokenizer.decode(ids, skip_special_tokens=False)
    return True


@fault("stream.optin_leaks_special_tokens", "stream",
       "asking for ids changes the streamed reply: the EOS text leaks into the last content delta")
def _optin_leaks_special_stream(chunks, ctx):
    eos = ctx.tokenizer.eos_id if ctx.tokenizer.eos_id is not None else next(iter(ctx.tokenizer.eos_ids), None)
    if eos is None:
        return False
    for chunk in reversed(chunks):
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") or {}
            if delta.get("content"):
                delta["content"] += ctx.tokenizer.token_text(eos)
                return True
    return False


# -- prompts: template parity, multi-turn drift, token in ---------------------------------------

def _serve_prompt_ids(body, ctx, server: list[int]) -> bool:
    """The reply's prompt ids become the ones the server would have used; False (no fault to
    show) where they are the same ids."""
    return server != resolve(body, ctx.dialect.nonstream_prompt) and assign(body, ctx.dialect.nonstream_prompt, server)


def _serve_server_rendering(body, ctx, needs: str, render) -> bool:
    """The reply's prompt ids become `render(request)`, the server's own rendering of the request
    (other tools, another template); False where the request has no `needs` or the ids agree."""
    req = ctx.request or {}
    return bool(req.get(needs)) and _serve_prompt_ids(body, ctx, render(req))


def _rendered_prompt_ids(ctx, messages, tools, template: str | None = None) -> list[int]:
    text = ctx.tokenizer.hf.apply_chat_template(messages, tools=tools, add_generation_prompt=True, tokenize=False,
                                                **({"chat_template": template} if template else {}))
    return ctx.tokenizer.hf.encode(text, add_special_tokens=False)


def _server_side_messages(messages):
    """Messages as vLLM hands them to the template: tool-call arguments parsed into objects."""
    out = copy.deepcopy(messages)
    for m in out:
        for tc in m.get("tool_calls") or []:
            fn = tc.get("function") or {}
            if isinstance(fn.get("arguments"), str):
                try:
                    fn["arguments"] = json.loads(fn["arguments"])
                except json.JSONDecodeError:
                    pass
    return out


@fault("nonstream.server_default_system_prompt", "nonstream",
       "the server's chat template injects a default system prompt the client's template does not (template version skew)")
def _default_system_prompt(body, ctx):
    req = ctx.request or {}
    if not req.get("messages") or req["messages"][0].get("role") == "system":
        return False
    messages = [{"role": "system", "content": "You are a helpful assistant."}, *req["messages"]]
    return assign(body, ctx.dialect.nonstream_prompt, _rendered_prompt_ids(ctx, messages, req.get("tools")))


@fault("nonstream.tools_gain_defer_loading", "nonstream",
       "the server adds `defer_loading: null` to every tool before rendering (SGLang's Tool model), so a template "
       "that renders `tool | tojson` prints a key the client never sent")
def _defer_loading(body, ctx):
    return _serve_server_rendering(body, ctx, "tools", lambda req: _rendered_prompt_ids(
        ctx, req["messages"], [{**t, "defer_loading": None} for t in req["tools"]]))


@fault("nonstream.next_prompt_drops_eos", "nonstream",
       "the template renders the earlier assistant turn without the EOS the model sampled (vLLM #28185 class)")
def _next_prompt_drops_eos(body, ctx):
    prompt = resolve(body, ctx.dialect.nonstream_prompt)
    if not isinstance(prompt, list):
        return False
    at = [i for i, t in enumerate(prompt) if t in ctx.tokenizer.eos_ids]
    if len(at) < 2:
        return False
    return assign(body, ctx.dialect.nonstream_prompt, prompt[:at[-2]] + prompt[at[-2] + 1:])


RESERIALIZE_TEMPLATE = "fixtures/templates/reserialize-tool-json.jinja"


def _prompt_ids_with_template(ctx, req: dict, relative: str) -> list[int]:
    """The request's prompt ids as a server serving the template file `relative` renders them."""
    from conformance.resources import project_path

    template = project_path(relative).read_text(encoding="utf-8")
    return _rendered_prompt_ids(ctx, _server_side_messages(req["messages"]), req.get("tools"), template)


@fault("nonstream.next_prompt_reserializes_tool_json", "nonstream",
       "the template re-serializes the earlier turn's tool-call JSON (compact separators) instead of the text the "
       "model sampled, so the next prompt no longer starts with the sampled ids")
def _reserialized_tool_json(body, ctx):
    req = ctx.request or {}
    if not any(m.get("tool_calls") for m in req.get("messages") or []):
        return False
    return assign(body, ctx.dialect.nonstream_prompt, _prompt_ids_with_template(ctx, req, RESERIALIZE_TEMPLATE))


OTHER_TEMPLATE = "fixtures/templates/default-system-prompt.jinja"


@fault("nonstream.worker_other_template", "nonstream",
       "one worker behind a router serves another chat template (an older revision that adds a default system "
       "prompt): the same request gets other prompt ids depending on the worker that serves it")
def _worker_other_template(body, ctx):
    return _serve_server_rendering(body, ctx, "messages", lambda req: _prompt_ids_with_template(ctx, req, OTHER_TEMPLATE))


@fault("nonstream.token_in_ignored", "nonstream",
       "the token-in field silently ignored (unknown request fields are accepted and dropped): the server renders "
       "the placeholder messages instead of using the ids")
def _token_in_ignored(body, ctx):
    req = ctx.request or {}
    if not ctx.dialect.token_in or not req.get("messages"):
        return False
    return assign(body, ctx.dialect.nonstream_prompt, _rendered_prompt_ids(ctx, req["messages"], req.get("tools")))


@fault("nonstream.add_special_tokens_ignored", "nonstream",
       "add_special_tokens: true on a chat request accepted and ignored (or the tokenizer's BOS dropped as a "
       "duplicate): the prompt ids are the rendered template's alone, not what the client asked for")
def _add_special_tokens_ignored(body, ctx):
    req = ctx.request or {}
    if req.get("add_special_tokens") is not True or not req.get("messages"):
        return False
    return _serve_prompt_ids(body, ctx, _rendered_prompt_ids(ctx, _server_side_messages(req["messages"]),
                                                             req.get("tools")))


# -- logprobs, finish ------------------------------------------------------------------------------

def _logprob_entries(choice) -> list | None:
    content = ((choice or {}).get("logprobs") or {}).get("content")
    return content if isinstance(content, list) and content else None


@fault("nonstream.logprobs_one_short", "nonstream",
       "one logprob entry fewer than completion ids (NeMo-Gym #1963: 566 ids, 565 choice logprobs)")
def _logprobs_one_short(body, ctx):
    entries = _logprob_entries((body.get("choices") or [None])[0])
    if not entries:
        return False
    entries.pop()
    return True


@fault("nonstream.logprobs_shifted", "nonstream",
       "logprob entries paired with the wrong ids: each entry describes the next sampled token (off by one)")
def _logprobs_shifted(body, ctx):
    entries = _logprob_entries((body.get("choices") or [None])[0])
    if not entries or len(entries) < 2 or entries[0].get("token") == entries[1].get("token"):
        return False
    named = [{k: e[k] for k in ("token", "bytes", "token_id") if k in e} for e in entries]  # what names its token
    for entry, name in zip(entries, named[1:] + named[:1]):
        entry.update(name)
    return True


@fault("stream.logprobs_on_wrong_chunk", "stream",
       "the finish chunk's logprob entries sent on the chunk before it: chunk-wise pairing of ids and logprobs breaks")
def _logprobs_wrong_chunk(chunks, ctx):
    with_entries = [c for c in chunks if c.get("choices") and _logprob_entries(c["choices"][0])]
    if len(with_entries) < 2:
        return False
    last, before = with_entries[-1], with_entries[-2]
    before["choices"][0]["logprobs"]["content"] += last["choices"][0]["logprobs"]["content"]
    last["choices"][0]["logprobs"]["content"] = []
    return True


@fault("nonstream.stop_string_ids_trimmed", "nonstream",
       "the tokens that formed a matched stop string dropped from the ids, as if ids were cut like the text")
def _stop_string_trimmed(body, ctx):
    choice = (body.get("choices") or [{}])[0]
    ids = _ns_ids(body, ctx)
    if not ids or choice.get("finish_reason") != "stop" or not isinstance(choice.get("stop_reason"), str):
        return False
    return assign(body, ctx.dialect.nonstream_completion, ids[:-1])


def _past_stop(body, ctx) -> list | None:
    """The ids with tokens accepted after the stop string (spec decoding's later draft tokens:
    here the text the model would have gone on with), usage counting them; None when the
    reply did not end at a stop string."""
    choice = (body.get("choices") or [{}])[0]
    ids = _ns_ids(body, ctx)
    if not ids or choice.get("finish_reason") != "stop" or not isinstance(choice.get("stop_reason"), str):
        return None
    extra = ctx.tokenizer.hf.encode(", 4, 5.", add_special_tokens=False)
    usage = resolve(body, ctx.dialect.nonstream_usage)
    if isinstance(usage, dict) and isinstance(usage.get("completion_tokens"), int):
        usage["completion_tokens"] += len(extra)
    return ids + extra


@fault("nonstream.ids_past_stop_string", "nonstream",
       "ids past a stop string: the text is cut at the stop string, the ids keep tokens accepted after it "
       "(vLLM PR #47616: ngram spec decoding)")
def _ids_past_stop(body, ctx):
    ids = _past_stop(body, ctx)
    return ids is not None and assign(body, ctx.dialect.nonstream_completion, ids)


@fault("nonstream.length_masks_stop", "nonstream",
       "a stop string reached inside the budget reported as finish_reason length, with the tokens after it "
       "(sglang #31599: the max_new_tokens check ran before the stop check under spec decoding)")
def _length_masks_stop(body, ctx):
    ids = _past_stop(body, ctx)
    if ids is None:
        return False
    choice = body["choices"][0]
    choice["finish_reason"], choice["stop_reason"] = "length", None
    choice.setdefault("message", {})["content"] = ctx.tokenizer.decode(ids)  # no stop matched: nothing cut
    return assign(body, ctx.dialect.nonstream_completion, ids)


# -- applying a fault to an exchange ----------------------------------------------------------

def serialize_stream(chunks: list[dict], done: bool = True) -> str:
    body = "".join(f"data: {json.dumps(c, ensure_ascii=False)}\n\n" for c in chunks)
    return body + ("data: [DONE]\n\n" if done else "")


# -- n > 1 ---------------------------------------------------------------------------------

@fault("nonstream.ids_on_first_choice_only", "nonstream",
       "with n>1, completion ids filled for choice 0 only (the id path written for n=1)")
def _ids_first_choice_only(body, ctx):
    later = [c.get("index", 0) for c in body.get("choices") or [] if c.get("index", 0) > 0]
    return any([assign(body, ctx.dialect.nonstream_completion, None, choice=i) for i in later])


@fault("stream.ids_on_first_choice_only", "stream",
       "with n>1, streamed ids routed to index 0 only: later indices' chunks carry none")
def _stream_ids_first_choice_only(chunks, ctx):
    changed = False
    for chunk in chunks:
        per_choice = _trailing_per_choice(chunk, ctx)
        for index in range(1, len(per_choice or [])):  # a trailing chunk: every later position emptied
            if per_choice[index]:
                per_choice[index] = []
                changed = True
        for choice in chunk.get("choices") or []:
            index = choice.get("index", 0)
            value = resolve(chunk, ctx.dialect.stream_completion, index)
            if index > 0 and isinstance(value, list) and value:
                changed |= assign(chunk, ctx.dialect.stream_completion, [], choice=index)
    return changed


# -- refusals (4xx responses) -------------------------------------------------------------

@fault("rejection.as_server_error", "rejection",
       "a request the engine cannot serve answered 500: the validation error escaped as an unhandled exception")
def _rejection_as_500(ex, ctx):
    return replace(ex, status=500)


@fault("rejection.as_success", "rejection",
       "an error object returned with HTTP 200, so clients that check the status go ahead")
def _rejection_as_200(ex, ctx):
    return replace(ex, status=200)


@fault("rejection.html_error_page", "rejection",
       "a framework's HTML error page instead of a JSON error body")
def _rejection_html(ex, ctx):
    return replace(ex, body=f"<html><body><h1>{ex.status} Bad Request</h1></body></html>",
                   headers={**ex.headers, "content-type": "text/html"})


def _error_body(ex: Exchange, message: str) -> str:
    return json.dumps({"object": "error", "message": message, "type": "BadRequest", "param": None, "code": ex.status})


@fault("rejection.names_another_field", "rejection",
       "a refusal whose error names another field of the request than the one refused (a validator that reports "
       "the first field it looked at, or a refusal for another reason entirely)")
def _rejection_names_another_field(ex, ctx):
    under_test = {*ctx.dialect.rejects_n, *ctx.dialect.rejects_stream, "n"}
    others = [k for k in (ex.request or {}) if k not in under_test and k not in
              ("messages", "tools", "model", "stream", "input_ids", "text", "stream_options")]
    if not others:
        return None
    other = "logprobs" if "logprobs" in others else others[0]
    return replace(ex, body=_error_body(ex, f"{other} is not supported with this request. Please remove {other}."))


@fault("rejection.names_no_field", "rejection",
       "a refusal whose error names no field at all (\"Invalid request\"): nothing tells the client what to drop")
def _rejection_names_no_field(ex, ctx):
    return replace(ex, body=_error_body(ex, "Invalid request: validation failed."))


def apply_fault(ex: Exchange, f: Fault, ctx: FaultContext) -> Exchange | None:
    """A mutated copy of the exchange, or None if the fault has nothing to break in it."""
    if f.mode == "rejection":  # refusals of requests the dialect cannot serve
        return f.mutate(ex, ctx) if ex.status and 400 <= ex.status < 500 else None
    if ex.status != 200 or ex.is_stream_request != (f.mode == "stream"):
        return None
    if f.stream_modes and ctx.dialect.stream_mode not in f.stream_modes:
        return None
    ctx = replace(ctx, request=ex.request)
    if f.mode == "stream" and f.level == "body":
        body = f.mutate(ex.body, ctx)
        return None if body is None else replace(ex, body=body)
    if f.mode == "stream":
        parsed = parse_stream(ex.body)
        chunks = copy.deepcopy(parsed.chunks)
        if not f.mutate(chunks, ctx):
            return None
        return replace(ex, body=serialize_stream(chunks, parsed.done))
    body = copy.deepcopy(ex.json)
    if not f.mutate(body, ctx):
        return None
    return replace(ex, body=json.dumps(body, ensure_ascii=False))
