"""Logprob alignment on upstream SGLang 0.5.23's chat (the `sglang` dialect), replayed from its
own replies to tiny-chat (recorded live with `tokconf verify --engine sglang -k logprobs --record`):
entries named by their text or bytes, as SGLang sends them, pass; one entry short or shifted FAILs."""
import pytest

from conformance.checking.client_tokenizer import Tokenizer
from conformance.inputs.cases import load_cases
from support import RECORDINGS, ROOT, Recorded, only, outcome, reason

RECORDING = RECORDINGS / "sglang-0.5.23-cpu-tiny-chat-logprobs.jsonl"
SERVED = "fixtures/tiny-chat"  # the name the recording's engine served
CHECKS = ("logprobs.alignment.nonstream", "logprobs.alignment.bare")


@pytest.fixture(scope="module")
def sglang_logprobs():
    return Recorded(RECORDING, "sglang", Tokenizer.load(ROOT / "fixtures" / "tiny-chat"),
                    load_cases(ROOT / "fixtures" / "cases" / "default.yaml"))


def test_sglang_chat_logprobs_align_with_its_ids(sglang_logprobs):
    results = sglang_logprobs.run(served=SERVED, select=only(*CHECKS))
    assert len(results) == 22
    assert {r.outcome.value for r in results} == {"PASS"}, [(r.check, r.case, r.reason) for r in results]


@pytest.mark.parametrize("check,variant", [("logprobs.alignment.nonstream", "logprobs_nonstream"),
                                           ("logprobs.alignment.bare", "logprobs_bare_nonstream")])
@pytest.mark.parametrize("fault,words", [("nonstream.logprobs_one_short", "logprob entries for"),
                                         ("nonstream.logprobs_shifted", "entry 0 names")])
def test_sglang_chat_logprobs_one_short_or_shifted_fail(sglang_logprobs, check, variant, fault, words):
    results = sglang_logprobs.run(fault=fault, case="french", variants=[variant], served=SERVED, select=only(check))
    assert outcome(results, check, "french") == "FAIL", reason(results, check, "french")
    assert words in reason(results, check, "french")
