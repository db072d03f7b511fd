"""Reply shape a token-id client relies on beyond the ids themselves."""
from conformance.checking.api import Fail, HandBuilt, check


@check("reply.content_string", needs=["nonstream"], requires=["content.string"],
       caught_by=[
           HandBuilt("tests/suites/test_checks_miles_overlay_recorded.py::test_content_null_beside_a_tool_call_fails",
                     "message.content null beside a tool call"),
       ])
def check_content_string(target, case):
    """Dialects whose client needs it (`content.string`: Miles' session server raises
    UpstreamResponseError on a null content, since it re-renders the assistant message into the
    next turn's prompt ids): every non-stream choice's message.content is a string, "" where the
    reply is only a tool call."""
    body = target.exchange(case, "nonstream").ok().json
    for choice in body.get("choices") or []:
        message = choice.get("message") or {}
        content = message.get("content")
        if not isinstance(content, str):
            calls = message.get("tool_calls") or []
            what = "missing" if "content" not in message else f"{content!r}"
            raise Fail(f"choice {choice.get('index', 0)}: message.content is {what}"
                       + (f" beside {len(calls)} tool call(s)" if calls else "")
                       + f"; dialect {target.dialect.name} requires a string (\"\" when there is no text)",
                       reply_message=message)
