"""Finish semantics: what the ids hold at the end of a reply, for each way a reply can end."""
from conformance.checking.api import Fail, FaultProof, Inconclusive, check
from conformance.checking.eos import require_declared_eos_end
from conformance.checking.id_sequences import require_id_list
from conformance.checking.replies import content_in_decoded
from conformance.checking.dialect_replies import reply_of, stream_reply_of


def _stop_strings(case):
    stop = case.params.get("stop") or []
    return [stop] if isinstance(stop, str) else list(stop)


def _ends_naturally(case):
    return not case.params.get("stop") and not case.has("length")


def _ids_and_replies(target, case, variant, vocab=True):
    """(completion ids, reply, usage); `vocab=False` accepts ids the tokenizer does not know
    (a check that only counts them holds for a mocker's random ids too)."""
    d, tok = target.dialect, target.tokenizer
    size = tok.vocab_size if vocab else None
    ex = target.exchange(case, variant).ok()
    if variant == "stream":
        chunks = ex.stream.chunks
        ids = d.stream_ids(chunks, request=ex.request).concatenated()
        return require_id_list(ids, "completion ids", size), stream_reply_of(d, chunks), d.stream_usage_of(chunks)
    body = ex.json
    ids = require_id_list(d.completion_ids(body), "completion ids", size)
    return ids, reply_of(d, body), d.usage(body)


def _check_eos(target, case, variant):
    tok, d = target.tokenizer, target.dialect
    ids, reply, _ = _ids_and_replies(target, case, variant)
    if reply.finish_reason not in ("stop", "tool_calls"):
        raise Inconclusive(f"the reply ended with finish_reason {reply.finish_reason!r}, not at an EOS")
    require_declared_eos_end(tok, ids, reply.finish_reason, d.eos_in_completion_ids, "the dialect", f"{variant}: ")


@check("finish.eos.nonstream", needs=["nonstream"], requires=["ids.nonstream"], case_filter=_ends_naturally,
       model_output=True,
       caught_by=[
           FaultProof("nonstream.drop_eos", "hello", "do not end with the EOS"),
       ])
def check_eos_nonstream(target, case):
    """A reply that stopped at the EOS (finish_reason stop or tool_calls, no stop string) has the
    EOS id as its last completion id, and nowhere else, or no EOS at all, as the dialect declares
    (`eos_in_completion_ids`)."""
    _check_eos(target, case, "nonstream")


@check("finish.eos.stream", needs=["stream"], requires=["ids.stream"], case_filter=_ends_naturally,
       model_output=True,
       caught_by=[
           FaultProof("stream.drop_eos", "weather_tools", "do not end with the EOS"),
       ])
def check_eos_stream(target, case):
    """The same for a stream's concatenated ids."""
    _check_eos(target, case, "stream")


def _check_stop_string_ignored(tok, ids, reply, stops, variant):
    """`stop_strings: ignored`: the reply runs past a stop string the model produced."""
    if any(s in reply.content for s in stops):
        return
    decoded = tok.decode(ids)
    hit = [s for s in stops if s in decoded]
    if hit:
        raise Fail(f"{variant}: the ids decode to {decoded!r}, which holds the stop string {hit[0]!r}, but the text "
                   f"{reply.content!r} was cut before it: the stop string was applied (the dialect declares "
                   "stop_strings: ignored)", ids=ids)
    raise Inconclusive(f"{variant}: the model did not produce a stop string of {stops}: whether they are ignored "
                       "cannot be seen")


