"""The wire, fuzzed (Hypothesis): hostile stream bodies (binary, huge lines, frames cut anywhere,
[DONE] misplaced) and mutated JSON responses, read through every shipped dialect as the checks
read them. What comes back is data, a verdict (Fail, Inconclusive) or an ExchangeError (the
checks' ERROR/FAIL): never another exception, never a hang."""
from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from support import ROOT
from conformance.checking.api import Fail, Inconclusive
from conformance.checking.dialect_replies import reply_of, stream_reply_of
from conformance.dialects import ShapeError, builtin_names, load_dialect
from conformance.wire.exchange import Exchange, ExchangeError
from conformance.wire.sse import parse_stream
from fuzzing import FUZZ, json_values, mutants

VERDICTS = (Fail, Inconclusive, ExchangeError, ShapeError)  # ProtocolViolation is an ExchangeError
RECORDING = ROOT / "fixtures" / "recordings" / "vllm-0.32.0-cpu.jsonl"
RECORDS = [json.loads(line) for line in RECORDING.read_text().splitlines() if line.strip()]
STREAMED = next(r for r in RECORDS if (r["request"] or {}).get("stream") and r["status"] == 200)
WHOLE = next(r for r in RECORDS if not (r["request"] or {}).get("stream") and r["status"] == 200)

hostile_text = (st.text(max_size=400) | st.binary(max_size=400).map(lambda b: b.decode("latin-1"))
                | st.integers(10_000, 200_000).map(lambda n: "data: " + "x" * n)  # one huge line
                | st.sampled_from(["data: [DONE]\n\ndata: {}\n\n", "data:\ndata:\n\n", "\r\n\r\n", ":" * 100,
                                   "event: error\ndata: {\"error\": 1}\n\n", "data: [DONE]\n\ndata: [DONE]\n\n"]))


@FUZZ
@given(hostile_text)
def test_any_text_parses_into_chunks_and_problems(body):
    parsed = parse_stream(body)
    assert all(isinstance(c, dict) for c in parsed.chunks)


@st.composite
def cut_frames(draw):
    """The recorded stream's frames, some cut, dropped, doubled or joined with other separators."""
    frames = [f for f in STREAMED["body"].split("\n\n") if f]
    out = []
    for frame in frames:
        how = draw(st.sampled_from(["keep", "keep", "cut", "drop", "double", "crlf"]))
        if how == "cut":
            frame = frame[:draw(st.integers(0, len(frame)))]
        out += {"keep": [frame], "cut": [frame], "drop": [], "double": [frame, frame],
                "crlf": [frame.replace("\n", "\r\n")]}[how]
    return "\n\n".join(out) + draw(st.sampled_from(["\n\n", "", "\n", "\x00"]))


DIALECTS = builtin_names()


@pytest.mark.parametrize("dialect", DIALECTS)
def test_hostile_streams_read_through_every_dialect(dialect):
    d = load_dialect(dialect)

    @FUZZ
    @given(cut_frames() | hostile_text, st.sampled_from(["text/event-stream", "application/json", "text/html", None]))
    def run(body, ctype):
        ex = Exchange("POST", STREAMED["path"], STREAMED["request"], 200,
                      {"content-type": ctype} if ctype else {}, body)
        try:
            chunks = ex.ok().stream.chunks
            d.stream_ids(chunks, request=ex.request)
            stream_reply_of(d, chunks)
        except VERDICTS:
            pass

    run()


@pytest.mark.parametrize("dialect", DIALECTS)
def test_mutated_responses_read_through_every_dialect(dialect):
    d = load_dialect(dialect)
    chunks = parse_stream(STREAMED["body"]).chunks

    @FUZZ
    @given(mutants(json.loads(WHOLE["body"])), mutants(chunks), json_values)
    def run(whole, stream, request):
        for call in (lambda: d.prompt_ids(whole, request=WHOLE["request"]), lambda: d.completion_ids(whole),
                     lambda: reply_of(d, whole), lambda: d.completion_counts(whole),
                     lambda: d.stream_ids(stream if isinstance(stream, list) else [stream],
                                          request=request if isinstance(request, dict) else None),
                     lambda: stream_reply_of(d, stream if isinstance(stream, list) else [stream])):
            try:
                call()
            except VERDICTS:
                pass

    run()
