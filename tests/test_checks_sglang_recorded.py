"""The checks on exchanges recorded from real SGLang 0.5.23 with the agentcore token-ids patch
(the `sglang-tokenids-patch` dialect): ids always on, per-chunk deltas, buffered flushes."""
import pytest

from conformance.cases import load_cases
from conformance.tokenizer import Tokenizer
from conftest import RECORDINGS, Recorded, outcome

SELECT = "not with_without"  # the recordings hold no no-tools stream with usage for weather_tools


@pytest.fixture(scope="module")
def patched():
    tok = Tokenizer.load(RECORDINGS / "sglang-model")
    cases = load_cases(RECORDINGS / "sglang-cases.yaml")
    rec = Recorded(RECORDINGS / "sglang-0.5.x-agentcore-patch" / "chat_completions.jsonl",
                   "sglang-tokenids-patch", tok, cases)
    rec.served = "tiny"
    return rec


def test_every_check_passes_on_the_patched_sglang(patched):
    results = patched.run(select=SELECT, served="tiny")
    assert {r.outcome.value for r in results} == {"PASS"}, [(r.check, r.case, r.reason) for r in results]
    assert len(results) == 3 * 5 + 1  # five checks over three cases, tool-call parity on one


@pytest.mark.parametrize("check,fault,case", [
    ("parity.stream_nonstream", "stream.drop_eos", "hello"),
    ("decode.roundtrip.stream", "stream.drop_ids_on_tool_chunks", "weather_tools"),
    ("exposure.stream", "stream.cumulative_as_delta", "haiku"),
    ("tools.call_parity", "stream.drop_ids_on_tool_chunks", "weather_tools"),
])
def test_faults_are_caught_on_sglang_too(patched, check, fault, case):
    results = patched.run(fault=fault, case=case, select=SELECT, served="tiny")
    assert outcome(results, check, case) == "FAIL"


def test_upstream_sglang_nonstream_ids_pass_and_stream_checks_skip_with_reason():
    tok = Tokenizer.load(RECORDINGS / "sglang-model")
    cases = load_cases(RECORDINGS / "sglang-cases.yaml")
    rec = Recorded(RECORDINGS / "sglang-0.5.23" / "chat_completions.jsonl", "sglang", tok, cases)
    results = rec.run(served="tiny")
    ran = {(r.check, r.case): r.outcome.value for r in results if r.outcome.value != "SKIP"}
    assert ran == {(c, k): "PASS" for c in ("exposure.nonstream", "decode.roundtrip.nonstream")
                   for k in ("hello", "haiku", "weather_tools")}
    skipped = [r for r in results if r.outcome.value == "SKIP"]
    assert skipped and all("does not declare ids.stream" in r.reason for r in skipped)
    # and the fault is still caught in this dialect's shape
    results = rec.run(fault="nonstream.drop_last_text_token", case="hello", served="tiny")
    assert outcome(results, "decode.roundtrip.nonstream", "hello") == "FAIL"
