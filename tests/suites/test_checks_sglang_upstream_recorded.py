"""Upstream SGLang 0.5.23, replayed from real recordings (fixtures/recordings/sglang-0.5.23):
the `sglang` chat dialect (non-stream return_token_ids, streamed sglext ids in a trailing
chunk) and the `sglang-generate` dialect (native /generate, cumulative stream)."""
import copy
import json

import pytest

from conformance.inputs.cases import load_cases
from conformance.wire.exchange import Exchange
from conformance.selftest.faults import FAULTS, serialize_stream
from conformance.running.runner import run_checks
from conformance.wire.sse import parse_stream
from conformance.wire.store import RecordedStore
from conformance.running.target import Target
from conformance.checking.client_tokenizer import Tokenizer
from support import RECORDINGS, Recorded, outcome, reason, CORE_CHECKS, only

UPSTREAM = RECORDINGS / "sglang-0.5.23"
CASES = RECORDINGS / "sglang-0.5.23-cases.yaml"
GENERATE_ONLY_CASES = RECORDINGS / "sglang-0.5.23-generate-cases.yaml"
ALL_CASES = ["hello", "count", "french", "haiku", "weather_tools", "weather_notools"]
ID_CHECKS = ["exposure.nonstream", "exposure.stream", "decode.roundtrip.nonstream", "decode.roundtrip.stream",
             "parity.stream_nonstream", "stream.chunk_consistency"]


@pytest.fixture(scope="module")
def sglang_tok():
    return Tokenizer.load(RECORDINGS / "sglang-model")


@pytest.fixture(scope="module")
def chat(sglang_tok):
    return Recorded(UPSTREAM / "chat_completions.jsonl", "sglang", sglang_tok, load_cases(CASES))


@pytest.fixture(scope="module")
def generate(sglang_tok):
    cases = load_cases(CASES) + load_cases(GENERATE_ONLY_CASES)
    return Recorded(UPSTREAM / "generate.jsonl", "sglang-generate", sglang_tok, cases)


def outcomes(results):
    return {(r.check, r.case): r.outcome.value for r in results}


# -- sglang: return_token_ids (non-stream) + sglext trailing chunk (stream) ------------------

def test_sglang_stream_requests_use_sglext_flags_and_match_the_recordings(chat):
    stream = Target(chat.dialect, chat.tokenizer, None, "tiny").request(load_cases(CASES)[0], "stream")
    assert stream.body["return_input_ids_in_sglext"] and stream.body["return_output_ids_in_sglext"]
    assert "return_token_ids" not in stream.body  # SGLang answers 400 to return_token_ids + stream
    nonstream = Target(chat.dialect, chat.tokenizer, None, "tiny").request(load_cases(CASES)[0], "nonstream")
    assert nonstream.body["return_token_ids"] is True


def test_every_check_passes_on_upstream_sglang_chat_including_streams(chat):
    got = outcomes(chat.run(served="tiny", select=only(*CORE_CHECKS)))  # the rest: test_catalog_sglang_recorded.py
    assert {got[(c, k)] for c in ID_CHECKS for k in ALL_CASES} == {"PASS"}, got
    assert got[("tools.call_parity", "weather_tools")] == "PASS"
    # with tools the model calls the tool, without it answers in text: not comparable, not failed
    assert got[("tools.with_without", "weather_tools")] == "INCONCLUSIVE"
    ran = {k: v for k, v in got.items() if v != "SKIP"}  # n=2 checks: no case tagged n_choices here
    assert len(ran) == len(ID_CHECKS) * len(ALL_CASES) + 2


@pytest.mark.parametrize("check,fault,case,words", [
    ("exposure.stream", "stream.drop_eos", "hello", "usage.completion_tokens is 16 but there are 15"),
    ("parity.stream_nonstream", "stream.drop_eos", "hello", "first differ at index 15"),
    ("exposure.stream", "stream.synthetic_final_repeats_ids", "french", "once, on a trailing chunk; 2 chunks"),
    ("decode.roundtrip.stream", "stream.synthetic_final_repeats_ids", "haiku", "prompt ids appear on 2 chunks"),
    ("exposure.stream", "stream.prompt_ids_missing", "count", "no chunk carries prompt ids (sglext.input_ids)"),
    # the trailing chunk files ids by position: choice 0's ids moved to index 1
    ("exposure.stream", "stream.choice_index_shifted", "hello", "no chunk carries completion ids"),
    ("decode.roundtrip.nonstream", "nonstream.drop_last_text_token", "hello", "decoded ids give"),
    ("tools.call_parity", "nonstream.retokenized_completion", "weather_tools", "decoded ids call"),
])
def test_checks_fail_on_faults_in_the_trailing_chunk_shape(chat, check, fault, case, words):
    results = chat.run(fault=fault, case=case, served="tiny")
    assert outcome(results, check, case) == "FAIL"
    assert words in reason(results, check, case)


# -- sglang-generate: native /generate -------------------------------------------------------

