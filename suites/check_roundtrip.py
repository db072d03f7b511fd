"""Decode round-trip: the completion ids decode to the text the engine returned.

The rule for EOS, stop strings, special tokens and tool calls is written down in
conformance.checking.replies.check_decoded_matches.
"""
from conformance.checking.api import Fail, FaultProof, check
from conformance.checking.replies import check_decoded_matches
from conformance.checking.id_sequences import require_id_list
from conformance.checking.dialect_replies import reply_of, stream_reply_of


def _stop_strings(case):
    stop = case.params.get("stop") or []
    return [stop] if isinstance(stop, str) else list(stop)


@check("decode.roundtrip.nonstream", needs=["nonstream"], requires=["ids.nonstream"], model_output=True,
       caught_by=[
           FaultProof("nonstream.out_of_vocab", "french", "outside the vocabulary"),
           FaultProof("nonstream.drop_last_text_token", "hello", "decoded ids give"),
           FaultProof("nonstream.retokenized_completion", "weather_tools", "decoded ids call"),
           FaultProof("nonstream.prompt_tail_in_completion", "hello", "decoded ids give", variants=["nonstream"]),
           FaultProof("nonstream.optin_leaks_special_tokens", "hello", "decoded ids give", variants=["nonstream"]),
           FaultProof("nonstream.ids_past_stop_string", "count_stop", "ids past a stop string", variants=["nonstream"]),
           FaultProof("nonstream.out_of_vocab", "hello", "outside the vocabulary", on="dynamo"),
           FaultProof("nonstream.reasoning_dropped", "hello", "decoded ids give '<think>",
                      variants=["nonstream"], on="reasoning"),
       ])
def check_roundtrip_nonstream(target, case):
    """decode(completion ids, skip_special_tokens=True) gives the message content (and tool calls)."""
    body = target.exchange(case, "nonstream").ok().json
    d, tok = target.dialect, target.tokenizer
    ids = require_id_list(d.completion_ids(body), "completion ids", tok.vocab_size)
    reply = reply_of(d, body)
    check_decoded_matches(tok, ids, reply, _stop_strings(case), "non-stream")


@check("decode.roundtrip.stream", needs=["stream"], requires=["ids.stream"], model_output=True,
       caught_by=[
           FaultProof("stream.drop_ids_on_empty_delta", "haiku", "decoded ids give"),
           FaultProof("stream.drop_ids_on_empty_delta", "flower_emoji", "decoded ids give"),
           FaultProof("stream.cumulative_as_delta", "hello", "decoded ids give"),
           FaultProof("stream.prompt_ids_every_chunk", "hello", "exactly one"),
           FaultProof("stream.drop_ids_on_tool_chunks", "weather_tools", "decoded ids call"),
           FaultProof("stream.prompt_ids_every_chunk", "hello", "exactly one", on="dynamo"),
       ])
def check_roundtrip_stream(target, case):
    """The stream's completion ids (per-chunk deltas concatenated, empty-delta chunks included;
    or the trailing / final cumulative list) decode to the streamed text; prompt ids appear on
    exactly one chunk (unless the dialect never echoes them: token-in)."""
    ex = target.exchange(case, "stream").ok()
    chunks = ex.stream.chunks
    d, tok = target.dialect, target.tokenizer
    found = d.stream_ids(chunks, request=ex.request)
    if len(found.prompt) != 1:
        where = [pos for pos, _ in found.prompt]
        raise Fail(f"prompt ids appear on {len(found.prompt)} chunks (positions {where}); expected exactly one",
                   chunks_with_prompt_ids=where)
    for pos, value in found.completion:
        if isinstance(value, list):
            require_id_list(value, f"completion ids on chunk {pos}", tok.vocab_size)
    ids = found.concatenated()
    reply = stream_reply_of(d, chunks)
    check_decoded_matches(tok, ids, reply, _stop_strings(case), "stream")
