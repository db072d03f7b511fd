"""Tools: attaching tools must not change the ids of a plain answer, and a streamed tool call
carries the same ids as the non-streamed one."""
from conformance.checking.api import Fail, Inconclusive, check, skip
from conformance.checking.replies import tool_calls_in_text
from conformance.checking.id_sequences import assert_same_ids


@check("tools.with_without", needs=["stream", "stream_notools"], requires=["ids.stream"],
       case_filter=lambda case: bool(case.tools), model_output=True)
def check_tools_with_without(target, case):
    """The same messages streamed with and without `tools`: where the two replies' texts agree,
    their completion ids are identical. Where the model answered differently (it called the
    tool, say), the outcome is INCONCLUSIVE: the ids cannot be compared."""
    d, tok = target.dialect, target.tokenizer
    with_tools = target.exchange(case, "stream").ok().stream.chunks
    without = target.exchange(case, "stream_notools").ok().stream.chunks
    text_with, text_without = d.stream_reply(with_tools).as_text(), d.stream_reply(without).as_text()
    if text_with != text_without:
        raise Inconclusive(f"the model answered differently with tools ({text_with[:60]!r}) and without "
                           f"({text_without[:60]!r}); completion ids not comparable")
    assert_same_ids(tok, "ids with tools", d.stream_ids(with_tools).concatenated(),
                    "ids without tools", d.stream_ids(without).concatenated())


@check("tools.call_parity", needs=["nonstream", "stream"], requires=["ids.nonstream", "ids.stream"],
       case_tags=["tool_call"], model_output=True)
def check_tool_call_parity(target, case):
    """A streamed tool call carries the same completion ids as the non-streamed one, and the
    decoded ids of each hold the same function name and arguments as its parsed tool call."""
    d, tok = target.dialect, target.tokenizer
    if not d.parses_tool_calls:
        skip(f"dialect {d.name} returns raw text: the server parses no tool calls to compare the ids with")
    body = target.exchange(case, "nonstream").ok().json
    chunks = target.exchange(case, "stream").ok().stream.chunks
    replies = {"non-stream": d.reply(body), "stream": d.stream_reply(chunks)}
    ids = {"non-stream": d.completion_ids(body), "stream": d.stream_ids(chunks).concatenated()}
    for mode, reply in replies.items():
        if not reply.tool_calls:
            raise Inconclusive(f"the {mode} reply holds no tool call (the model answered {reply.content[:60]!r})")
        if not isinstance(ids[mode], list):
            raise Fail(f"the {mode} response carries no completion ids")
        split = tool_calls_in_text(tok.decode(ids[mode]))
        calls = [(c.name, c.arguments) for c in split[1]] if split else None
        wanted = [(c.name, c.arguments) for c in reply.tool_calls]
        if calls != wanted:
            raise Fail(f"{mode}: the decoded ids call {calls}, the parsed tool calls are {wanted}",
                       decoded=tok.decode(ids[mode]))
    assert_same_ids(tok, "non-stream ids", ids["non-stream"], "stream ids", ids["stream"])
