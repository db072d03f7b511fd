"""`dynamo:final-chunk`: Dynamo builds with PR #9509's contract send `nvext.completion_token_ids`
accumulated, once, on the final chunk. No such build is reachable: the exchanges are real Dynamo
1.6.1 exchanges with their per-chunk ids moved onto the finish chunk, by
fixtures/recordings/build_documented_shapes.py (the file name says `documented-shape`).

A conformant final-chunk engine passes; the faults of that contract FAIL it; and a 1.6.1 engine
(per-chunk ids) checked as final-chunk FAILS, naming the per-chunk ids."""
import importlib.util
import json

import pytest

from support import RECORDINGS, Recorded, load_records, outcome, reason, unexpected

FINAL = RECORDINGS / "dynamo-final-chunk.documented-shape.jsonl"
DYNAMO_VLLM = RECORDINGS / "dynamo-1.6.1-vllm-0.31.0-cpu.jsonl"


def _builder():
    spec = importlib.util.spec_from_file_location("build_documented_shapes", RECORDINGS / "build_documented_shapes.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def final(tokenizer, cases):
    return Recorded(FINAL, "dynamo:final-chunk", tokenizer, cases)


def _chunks(body):
    return [json.loads(line[6:]) for line in body.splitlines() if line.startswith("data: ") and line != "data: [DONE]"]


def test_fixture_is_exactly_what_the_build_script_makes():
    recs = _builder().dynamo_final_chunk_exchanges()
    for rec in recs:
        rec["dialect"] = "dynamo:final-chunk"
    assert load_records(FINAL) == json.loads(json.dumps(recs)), "edited by hand: rerun build_documented_shapes.py"


def test_each_stream_carries_the_real_ids_once_on_its_finish_chunk():
    real = {json.dumps(r["request"], sort_keys=True) + str(r.get("attempt")): r for r in load_records(DYNAMO_VLLM)}
    streams = [r for r in load_records(FINAL) if r["status"] == 200 and r["request"].get("stream")
               and r["request"].get("nvext")]
    assert len(streams) >= 10
    for rec in streams:
        chunks = _chunks(rec["body"])
        carrying = [i for i, c in enumerate(chunks) if "completion_token_ids" in (c.get("nvext") or {})]
        finish = [i for i, c in enumerate(chunks) if any(ch.get("finish_reason") for ch in c.get("choices") or [])]
        assert carrying == finish and len(finish) == 1, rec["case"]
        source = _chunks(real[json.dumps(rec["request"], sort_keys=True) + str(rec.get("attempt"))]["body"])
        per_chunk = [i for c in source for i in (c.get("nvext") or {}).get("completion_token_ids") or []]
        assert chunks[finish[0]]["nvext"]["completion_token_ids"] == per_chunk
        assert [c.get("choices") for c in chunks] == [c.get("choices") for c in source]  # text and chunking as recorded


def test_a_conformant_final_chunk_engine_passes(final):
    results = final.run()
    assert unexpected(results, ("PASS", "INCONCLUSIVE")) == []
    passed = {(r.check, r.case) for r in results if r.outcome.value == "PASS"}
    for case in ("hello", "haiku", "weather_tools", "flower_emoji"):
        for check in ("exposure.stream", "decode.roundtrip.stream", "parity.stream_nonstream", "hygiene.synthetic_final"):
            assert (check, case) in passed, (check, case)


def test_a_per_chunk_engine_checked_as_final_chunk_fails(tokenizer, cases):
    """Real Dynamo 1.6.1 streams per-chunk ids: declared final-chunk, it is told so."""
    results = Recorded(DYNAMO_VLLM, "dynamo:final-chunk", tokenizer, cases).run(select="exposure")
    assert outcome(results, "exposure.stream", "hello") == "FAIL"
    assert "per-chunk ids, as a delta dialect" in reason(results, "exposure.stream", "hello")
    assert outcome(results, "exposure.nonstream", "hello") == "PASS"  # the non-stream aggregate is the same


FINAL_FAULTS = [
    ("exposure.stream", "stream.final_ids_dropped", "hello", "no chunk carries them"),
    ("exposure.stream", "stream.final_ids_every_chunk", "haiku", "the same list repeated on every one"),
    ("parity.stream_nonstream", "stream.final_ids_every_chunk", "french", "first differ"),
    ("exposure.stream", "stream.final_ids_before_finish", "weather_tools", "the finish chunk is"),
    ("hygiene.synthetic_final", "stream.synthetic_final_repeats_ids", "hello", "after the finish chunk"),
    ("exposure.stream", "stream.drop_eos", "flower_emoji", "usage.completion_tokens"),
    ("exposure.stream", "stream.prompt_ids_missing", "french", "nvext.prompt_token_ids"),
    ("exposure.nonstream", "nonstream.null_completion_ids", "hello", "nvext.completion_token_ids) is null"),
    ("n.rejected", "rejection.as_success", "hello", "HTTP 200: served although"),
]


@pytest.mark.parametrize("check,fault,case,words", FINAL_FAULTS, ids=[f"{c}-{f}-{k}" for c, f, k, _ in FINAL_FAULTS])
def test_check_fails_on_its_fault_in_the_final_chunk_dialect(final, check, fault, case, words):
    results = final.run(fault=fault, case=case)
    assert outcome(results, check, case) == "FAIL", reason(results, check, case)
    assert words in reason(results, check, case)


def test_final_chunk_faults_have_nothing_to_break_in_a_delta_stream(tokenizer, cases):
    rec = Recorded(DYNAMO_VLLM, "dynamo", tokenizer, cases)
    with pytest.raises(AssertionError, match="found nothing to break"):
        rec.run(fault="stream.final_ids_every_chunk", case="hello", select="exposure")
