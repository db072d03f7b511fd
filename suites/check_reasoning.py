"""Reasoning: the count an engine reports for reasoning equals the reasoning ids it returns."""
from conformance.checking.api import Fail, FaultProof, Inconclusive, check, skip
from conformance.checking.id_sequences import require_id_list
from conformance.checking.reasoning import reasoning_span
from conformance.checking.dialect_replies import reply_of, stream_reply_of


def _reported(usage):
    details = usage.get("completion_tokens_details") if isinstance(usage, dict) else None
    return details.get("reasoning_tokens") if isinstance(details, dict) else None


def _check(target, case, variant):
    d, tok = target.dialect, target.tokenizer
    ex = target.exchange(case, variant).ok()
    if variant == "stream":
        chunks = ex.stream.chunks
        ids, reply, usage = d.stream_ids(chunks, request=ex.request).concatenated(), stream_reply_of(d, chunks), \
            d.stream_usage_of(chunks)
    else:
        ids, reply, usage = d.completion_ids(ex.json), reply_of(d, ex.json), d.usage(ex.json)
    reported = _reported(usage)
    if reported is None:
        return None
    ids = require_id_list(ids, f"{variant} completion ids", tok.vocab_size)
    span = reasoning_span(tok, ids, reply)
    if span is None:
        raise Inconclusive("the think markers are not single tokens in this vocabulary: the reasoning ids "
                           "cannot be told apart from the answer's")
    # the span's edges are the engine's convention: the markers counted or not, and where the EOS
    # ended a reasoning never closed, counted with them as its closing id (SGLang counts every id
    # through the one that ends reasoning; vLLM counts the ids between the markers)
    allowed = {span.inner, span.inner + span.markers, *([span.inner + span.markers + 1] if span.ended_by_eos else [])}
    if reported not in allowed:
        raise Fail(f"{variant}: usage.completion_tokens_details.reasoning_tokens is {reported!r}, but "
                   f"{span.inner} completion ids are reasoning ({span.inner + span.markers} with the think markers) "
                   f"of {len(ids)}", reported=reported, reasoning_ids=span.inner, markers=span.markers,
                   decoded=tok.decode(ids, skip_special_tokens=False))
    return reported


@check("usage.reasoning_tokens", needs=["nonstream", "stream"], requires=["ids.nonstream"],
       caught_by=[
           FaultProof("nonstream.reasoning_tokens_miscounted", "hello",
                      "nonstream: usage.completion_tokens_details.reasoning_tokens is", variants=["nonstream"], on="reasoning"),
           FaultProof("stream.reasoning_tokens_miscounted", "hello",
                      "stream: usage.completion_tokens_details.reasoning_tokens is", variants=["stream"], on="reasoning"),
       ])
def check_reasoning_tokens(target, case):
    """Where the engine reports usage.completion_tokens_details.reasoning_tokens (vLLM with a
    reasoning parser), it equals the number of completion ids between the think markers
    (markers excluded, or included: engines differ; a reasoning the EOS ended, never closed, may
    count that EOS as its closing id), in the non-stream response and in the stream's usage."""
    seen = [_check(target, case, "nonstream")]
    if target.dialect.has("ids.stream"):
        seen.append(_check(target, case, "stream"))
    if all(v is None for v in seen):
        skip("the engine reports no usage.completion_tokens_details.reasoning_tokens (no reasoning parser)")
