"""Dialects with no reachable engine or recording: LLM360's `sglang-completion-ids` fork and
`miles`. Their exchanges are built from the documented wire shape and REAL ids / bodies by
fixtures/recordings/build_documented_shapes.py (the file names say `documented-shape`)."""
import importlib.util
import json

import pytest

from conformance.inputs.cases import load_cases
from conformance.checking.client_tokenizer import Tokenizer
from support import RECORDINGS, ROOT, Recorded, fault_proofs, load_records, outcome, reason, CORE_CHECKS, only

COMPLETION_IDS = RECORDINGS / "sglang-completion-ids.documented-shape.jsonl"
MILES = RECORDINGS / "miles.documented-shape.jsonl"
SGLANG_CASES = RECORDINGS / "sglang-0.5.23-cases.yaml"


def _builder():
    spec = importlib.util.spec_from_file_location("build_documented_shapes", RECORDINGS / "build_documented_shapes.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_fixtures_are_exactly_what_the_build_script_makes():
    build = _builder()
    for path, recs, dialect in [(COMPLETION_IDS, build.completion_ids_exchanges(), "sglang-completion-ids"),
                                (MILES, build.miles_exchanges(), "miles")]:
        for rec in recs:
            rec["dialect"] = dialect
        assert load_records(path) == json.loads(json.dumps(recs)), f"{path.name} was edited by hand: rerun the script"


def test_completion_ids_fixture_carries_the_real_vllm_greedy_ids():
    vllm = {}
    for path in (RECORDINGS / "vllm-0.32.0-cpu.jsonl", RECORDINGS / "vllm-0.32.0-cpu-catalog.jsonl"):
        for r in load_records(path):
            if r["variant"] in ("nonstream", "next_turn"):
                body = {k: v for k, v in r["request"].items() if k != "return_token_ids"}
                vllm[json.dumps(body, sort_keys=True)] = json.loads(r["body"])
    built = [r for r in load_records(COMPLETION_IDS) if r["variant"] in ("nonstream", "next_turn")]
    assert len(built) >= 11 and {r["variant"] for r in built} == {"nonstream", "next_turn"}
    for rec in built:
        request = {k: v for k, v in rec["request"].items()
                   if k not in ("return_prompt_token_ids", "return_completion_token_ids")}
        source = vllm[json.dumps(request, sort_keys=True)]
        choice = json.loads(rec["body"])["choices"][0]
        assert choice["completion_token_ids"] == source["choices"][0]["token_ids"]
        assert choice["prompt_token_ids"] == source["prompt_token_ids"]


@pytest.fixture(scope="module")
def completion_ids(tokenizer, cases):
    scripted = [c for c in cases if c.reply is not None]  # the fixture was built from the scripted cases' replies
    return Recorded(COMPLETION_IDS, "sglang-completion-ids", tokenizer, scripted)


def test_completion_ids_checks_pass_on_streams_with_ids_on_the_finish_chunk(completion_ids):
    """LLM360's fork at 68b2135f streams with the flag: ids on each index's finish chunk."""
    results = completion_ids.run()
    by = {}
    for r in results:
        by.setdefault(r.outcome.value, []).append(r)
    assert "FAIL" not in by and "INCONCLUSIVE" not in by, by.get("FAIL")
    passed = {(r.check, r.case) for r in by["PASS"]}
    cases = [c.id for c in completion_ids.cases]
    assert {(c, k) for c in ("exposure.nonstream", "decode.roundtrip.nonstream", "template.prompt_ids") for k in cases} <= passed
    streamed = {r["case"] for r in load_records(COMPLETION_IDS) if r["variant"] == "stream"}
    assert len(streamed) >= 9
    assert {(c, k) for c in ("exposure.stream", "parity.stream_nonstream", "finish.eos.stream") for k in streamed
            if (c, k) in {(r.check, r.case) for r in results if r.outcome.value != "SKIP"}} <= passed
    assert {("exposure.stream", k) for k in streamed} <= passed and {("parity.stream_nonstream", k) for k in streamed} <= passed
    assert all(r.reason for r in by["SKIP"])  # every skip says why
    assert not any(r.check == "stream.rejected" and r.outcome.value != "SKIP" for r in results)
    # requests the documented shape cannot answer without inventing a response: vanilla streams,
    # logprobs, and the turn after a tool call (SGLang sends content "" where vLLM sent null)
    assert all(r.reason.startswith("no recorded exchange") for r in by.get("ERROR", []))


def test_completion_ids_shape_omits_unrequested_keys_and_streams_ids_on_the_finish_chunk():
    recs = load_records(COMPLETION_IDS)
    vanilla = [json.loads(r["body"])["choices"][0] for r in recs if r["variant"] == "plain_nonstream"]
    assert vanilla and all("completion_token_ids" not in c and "prompt_token_ids" not in c for c in vanilla)
    streams = [r for r in recs if r["variant"] == "stream"]
    assert streams and all(r["status"] == 200 and r["request"]["return_completion_token_ids"]
                           and r["request"]["return_prompt_token_ids"] for r in streams)
    for rec in streams:
        chunks = [json.loads(line[6:]) for line in rec["body"].splitlines() if line.startswith("data: {")]
        with_ids = [c for c in chunks if any("completion_token_ids" in ch for ch in c["choices"])]
        assert len(with_ids) == 1 and with_ids[0]["choices"][0]["finish_reason"] is not None


def _prefixes_concatenated(exchange):
    """The fork's stream on SGLang's default (cumulative) outputs: it extends its list with every
    output's `output_ids`, each repeating all ids so far, so the finish chunk holds every prefix."""
    import dataclasses

    lines = []
    for line in exchange.body.splitlines():
        if line.startswith("data: {"):
            chunk = json.loads(line[6:])
            for choice in chunk.get("choices") or []:
                ids = choice.get("completion_token_ids")
                if ids:
                    choice["completion_token_ids"] = [t for k in range(1, len(ids) + 1) for t in ids[:k]]
            line = "data: " + json.dumps(chunk)
        lines.append(line)
    return dataclasses.replace(exchange, body="\n".join(lines) + "\n")


def test_completion_ids_stream_checks_fail_on_the_default_mode_prefixes(completion_ids):
    from conformance.running.runner import run_checks
    from conformance.running.target import Target
    from conformance.wire.store import RecordedStore

    target = Target(completion_ids.dialect, completion_ids.tokenizer, None, "tiny-chat")
    target.store = RecordedStore([_prefixes_concatenated(ex) if ex.request.get("stream") else ex
                                  for ex in completion_ids.exchanges()])
    case = next(c for c in completion_ids.cases if c.id == "hello")
    results = run_checks(target, [case], select=only("exposure.stream", "parity.stream_nonstream"))
    assert outcome(results, "exposure.stream", "hello") == "FAIL", reason(results, "exposure.stream", "hello")
    assert outcome(results, "parity.stream_nonstream", "hello") == "FAIL"
    assert "usage.completion_tokens" in reason(results, "exposure.stream", "hello")


@pytest.mark.parametrize("check,fault,case,words", [
    ("exposure.nonstream", "nonstream.null_completion_ids", "hello", "choices[i].completion_token_ids) is null"),
    ("exposure.nonstream", "nonstream.prompt_ids_missing", "french", "prompt ids (choices[i].prompt_token_ids) is missing"),
    ("exposure.nonstream", "nonstream.drop_eos", "haiku", "usage.completion_tokens"),
    ("decode.roundtrip.nonstream", "nonstream.retokenized_completion", "weather_tools", "decoded ids call"),
    ("decode.roundtrip.nonstream", "nonstream.drop_last_text_token", "flower_emoji", "decoded ids give"),
])
def test_completion_ids_checks_fail_on_faults(completion_ids, check, fault, case, words):
    results = completion_ids.run(fault=fault, case=case)
    assert outcome(results, check, case) == "FAIL"
    assert words in reason(results, check, case)


@pytest.fixture(scope="module")
def miles():
    tok = Tokenizer.load(RECORDINGS / "sglang-model")
    return Recorded(MILES, "miles", tok, load_cases(SGLANG_CASES))


def test_miles_requests_carry_the_client_rendered_input_ids(miles):
    from conformance.running.target import Target

    upstream = {r["case"]: r for r in load_records(RECORDINGS / "sglang-0.5.23" / "chat_completions.jsonl")
                if r["variant"] == "h_token_in_input_ids"}
    target = Target(miles.dialect, miles.tokenizer, None, "tiny")
    for case in load_cases(SGLANG_CASES):
        body = target.request(case, "nonstream").body
        assert body["input_ids"] == upstream[case.id]["request"]["input_ids"]  # what SGLang itself rendered
        assert body["logprobs"] is True and body["return_meta_info"] is True and body["messages"]


def test_miles_checks_pass_on_real_sglang_meta_info_bodies(miles):
    results = miles.run(served="tiny", select=only(*CORE_CHECKS, "stream.rejected"))
    ran = {(r.check, r.case): r.outcome.value for r in results if r.outcome.value != "SKIP"}
    assert set(ran.values()) == {"PASS"} and len(ran) == 3 * 6
    assert {c for c, _ in ran} == {"exposure.nonstream", "decode.roundtrip.nonstream", "stream.rejected"}


@pytest.mark.parametrize("check,fault,case,words", [
    # Miles' own invariant: len(output_token_logprobs) == meta_info.completion_tokens
    ("exposure.nonstream", "nonstream.declared_count_off_by_one", "weather_tools",
     "choices[i].meta_info.completion_tokens is 30 but there are 29 completion ids"),
    ("exposure.nonstream", "nonstream.drop_eos", "count", "usage.completion_tokens is 15 but there are 14"),
    ("exposure.nonstream", "nonstream.string_ids", "french", "is '36' (str), not an int"),
    ("decode.roundtrip.nonstream", "nonstream.drop_last_text_token", "hello", "decoded ids give"),
])
def test_miles_checks_fail_on_faults(miles, check, fault, case, words):
    results = miles.run(fault=fault, case=case, served="tiny")
    assert outcome(results, check, case) == "FAIL"
    assert words in reason(results, check, case)


# `stream: true` with return_completion_token_ids / return_meta_info is a 400: the faults stream.rejected
# declares on="miles" break that refusal (the error must name the field under test, as a word)
@pytest.mark.parametrize("check,proof", fault_proofs("miles"))
@pytest.mark.parametrize("which,served", [("miles", "tiny")])
def test_stream_rejection_fails_when_the_refusal_breaks(request, which, served, check, proof):
    rec = request.getfixturevalue(which)
    assert outcome(rec.run(select="stream_rejected", served=served), check, proof.case) == "PASS"
    results = rec.run(fault=proof.fault, case=proof.case, select="stream_rejected", served=served)
    assert outcome(results, check, proof.case) == "FAIL"
    assert proof.words in reason(results, check, proof.case)


def test_a_refusal_of_two_refused_flags_at_once_proves_nothing(miles):
    """A profile that declares both forced fields refused with streams: the recorded stream request
    carries both, so its refusal is evidence about neither (INCONCLUSIVE, not PASS)."""
    import dataclasses

    original = miles.dialect
    miles.dialect = dataclasses.replace(original, rejects_stream=("return_meta_info", "logprobs"))
    try:
        results = miles.run(select="stream_rejected", served="tiny")
    finally:
        miles.dialect = original
    assert outcome(results, "stream.rejected", "hello") == "INCONCLUSIVE"
    assert "proves nothing about either" in reason(results, "stream.rejected", "hello")


def test_miles_n2_choices_share_the_prompt_ids_the_client_sent(miles):
    """Miles echoes no prompt ids ($request.input_ids): with n=2 every choice's prompt is the one
    sent. The n=2 body is the recorded hello body with its choice repeated at index 1 (a live
    SGLang n=2 run is in tests/live/test_sglang_dialects.py)."""
    import copy
    import dataclasses

    from conformance.running.runner import run_checks
    from conformance.running.target import Target
    from conformance.wire.store import RecordedStore

    case = dataclasses.replace(load_cases(SGLANG_CASES)[0], tags=frozenset({"n_choices"}))
    target = Target(miles.dialect, miles.tokenizer, None, "tiny")
    spec = target.request(case, "nonstream_n2")
    single = next(ex for ex in miles.exchanges() if ex.request == target.request(case, "nonstream").body)
    body = json.loads(single.body)
    second = copy.deepcopy(body["choices"][0])
    second["index"] = 1
    body["choices"].append(second)
    n2 = dataclasses.replace(single, request=spec.body, body=json.dumps(body))
    target.store = RecordedStore([n2])
    results = run_checks(target, [case], select=only("n.per_choice.nonstream"))
    assert outcome(results, "n.per_choice.nonstream", case.id) == "PASS", reason(results, "n.per_choice.nonstream", case.id)


@pytest.fixture(scope="module")
def stop_ignored(tokenizer, cases):
    """Real vLLM exchanges of the `count_stop` case (stop string applied) read by a dialect that
    declares Miles' patch's `stop_strings: ignored` (non-stream only: the cut is in one place)."""
    import dataclasses

    rec = Recorded(RECORDINGS / "vllm-0.32.0-cpu.jsonl", "vllm", tokenizer, [c for c in cases if c.id == "count_stop"])
    rec.dialect = dataclasses.replace(rec.dialect, stop_strings="ignored",
                                      features=rec.dialect.features - {"ids.stream"})
    return rec


def _run_stop_check(rec, exchanges):
    from conformance.running.runner import run_checks
    from conformance.running.target import Target
    from conformance.wire.store import RecordedStore

    target = Target(rec.dialect, rec.tokenizer, None, "tiny-chat")
    target.store = RecordedStore(exchanges)
    return run_checks(target, rec.cases, select=only("finish.stop_string"))


def test_stop_strings_ignored_fails_where_the_stop_string_cut_the_reply(stop_ignored):
    results = _run_stop_check(stop_ignored, stop_ignored.exchanges())
    assert outcome(results, "finish.stop_string", "count_stop") == "FAIL"
    assert "the stop string was applied (the dialect declares stop_strings: ignored)" in \
        reason(results, "finish.stop_string", "count_stop")


def test_stop_strings_ignored_passes_where_the_reply_runs_past_it(stop_ignored, tokenizer):
    import dataclasses

    uncut = []
    for ex in stop_ignored.exchanges():
        if ex.request.get("stream") or not ex.body.startswith("{"):
            uncut.append(ex)
            continue
        body = json.loads(ex.body)
        choice = body["choices"][0]
        choice["message"]["content"] = tokenizer.decode(choice["token_ids"])  # the text the ids hold, uncut
        uncut.append(dataclasses.replace(ex, body=json.dumps(body)))
    results = _run_stop_check(stop_ignored, uncut)
    assert outcome(results, "finish.stop_string", "count_stop") == "PASS", reason(results, "finish.stop_string", "count_stop")