def test_generate_requests_are_the_recorded_ones(generate):
    target = Target(generate.dialect, generate.tokenizer, None, "tiny")
    spec = target.request(load_cases(CASES)[0], "stream")
    assert spec.path == "/generate" and "messages" not in spec.body and "model" not in spec.body
    assert spec.body["sampling_params"] == {"temperature": 0, "max_new_tokens": 64}
    assert spec.body["stream"] is True and "stream_options" not in spec.body
    recorded = [json.loads(line) for line in (UPSTREAM / "generate.jsonl").read_text().splitlines()]
    hello = next(r for r in recorded if r["case"] == "hello" and r["variant"] == "generate_stream_logprob")
    assert spec.body == hello["request"]  # the client-rendered input_ids are exactly what was sent


def test_generate_sampling_params_use_sglangs_names(generate):
    # /generate rejects unknown sampling params (HTTP 400 "unknown field `seed`"): n=2's seed is sampling_seed
    spec = Target(generate.dialect, generate.tokenizer, None, "tiny").request(load_cases(CASES)[0], "nonstream_n2")
    assert spec.body["sampling_params"] == {"temperature": 0.8, "max_new_tokens": 64, "n": 2, "sampling_seed": 1}


def test_trailing_chunk_faults_move_or_drop_ids_by_position(chat):
    from conformance.selftest.faults import FaultContext

    ctx = FaultContext(chat.dialect, chat.tokenizer)
    trailing = {"choices": [], "sglext": {"input_ids": [1, 2], "output_ids": [[5, 6], [7, 8]]}}
    chunks = [copy.deepcopy(trailing)]
    assert FAULTS["stream.ids_on_first_choice_only"].mutate(chunks, ctx)
    assert chunks[0]["sglext"]["output_ids"] == [[5, 6], []]
    chunks = [copy.deepcopy(trailing)]
    assert FAULTS["stream.choice_index_shifted"].mutate(chunks, ctx)
    assert chunks[0]["sglext"]["output_ids"] == [[], [5, 6], [7, 8]]


def test_every_check_passes_on_upstream_sglang_generate(generate):
    got = outcomes(generate.run(served="tiny"))
    cases = ALL_CASES + ["count_stop3", "hello_max1"]
    assert {got[(c, k)] for c in ID_CHECKS for k in cases} == {"PASS"}, got
    assert got[("tools.with_without", "weather_tools")] == "INCONCLUSIVE"
    results = generate.run(served="tiny")
    skipped = next(r for r in results if r.check == "tools.call_parity" and r.case == "weather_tools")
    assert skipped.outcome.value == "SKIP" and "parses no tool calls" in skipped.reason


@pytest.mark.parametrize("check,fault,case,words", [
    ("exposure.stream", "stream.delta_as_cumulative", "french", "do not extend chunk 0's"),
    ("decode.roundtrip.stream", "stream.delta_as_cumulative", "french", "decoded ids give"),
    ("exposure.stream", "stream.cumulative_as_delta", "haiku", "meta_info.completion_tokens is 47 but there are 1084"),
    ("parity.stream_nonstream", "stream.drop_eos", "hello", "first differ at index 15"),
    ("exposure.nonstream", "nonstream.usage_off_by_one", "hello", "meta_info.completion_tokens is 17"),
    ("decode.roundtrip.nonstream", "nonstream.drop_last_text_token", "count", "decoded ids give"),
    # the stop-string token is cut from the text anyway: only the count catches it missing from the ids
    ("exposure.nonstream", "nonstream.drop_last_text_token", "count_stop3", "meta_info.completion_tokens is 7 but there are 6"),
])
def test_generate_checks_fail_on_faults(generate, check, fault, case, words):
    results = generate.run(fault=fault, case=case, served="tiny")
    assert outcome(results, check, case) == "FAIL"
    assert words in reason(results, check, case)


def _as_incremental(ex: Exchange) -> Exchange:
    """The documented --incremental-streaming-output shape of a recorded cumulative /generate
    stream: each chunk's text, output_ids and output_token_logprobs become disjoint deltas."""
    parsed = parse_stream(ex.body)
    chunks, seen_ids, seen_text = copy.deepcopy(parsed.chunks), 0, 0
    for chunk in chunks:
        ids, text = chunk["output_ids"], chunk["text"]
        chunk["output_ids"], chunk["text"] = ids[seen_ids:], text[seen_text:]
        chunk["meta_info"]["output_token_logprobs"] = chunk["meta_info"]["output_token_logprobs"][seen_ids:]
        seen_ids, seen_text = len(ids), len(text)
    return Exchange(ex.method, ex.path, ex.request, ex.status, ex.headers, serialize_stream(chunks, parsed.done))


