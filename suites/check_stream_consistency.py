"""Stream consistency: every chunk belongs to the same completion and to a choice that exists.

A chunk under another `id` or with a stray choice `index` makes a client attribute its ids to
the wrong completion or choice: the trainer gets someone else's tokens, silently.
"""
from conformance.checking.api import Fail, check
from conformance.dialects.paths import resolve


@check("stream.chunk_consistency", needs=["stream"], requires=["ids.stream"])
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