def _check_stop_string(target, case, variant):
    tok = target.tokenizer
    ids, reply, _ = _ids_and_replies(target, case, variant)
    stops = _stop_strings(case)
    if target.dialect.stop_strings == "ignored":
        return _check_stop_string_ignored(tok, ids, reply, stops, variant)
    reached = [s for s in stops if s in tok.decode(ids)]
    if reply.finish_reason == "length" and reached:
        raise Fail(f"{variant}: finish_reason length, but the ids complete the stop string {reached[0]!r} inside the "
                   "max_tokens budget: a stop reached inside the budget ends the reply with finish_reason stop (a "
                   "length check run before the stop check masks it, and lets the ids after the stop through)", ids=ids)
    if reply.finish_reason != "stop":
        raise Inconclusive(f"{variant}: finish_reason {reply.finish_reason!r}: no stop string matched "
                           "(the model did not produce one)")
    hit = [s for s in stops if s in reply.content]
    if hit:
        raise Fail(f"{variant}: the text still holds the stop string {hit[0]!r}: {reply.content!r}")
    full = tok.decode(ids)
    decoded = content_in_decoded(full, reply)
    if decoded is None:
        raise Inconclusive(f"{variant}: the decoded ids do not begin with the reply's reasoning "
                           "(decode.roundtrip says why); the stop string cannot be located")
    # past a reasoning (an empty one too) the join whitespace is the parser's
    content = reply.content.lstrip() if reply.reasoning or decoded != full else reply.content
    produced = any(s in decoded[len(content):] for s in stops) if decoded.startswith(content) else True
    at_eos = bool(ids) and ids[-1] in tok.eos_ids
    if not produced and (at_eos or (isinstance(reply.stop_reason, int) and not isinstance(reply.stop_reason, bool))):
        raise Inconclusive(f"{variant}: the model ended at its EOS without producing a stop string of {stops}: "
                           "the case expects one, this model does not say it")
    kept = target.dialect.stop_string_ids
    if kept == "kept":
        if not any(decoded.startswith(content + s) for s in stops):
            if decoded == content or content.startswith(decoded):
                raise Fail(f"{variant}: the ids decode to {decoded!r}, no more than the cut text: the tokens that formed the stop "
                           f"string were dropped (the dialect declares stop_string_ids: kept)", ids=ids)
            raise Fail(f"{variant}: the ids decode to {decoded!r}, expected the text {content!r} followed by "
                       f"a stop string of {stops}", ids=ids)
        if at_eos:
            raise Fail(f"{variant}: a stop string ended the reply but the ids end with the EOS", ids=ids)
    elif decoded != content:
        raise Fail(f"{variant}: the dialect declares stop_string_ids: trimmed but the ids decode to {decoded!r}, "
                   f"the text is {content!r}", ids=ids)


@check("finish.stop_string", needs=["nonstream", "stream"], requires=["ids.nonstream"], case_tags=["stop_string"],
       model_output=True,
       caught_by=[
           FaultProof("nonstream.stop_string_ids_trimmed", "count_stop", "were dropped"),
           FaultProof("nonstream.length_masks_stop", "count_stop", "inside the max_tokens budget",
                      variants=["nonstream"]),
       ])
def check_stop_string(target, case):
    """A matched stop string is cut from the text, while the ids keep the tokens that formed it
    (or not, as the dialect declares with `stop_string_ids: kept|trimmed`), without an EOS after;
    a stop string the ids complete makes finish_reason stop, never length.
    A dialect that declares `stop_strings: ignored` must instead run past the stop string."""
    _check_stop_string(target, case, "nonstream")
    if target.dialect.has("ids.stream"):
        _check_stop_string(target, case, "stream")


def _check_length(target, case, variant):
    tok = target.tokenizer
    ids, reply, usage = _ids_and_replies(target, case, variant, vocab=False)
    limit = case.params.get("max_tokens") or case.params.get("max_completion_tokens")
    natural_end = bool(ids) and (ids[-1] in tok.eos_ids or not target.dialect.eos_in_completion_ids)
    if reply.finish_reason in ("stop", "tool_calls") and isinstance(limit, int) and len(ids) < limit and natural_end:
        raise Inconclusive(f"{variant}: the model ended at its EOS after {len(ids)} ids, before max_tokens {limit}: "
                           "the case expects a cut, this model answers shorter")
    if reply.finish_reason != "length":
        raise Fail(f"{variant}: a reply cut by max_tokens {limit} reports finish_reason {reply.finish_reason!r}, "
                   "not 'length'", ids=ids)
    if len(ids) != limit:
        raise Fail(f"{variant}: finish_reason length with max_tokens {limit} but {len(ids)} completion ids", ids=ids)
    if isinstance(usage, dict) and usage.get("completion_tokens") != len(ids):
        raise Fail(f"{variant}: usage.completion_tokens is {usage.get('completion_tokens')} for {len(ids)} ids")
    if ids[-1] in tok.eos_ids:
        raise Fail(f"{variant}: finish_reason length but the last id is the EOS", ids=ids)


@check("finish.length", needs=["nonstream", "stream"], requires=["ids.nonstream"], case_tags=["length"],
       caught_by=[
           FaultProof("nonstream.drop_last_text_token", "story_max_tokens", "7 completion ids", variants=["nonstream"]),
           FaultProof("stream.drop_ids_on_empty_finish_chunk", "flower_max1", "0 completion ids", variants=["stream"]),
       ])
def check_length(target, case):
    """A reply cut by max_tokens (max_tokens 1 included, and a reply whose only token is held back
    by the detokenizer) has finish_reason length, exactly max_tokens completion ids, usage
    counting them, and no EOS; in the stream as in the non-stream response."""
    _check_length(target, case, "nonstream")
    if target.dialect.has("ids.stream"):
        _check_length(target, case, "stream")
