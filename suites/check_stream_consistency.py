"""Stream consistency: every chunk belongs to the same completion and to a choice that exists.

A chunk under another `id` or with a stray choice `index` makes a client attribute its ids to
the wrong completion or choice: the trainer gets someone else's tokens, silently. Ids on the
wrong chunk of the right completion (a chunk late, a chunk early) keep their concatenation and
break every client that pairs a chunk's ids with that chunk's text (stream.id_placement).
"""
from conformance.checking.api import Fail, FaultProof, check, skip
from conformance.checking.placement import parsed_view, place, stream_steps
from conformance.dialects.paths import resolve


@check("stream.chunk_consistency", needs=["stream"], requires=["ids.stream"],
       caught_by=[
           FaultProof("stream.chunk_id_changes", "hello", "disagree"),
           FaultProof("stream.choice_index_shifted", "haiku", "index 1"),
       ])
def check_stream_chunk_consistency(target, case):
    """Every chunk of a stream carries the same non-empty `id` (OpenAI: "each chunk has the
    same ID"), and every choice in it has an integer `index` in [0, n)."""
    chunks = target.exchange(case, "stream").ok().stream.chunks
    if not chunks:
        raise Fail("the stream has no JSON chunks")
    id_path = target.dialect.stream_chunk_id  # `id`; SGLang's native /generate: meta_info.id
    first = resolve(chunks[0], id_path)
    if not isinstance(first, str) or not first:
        raise Fail(f"chunk 0 has no string id (id is {first!r})")
    n = case.params.get("n", 1)
    for pos, chunk in enumerate(chunks):
        if resolve(chunk, id_path) != first:
            raise Fail(f"chunk {pos} has id {resolve(chunk, id_path)!r} but chunk 0 has {first!r}: the chunks disagree "
                       f"on which completion they belong to", chunk=chunk)
        for choice in chunk.get("choices") or []:
            index = choice.get("index") if isinstance(choice, dict) else None
            if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < n:
                raise Fail(f"chunk {pos} has a choice with index {index!r}; the request asked for n={n}, "
                           f"so indices are in [0, {n})", chunk=chunk)


def _stop_strings(case):
    stop = case.params.get("stop") or []
    return [stop] if isinstance(stop, str) else list(stop)


@check("stream.id_placement", needs=["stream"], requires=["ids.stream", "ids.per_chunk"],
       caught_by=[
           FaultProof("stream.ids_one_chunk_late", "hello", "arrives before its ids", variants=["stream"]),
           FaultProof("stream.ids_one_chunk_early", "haiku", "ids are ahead of the text", variants=["stream"]),
           FaultProof("stream.ids_one_chunk_late", "french", "arrives before its ids", on="dynamo"),
       ])
def check_stream_id_placement(target, case):
    """Where the dialect puts each chunk's own ids (delta, cumulative), they arrive with their
    text: after every chunk the ids received so far decode to at least the text received so far
    (ids never lag text: text before its ids FAILS, naming the chunk where its ids arrive), and
    the text lags its ids only by what a detokenizer or parser holds back: the bytes of an
    incomplete UTF-8 sequence, the start of a think or tool-call marker, less than the longest stop
    string (or a matched stop string and what follows it). Reasoning and content are placed;
    tool-call deltas are not (their arguments are re-serialized JSON); whitespace is not compared."""
    d, tok = target.dialect, target.tokenizer
    ex = target.exchange(case, "stream").ok()
    steps = stream_steps(d, ex.stream.chunks, request=ex.request)
    if not any(parsed_view(s.text) for s in steps):
        skip("the stream carries no text outside tool calls: there is nothing to place its ids against")
    found = place(tok, steps, _stop_strings(case))
    if found.ahead is not None:
        step, text, decoded = found.ahead
        where = (f"its ids arrive on chunk {found.late}" if found.late is not None
                 else "no later chunk's ids cover it")
        raise Fail(f"chunk {step.pos}'s text {step.chunk_text[-40:]!r} arrives before its ids: the text so far "
                   f"ends {text[-60:]!r}, the ids so far decode to {decoded[-60:]!r} ({where})",
                   chunk=step.pos, ids_arrive_on=found.late, text=text, decoded=decoded, chunk_ids=step.chunk_ids)
    if found.lag is not None:
        step, lag = found.lag
        raise Fail(f"after chunk {step.pos} the ids are ahead of the text by {lag[:60]!r} (whitespace dropped), more "
                   f"than a detokenizer holds back (an incomplete UTF-8 sequence, a marker's start, a stop string's "
                   f"start): the ids arrived on an earlier chunk than their text",
                   chunk=step.pos, lag=lag, text=step.text, decoded=tok.decode(step.ids), chunk_ids=step.chunk_ids)
