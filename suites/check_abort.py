"""Abort: a client that closes a stream mid-way (a partial rollout) keeps what it received, and
the engine keeps serving.

The ids received before the cut are what a partial-rollout trainer keeps: they must be the
first ids of the run the engine would have made, with the text received agreeing with them (the
field: after a client abort SGLang's non-incremental stream collapsed the ids to the last one,
sglang PR #34488; an abort leaked a sampled token, sglang #34112). The cancel is sent live: a
replay cannot close a stream the engine never saw cut (SKIP).
"""
from conformance.checking.api import Fail, HandBuilt, Inconclusive, check, skip
from conformance.checking.dialect_replies import stream_reply_of
from conformance.checking.placement import parsed_view
from conformance.wire.sse import parse_stream

CUT_AFTER = 2  # chunks carrying ids read before the client closes the stream
AFTER_CANCEL = 2  # the attempt number of the stream sent again once the cancel is done


def _id_chunks(d, chunks, request) -> int:
    """How many chunks carry completion ids (a non-empty list)."""
    return sum(1 for _, value in d.stream_ids(chunks, request=request).completion if isinstance(value, list) and value)


def _cancellable(case) -> bool:
    return case.is_greedy and not case.tools and not case.has("length")


@check("abort.client_cancel", needs=["stream"], requires=["ids.stream", "ids.per_chunk", "stream.client_cancel"], case_filter=_cancellable,
       model_output=True, caught_by=[
           HandBuilt("tests/suites/test_check_abort.py::test_fails_on_a_stale_id_after_a_cancel",
                     "a stale id ahead of the ids of the cancelled stream, or of the stream sent after the cancel "
                     "(real vLLM streams served over HTTP, the re-sent one mutated)")])
def check_abort_client_cancel(target, case):
    """Greedy, no tools: the stream sent again and closed by the client after 2 chunks with ids
    delivered ids that are the first ids of the full stream, and text that is the start of the full
    stream's text and that those ids decode to (whitespace and think markers aside); the same
    stream sent right after the cancel answers with the full stream's ids (the engine keeps
    serving). SKIP in a replay and a selftest round (a cancel needs a live server) and where the
    reply is too short to cut."""
    d, tok = target.dialect, target.tokenizer
    if not target.can_cancel:
        skip("a cancel needs a live server: a recording cannot close a stream mid-way, nor can tokconf's selftest "
             "proxy (it answers from a whole copy of each response)")
    full = target.exchange(case, "stream").ok()
    full_chunks = full.stream.chunks
    if _id_chunks(d, full_chunks, full.request) < CUT_AFTER + 2:
        skip(f"the reply is too short to cut: its stream has fewer than {CUT_AFTER + 2} chunks with ids")
    full_ids = d.stream_ids(full_chunks, request=full.request).concatenated()
    full_reply = stream_reply_of(d, full_chunks)

    def cut(events: str) -> bool:
        return _id_chunks(d, parse_stream(events).chunks, full.request) >= CUT_AFTER

    partial = target.cancel(case, "stream", cut)
    if partial.error:
        raise Inconclusive(f"the stream to cancel failed before the cut: {partial.error}")
    if partial.status is None or not 200 <= partial.status < 300:
        raise Fail(f"the stream sent again to be cancelled answered HTTP {partial.status}: {partial.body_summary()}")
    if not partial.cut:
        raise Inconclusive(f"the stream sent again ended before {CUT_AFTER} chunks with ids: nothing was cut "
                           f"(the full stream had {_id_chunks(d, full_chunks, full.request)})")
    chunks = partial.stream.chunks
    ids = d.stream_ids(chunks, request=partial.request).concatenated()
    if ids != full_ids[:len(ids)]:
        at = next((i for i, (a, b) in enumerate(zip(ids, full_ids)) if a != b), min(len(ids), len(full_ids)))
        raise Fail(f"the {len(ids)} ids received before the cut are not the first ids of the full stream: they first "
                   f"differ at position {at} ({ids[at:at + 4]} cut, {full_ids[at:at + 4]} full)",
                   received=ids, full=full_ids[:len(ids) + 4])
    reply = stream_reply_of(d, chunks)
    for what, got, whole in (("text", reply.content, full_reply.content),
                             ("reasoning", reply.reasoning, full_reply.reasoning)):
        if not whole.startswith(got):
            raise Fail(f"the {what} received before the cut {got[-60:]!r} is not the start of the full stream's "
                       f"{whole[:len(got) + 20]!r}", received=got)
    # both sides as the parsers leave them: whitespace and think markers dropped (without a reasoning
    # parser the markers are content; the decode may drop them as special tokens)
    decoded, text = parsed_view(tok.decode(ids)), parsed_view(reply.reasoning + reply.content)
    if not decoded.startswith(text):
        raise Fail(f"the text received before the cut {text[-60:]!r} is not what its {len(ids)} ids decode to "
                   f"({decoded[-60:]!r}; whitespace and think markers aside)", ids=ids, text=text, decoded=decoded)
    after = target.exchange(case, "stream", attempt=AFTER_CANCEL)
    if after.error or after.status is None or not 200 <= after.status < 300:
        raise Fail(f"after the cancel the server answers the same stream with HTTP {after.status} "
                   f"{after.error or after.body_summary()}: it stopped serving")
    again = d.stream_ids(after.ok().stream.chunks, request=after.request).concatenated()
    if again != full_ids:
        at = next((i for i, (a, b) in enumerate(zip(again, full_ids)) if a != b), min(len(again), len(full_ids)))
        raise Fail(f"after the cancel the same greedy stream gives other ids: {len(again)} ids, not the full stream's "
                   f"{len(full_ids)}, first differing at position {at}", after=again, full=full_ids)