def test_incremental_variant_reads_deltas_and_catches_cumulative_chunks(sglang_tok):
    from conformance.dialects import load_dialect

    incremental = load_dialect("sglang-generate:incremental")
    assert incremental.stream_mode == "delta" and incremental.name == "sglang-generate:incremental"
    cases = load_cases(CASES)
    recorded = [Exchange.from_record(json.loads(line)) for line in (UPSTREAM / "generate.jsonl").read_text().splitlines()]
    as_deltas = [_as_incremental(e) if e.is_stream_request else e for e in recorded]
    got = outcomes(run_checks(Target(incremental, sglang_tok, RecordedStore(as_deltas), "tiny"), cases))
    assert {got[(c, k)] for c in ID_CHECKS for k in ALL_CASES} == {"PASS"}, got
    # a server still sending cumulative chunks to a client that reads deltas: ~n^2/2 ids
    got = outcomes(run_checks(Target(incremental, sglang_tok, RecordedStore(recorded), "tiny"), cases))
    assert {got[("exposure.stream", k)] for k in ALL_CASES} == {"FAIL"}


def test_headers_variant_asks_with_headers_and_reads_the_recorded_sglext(sglang_tok):
    """`sglang:headers`: the x-sglext-* headers, body untouched (recorded as variant p_)."""
    from conformance.dialects import load_dialect

    d = load_dialect("sglang:headers")
    hello = [c for c in load_cases(CASES) if c.id == "hello"]
    spec = Target(d, sglang_tok, None, "tiny").request(hello[0], "nonstream")
    assert dict(spec.headers) == {"x-sglext-return-input-ids": "1", "x-sglext-return-output-ids": "1"}
    assert "return_token_ids" not in spec.body and "return_output_ids_in_sglext" not in spec.body
    recorded = [Exchange.from_record(json.loads(line)) for line in (UPSTREAM / "chat_completions.jsonl").read_text().splitlines()]
    got = outcomes(run_checks(Target(d, sglang_tok, RecordedStore(recorded), "tiny"), hello,
                              select="check_exposure_nonstream or check_roundtrip_nonstream"))
    assert got == {("exposure.nonstream", "hello"): "PASS", ("decode.roundtrip.nonstream", "hello"): "PASS"}


def test_a_body_sent_with_opt_in_headers_is_not_the_plain_request(sglang_tok):
    # hello's plain body was recorded twice: bare (a_) and with x-sglext headers (p_, ids in sglext)
    from conformance.wire.requests import RequestSpec

    recorded = [Exchange.from_record(json.loads(line)) for line in (UPSTREAM / "chat_completions.jsonl").read_text().splitlines()]
    store = RecordedStore(recorded)
    body = {"model": "tiny", "messages": [{"role": "user", "content": "hello there"}], "temperature": 0, "max_tokens": 64}
    assert "sglext" not in store.get(RequestSpec("POST", "/v1/chat/completions", body)).json
    with_headers = RequestSpec("POST", "/v1/chat/completions", body,
                               headers=(("x-sglext-return-input-ids", "1"), ("x-sglext-return-output-ids", "1")))
    assert "sglext" in store.get(with_headers).json


def test_opt_in_headers_go_on_the_wire_and_into_the_recording(sglang_tok):
    from conformance.dialects import load_dialect
    from conformance.wire.transport import Sender
    from support import load_records
    from hostile import HostileServer

    d = load_dialect("sglang:headers")
    spec = Target(d, sglang_tok, None, "tiny").request(load_cases(CASES)[0], "nonstream")
    server = HostileServer(load_records(UPSTREAM / "chat_completions.jsonl"), "clean")
    with server as url:
        sender = Sender(url)
        ex = sender.send(spec)
        sender.close()
    assert server.seen_headers[-1]["x-sglext-return-output-ids"] == "1"
    assert ex.to_record()["request_headers"] == dict(spec.headers)
    assert Exchange.from_record(ex.to_record()).request_headers == dict(spec.headers)


@pytest.mark.parametrize("copies,want", [(2, "PASS"), (1, "FAIL")])
def test_generate_n2_answers_with_a_list_of_outputs(generate, copies, want):
    """SGLang's /generate answers n>1 non-stream with a JSON list, one object per sample (seen live:
    tests/live/test_sglang_dialects.py); here the recorded hello body stands for each sample."""
    import dataclasses

    from conformance.wire.store import RecordedStore
    from support import only

    case = dataclasses.replace(load_cases(CASES)[0], tags=frozenset({"n_choices"}))
    target = Target(generate.dialect, generate.tokenizer, None, "tiny")
    single = next(ex for ex in generate.exchanges() if ex.request == target.request(case, "nonstream").body)
    n2 = dataclasses.replace(single, request=target.request(case, "nonstream_n2").body,
                             body=json.dumps([json.loads(single.body)] * copies))
    target.store = RecordedStore([n2])
    results = run_checks(target, [case], select=only("n.per_choice.nonstream"))
    assert outcome(results, "n.per_choice.nonstream", case.id) == want, reason(results, "n.per_choice.nonstream", case.id)
    if want == "FAIL":
        assert "a list of 1 item(s), not 2 objects" in reason(results, "n.per_choice.nonstream", case.id)
