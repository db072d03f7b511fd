"""Tools: attaching tools must not change the ids of a plain answer, and a streamed tool call
carries the same ids as the non-streamed one."""
from conformance.checking.api import Fail, FaultProof, Inconclusive, check, skip
from conformance.checking.replies import calls_in_decoded, content_in_decoded, describe_calls, same_calls
from conformance.checking.id_sequences import assert_same_ids
from conformance.checking.dialect_replies import reply_of, stream_reply_of
from conformance.checking.text_divergence import describe_text_divergence


@check("tools.with_without", needs=["stream", "stream_notools"], requires=["ids.stream"],
       case_filter=lambda case: bool(case.tools), model_output=True,
       caught_by=[
           FaultProof("stream.drop_eos", "capital_tools", "first differ", variants=["stream"]),
           FaultProof("stream.synthetic_final_repeats_ids", "weather_followup", "first differ", variants=["stream"]),
       ])
def check_tools_with_without(target, case):
    """The same messages streamed with and without `tools`: where the two replies' texts agree,
    their completion ids are identical. Where the model answered differently (it called the
    tool, say), the outcome is INCONCLUSIVE: the ids cannot be compared."""
    d, tok = target.dialect, target.tokenizer
    with_tools = target.exchange(case, "stream").ok().stream.chunks
    without = target.exchange(case, "stream_notools").ok().stream.chunks
    reply_with, reply_without = stream_reply_of(d, with_tools), stream_reply_of(d, without)
    if not (reply_with.has_text() and reply_without.has_text()):
        raise Inconclusive("a reply has no text (no content, reasoning or tool call) to tell whether the model "
                           "answered the same with and without tools; completion ids not comparable")
    text_with, text_without = reply_with.as_text(), reply_without.as_text()
    if text_with != text_without:
        # where they first differ, not two fixed-length previews (which may be the same 60 characters)
        where = describe_text_divergence(text_with, text_without, "the reply with tools", "without")
        raise Inconclusive(f"the model answered differently with tools and without, {where}; completion ids not "
                           "comparable", with_tools=text_with, without_tools=text_without)
    assert_same_ids(tok, "ids with tools", d.stream_ids(with_tools).concatenated(),
                    "ids without tools", d.stream_ids(without).concatenated())


@check("tools.call_parity", needs=["nonstream", "stream"], requires=["ids.nonstream", "ids.stream"],
       case_tags=["tool_call"], model_output=True,
       caught_by=[
           FaultProof("stream.drop_ids_on_tool_chunks", "weather_tools", "decoded ids call"),
           FaultProof("nonstream.retokenized_completion", "weather_tools", "decoded ids call"),
           FaultProof("stream.drop_ids_on_tool_chunks", "weather_tools", "decoded ids call", on="dynamo"),
       ])
def check_tool_call_parity(target, case):
    """A streamed tool call carries the same completion ids as the non-streamed one, and the
    decoded ids of each hold the same function name and arguments as its parsed tool call.
    The same ids parsed to a tool call on one side only is a FAIL (the engine's stream and
    non-stream tool parsers disagree); a model that calls no tool is INCONCLUSIVE."""
    d, tok = target.dialect, target.tokenizer
    if not d.parses_tool_calls:
        skip(f"dialect {d.name} returns raw text: the server parses no tool calls to compare the ids with")
    body = target.exchange(case, "nonstream").ok().json
    chunks = target.exchange(case, "stream").ok().stream.chunks
    replies = {"non-stream": reply_of(d, body), "stream": stream_reply_of(d, chunks)}
    ids = {"non-stream": d.completion_ids(body), "stream": d.stream_ids(chunks).concatenated()}
    for mode in replies:
        if not isinstance(ids[mode], list):
            raise Fail(f"the {mode} response carries no completion ids")
    calling = [mode for mode, reply in replies.items() if reply.tool_calls]
    if not calling:
        raise Inconclusive(f"the model called no tool (it answered {replies['non-stream'].content[:60]!r}): "
                           "the case expects a tool call, this model does not make one")
    if len(calling) == 1:
        if ids["non-stream"] == ids["stream"]:
            other = "stream" if calling == ["non-stream"] else "non-stream"
            raise Fail(f"the same completion ids parse to a tool call in the {calling[0]} reply only: the engine's "
                       f"{calling[0]} and {other} tool parsers disagree; non-stream reply "
                       f"{replies['non-stream'].as_text()[:200]!r}, stream reply {replies['stream'].as_text()[:200]!r}",
                       nonstream_reply=replies["non-stream"].as_text(), stream_reply=replies["stream"].as_text(),
                       decoded=tok.decode(ids["non-stream"]))
        raise Inconclusive(f"only the {calling[0]} reply calls a tool and the two replies have different ids: "
                           "the model answered differently, nothing to compare")
    for mode, reply in replies.items():
        # read by the chat template's markup family; markup tokconf cannot read is INCONCLUSIVE
        text = content_in_decoded(tok.decode(ids[mode]), reply) or ""
        _, calls = calls_in_decoded(tok, ids[mode], text, reply.tool_calls, mode)
        if not same_calls(calls, reply.tool_calls):
            raise Fail(f"{mode}: the decoded ids call {describe_calls(calls)}, the parsed tool calls are "
                       f"{describe_calls(reply.tool_calls)}", decoded=tok.decode(ids[mode]))
    assert_same_ids(tok, "non-stream ids", ids["non-stream"], "stream ids", ids["stream"])
