"""Greedy stream / non-stream parity: the same request gives the same ids either way."""
from conformance.checking.api import Fail, FaultProof, check, skip
from conformance.checking.id_sequences import assert_same_ids, require_id_list
from conformance.checking.dialect_replies import reply_of, stream_reply_of


@check("parity.stream_nonstream", needs=["nonstream", "stream"], requires=["ids.nonstream", "ids.stream"], model_output=True,
       caught_by=[
           FaultProof("stream.drop_eos", "hello", "first differ at index 13"),
           FaultProof("stream.synthetic_final_repeats_ids", "french", "first differ"),
           FaultProof("nonstream.retokenized_completion", "french", "first differ"),
           FaultProof("stream.cut_before_done", "french", "without `data: [DONE]`"),
           FaultProof("stream.synthetic_final_repeats_ids", "haiku", "first differ", on="dynamo"),
           FaultProof("nonstream.drop_eos", "hello", "first differ", on="dynamo"),
           FaultProof("nonstream.reasoning_dropped", "hello", "same ids but different text",
                      variants=["nonstream"], on="reasoning"),
       ])
def check_parity_stream_nonstream(target, case):
    """Under greedy decoding the stream and the non-stream response have identical prompt ids,
    completion ids and text. On failure: the first divergence, with the tokens around it."""
    if not case.is_greedy:
        skip("the case does not decode greedily (temperature 0, n 1)")
    d, tok = target.dialect, target.tokenizer
    ns_ex, st_ex = target.exchange(case, "nonstream").ok(), target.exchange(case, "stream").ok()
    body, chunks = ns_ex.json, st_ex.stream.chunks
    found = d.stream_ids(chunks, request=st_ex.request)
    if not found.prompt:
        raise Fail("the stream carries no prompt ids")
    vocab = tok.vocab_size
    ns_prompt = require_id_list(d.prompt_ids(body, request=ns_ex.request), "non-stream prompt ids", vocab)
    st_prompt = require_id_list(found.prompt[0][1], "stream prompt ids", vocab)
    assert_same_ids(tok, "non-stream prompt ids", ns_prompt, "stream prompt ids", st_prompt)
    ns_ids = require_id_list(d.completion_ids(body), "non-stream completion ids", vocab)
    assert_same_ids(tok, "non-stream completion ids", ns_ids, "stream completion ids", found.concatenated())
    # as_text: reasoning, content and tool calls, so a reasoning split differently fails too
    ns_reply, st_reply = reply_of(d, body), stream_reply_of(d, chunks)
    ns_text, st_text = ns_reply.as_text(), st_reply.as_text()
    if ns_text != st_text:
        raise Fail(f"same ids but different text: non-stream {ns_text!r}, stream {st_text!r}")
    # as_text forgives the whitespace at the reasoning/content join (the ids cannot say whose it
    # is, so the decode rule must); but two modes of one engine giving other whitespace for the
    # same ids is a disagreement a client sees: content '\n\n\n' in one, null in the other
    for field in ("reasoning", "content"):
        ns_value, st_value = getattr(ns_reply, field), getattr(st_reply, field)
        if ns_value != st_value:
            raise Fail(f"same ids, same text but for whitespace: the {field} is {ns_value!r} in the non-stream "
                       f"response, {st_value!r} in the stream", field=field, nonstream=ns_value, stream=st_value)
