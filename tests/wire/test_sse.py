from conformance.wire.sse import parse_stream


def test_parses_chunks_done_and_named_events():
    body = 'data: {"a": 1}\n\n: keep-alive\n\nevent: sglext_ids\ndata: {"x": 2}\n\ndata: [DONE]\n\n'
    p = parse_stream(body)
    assert p.chunks == [{"a": 1}] and p.done and p.named[0].event == "sglext_ids" and not p.problems


def test_reports_malformed_lines_and_data_after_done():
    p = parse_stream('data: {"a": 1\n\ngarbage\n\ndata: [DONE]\n\ndata: {"b": 2}\n\n')
    assert not p.chunks[:1] == [{"a": 1}]
    assert any("not JSON" in x for x in p.problems)
    assert any("not SSE" in x for x in p.problems)
    assert any("after [DONE]" in x for x in p.problems)


def test_missing_done_is_visible():
    assert not parse_stream('data: {"a": 1}\n\n').done
