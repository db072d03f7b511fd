"""The checks on exchanges recorded from real SGLang 0.5.23 with the agentcore token-ids patch
(the `sglang-tokenids-patch` dialect): ids always on, per-chunk deltas, buffered flushes."""
import pytest

from conformance.inputs.cases import load_cases
from conformance.checking.client_tokenizer import Tokenizer
from support import unexpected, RECORDINGS, Recorded, outcome

# The checks these recordings were made for (-k matches suite modules and check functions); they hold
# no no-tools stream with usage for weather_tools, nor vanilla/logprobs/token-in requests:
# tests/test_catalog_sglang_recorded.py runs the rest of the catalogue where they allow.
SELECT = "(exposure or roundtrip or parity or chunk_consistency or n_per_choice) and not with_without"


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
    assert unexpected(results) == []
    assert len([r for r in results if r.outcome.value == "PASS"]) >= 3 * 6 + 1
    assert outcome(results, "n.per_choice.nonstream", "hello") == "PASS"  # real n=2 exchanges
    assert outcome(results, "n.per_choice.stream", "hello") == "PASS"


@pytest.mark.parametrize("check,fault,case", [
    ("parity.stream_nonstream", "stream.drop_eos", "hello"),
    ("decode.roundtrip.stream", "stream.drop_ids_on_tool_chunks", "weather_tools"),
    ("exposure.stream", "stream.cumulative_as_delta", "haiku"),
    ("tools.call_parity", "stream.drop_ids_on_tool_chunks", "weather_tools"),
])
def test_faults_are_caught_on_sglang_too(patched, check, fault, case):
    results = patched.run(fault=fault, case=case, select=SELECT, served="tiny")
    assert outcome(results, check, case) == "FAIL"


def test_upstream_sglang_on_the_three_shared_cases():
    # the full upstream matrix (streams through sglext included) is in test_checks_sglang_upstream_recorded.py
    tok = Tokenizer.load(RECORDINGS / "sglang-model")
    cases = load_cases(RECORDINGS / "sglang-cases.yaml")
    rec = Recorded(RECORDINGS / "sglang-0.5.23" / "chat_completions.jsonl", "sglang", tok, cases)
    # upstream was recorded with n=2 non-stream only (i_n2_sampled_return_token_ids)
    results = rec.run(served="tiny", select=SELECT + " and not n_per_choice_stream")
    assert outcome(results, "n.per_choice.nonstream", "hello") == "PASS"
    assert unexpected(results) == []
    results = rec.run(fault="nonstream.drop_last_text_token", case="hello", served="tiny")
    assert outcome(results, "decode.roundtrip.nonstream", "hello") == "FAIL"
