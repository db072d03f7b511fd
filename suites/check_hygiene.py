"""Chunk hygiene: stream chunks carry each id once, in the stream semantics the dialect declares."""
from conformance.checking.api import Fail, FaultProof, check, skip
from conformance.dialects.paths import is_request_path, resolve


def _finish_positions(chunks, choice=0):
    return [pos for pos, chunk in enumerate(chunks) for c in chunk.get("choices") or []
            if c.get("index", 0) == choice and c.get("finish_reason") is not None]


@check("hygiene.synthetic_final", needs=["stream"], requires=["ids.stream"],
       caught_by=[
           FaultProof("stream.synthetic_final_repeats_ids", "hello", "synthetic final chunk"),
       ])
def check_synthetic_final(target, case):
    """Exactly one chunk per choice carries finish_reason, and no chunk after it carries
    completion ids (a trailing-ids dialect: exactly one chunk after it does): a synthetic
    end-of-stream chunk cloned from the last one must not repeat its ids."""
    d = target.dialect
    if d.shape != "chat":
        skip(f"dialect {d.name} does not stream chat chunks with a finish_reason")
    ex = target.exchange(case, "stream").ok()
    chunks = ex.stream.chunks
    finishes = _finish_positions(chunks)
    if not finishes:
        raise Fail("no chunk carries a finish_reason")
    found = d.stream_ids(chunks, request=ex.request)
    late = [(pos, ids) for pos, ids in found.completion if pos > finishes[0] and isinstance(ids, list) and ids]
    if d.stream_mode == "trailing":  # the ids come after the finish chunk by design: on ONE trailing chunk
        if len(late) > 1:
            raise Fail(f"{len(late)} chunks after the finish chunk carry ids (positions {[p for p, _ in late]}); "
                       "the dialect declares one trailing chunk", late=[p for p, _ in late])
        late = []
    if late:
        pos, ids = late[0]
        last = next((v for p, v in reversed(found.completion) if p <= finishes[0] and isinstance(v, list) and v), [])
        dup = " (a repeat of the finish chunk's ids: a synthetic final chunk)" if ids == last else ""
        raise Fail(f"chunk {pos} carries completion ids {ids} after the finish chunk {finishes[0]}{dup}",
                   finish_chunk=finishes[0], late=[p for p, _ in late])
    if len(finishes) > 1:
        raise Fail(f"finish_reason appears on {len(finishes)} chunks ({finishes}); expected one", finishes=finishes)


def _prefix_extends(prev, cur):
    return len(cur) > len(prev) and cur[:len(prev)] == prev


@check("hygiene.delta_or_cumulative", needs=["stream"], requires=["ids.stream"],
       caught_by=[
           FaultProof("stream.cumulative_as_delta", "french", "ids look cumulative"),
       ])
def check_delta_or_cumulative(target, case):
    """The stream's ids follow the semantics the dialect declares. Delta: no chunk repeats the ids
    sent before it (if every chunk restates all earlier ids, the diagnosis is "ids look
    cumulative"). Cumulative: every chunk extends the previous one."""
    d = target.dialect
    if d.stream_mode not in ("delta", "cumulative"):
        skip(f"dialect {d.name} streams ids in mode {d.stream_mode!r}: neither delta nor cumulative")
    chunks = target.exchange(case, "stream").ok().stream.chunks
    lists = [(pos, v) for pos, v in d.stream_ids(chunks).completion if isinstance(v, list) and v]
    usage = d.stream_usage_of(chunks)
    counted = usage.get("completion_tokens") if isinstance(usage, dict) else None
    steps = list(zip(lists, lists[1:]))
    all_extend = bool(steps) and all(_prefix_extends(a, b) for (_, a), (_, b) in steps)
    if d.stream_mode == "delta":
        total = sum(len(v) for _, v in lists)
        usage_says = counted is not None and total != counted and len(lists[-1][1]) == counted
        if all_extend and (usage_says or len(steps) >= 2):
            (p0, a), (p1, b) = steps[-1]
            raise Fail(f"ids look cumulative: chunk {p1} repeats the {len(a)} ids of chunk {p0} and adds "
                       f"{len(b) - len(a)}; {total} ids in all" + (f" for usage.completion_tokens {counted}" if counted
                                                                     is not None else ""),
                       chunks=[p for p, _ in lists])
    elif steps and not all_extend:
        bad = next(((pa, pb) for (pa, a), (pb, b) in steps if not _prefix_extends(a, b)))
        raise Fail(f"ids look like deltas: chunk {bad[1]} does not extend chunk {bad[0]} (the dialect declares "
                   "cumulative ids)", chunks=[p for p, _ in lists])


def _null_keys(d, obj, where) -> list[str]:
    """Every id or extension key of the dialect that `obj` holds as null, per choice."""
    if not isinstance(obj, dict):
        return []
    bad = []
    for path in d.extension_paths():
        if is_request_path(path):
            continue
        for choice in range(max(1, len(obj.get("choices") or [])) if "[i]" in path else 1):
            value = resolve(obj, path, choice)
            nulls = value is None or isinstance(value, list) and "[*]" in path and None in value
            if nulls:
                bad.append(f"{where}: {path}" + (f" (choice {choice})" if "[i]" in path else "") + " = null")
    return bad


@check("hygiene.unset_keys", needs=["nonstream", "stream"], requires=["ids.nonstream"],
       caught_by=[
           FaultProof("stream.null_for_absent_ids", "hello", "nvext.prompt_token_ids = null", on="dynamo"),
       ])
def check_unset_keys(target, case):
    """Where the dialect promises to drop a key it has no value for (`unset_keys: omitted`: SGLang's
    and Dynamo's serializers, the agentcore patch "drops every new key when None"), no response or
    stream chunk with the opt-in holds one of its id keys as null: a chunk without prompt ids has no
    prompt-id key. A client that tests `"key" in chunk` reads a null as ids that are there and empty.
    A dialect documented to send nulls (vLLM: `unset_keys: null`) is not held to it (SKIP)."""
    d = target.dialect
    if d.unset_keys != "omitted":
        skip(f"dialect {d.name} sends a key it has no value for as null (unset_keys: null)")
    bad = _null_keys(d, target.exchange(case, "nonstream").ok().json, "non-stream")
    if d.has("ids.stream"):
        for pos, chunk in enumerate(target.exchange(case, "stream").ok().stream.chunks):
            bad += _null_keys(d, chunk, f"chunk {pos}")
    if bad:
        raise Fail(f"dialect {d.name} drops a key it has no value for (unset_keys: omitted), but with the opt-in "
                   f"{len(bad)} key(s) are null: {'; '.join(bad[:5])}" + (f" (+{len(bad) - 5} more)" if len(bad) > 5
                                                                          else ""), nulls=bad)
