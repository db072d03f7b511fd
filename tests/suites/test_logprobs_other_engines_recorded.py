"""Logprob alignment beyond vLLM, replayed from the engines' own replies to tiny-chat (recorded
live with `tokconf verify --engine ... -k logprobs --record`): upstream SGLang 0.5.23's chat (the
`sglang` dialect: entries named by their text or bytes) and Dynamo 1.6.1 over its vLLM worker
(`dynamo`: entries carry their int `token_id`). Each passes as recorded; one entry short or the
entries shifted by one FAILs."""
import pytest

from conformance.checking.client_tokenizer import Tokenizer
from conformance.inputs.cases import load_cases
from support import RECORDINGS, ROOT, Recorded, only, outcome, reason

SERVED = "fixtures/tiny-chat"  # the name the recordings' engines served
RECORDINGS_BY_DIALECT = {
    "sglang": (RECORDINGS / "sglang-0.5.23-cpu-tiny-chat-logprobs.jsonl", 22),  # its stream ids: one trailing list
    "dynamo": (RECORDINGS / "dynamo-1.6.1-vllm-0.31.0-cpu-logprobs.jsonl", 33),
}
CHECKS = ("logprobs.alignment.nonstream", "logprobs.alignment.bare", "logprobs.alignment.stream")


@pytest.fixture(scope="module", params=sorted(RECORDINGS_BY_DIALECT))
def recorded(request):
    path, _ = RECORDINGS_BY_DIALECT[request.param]
    return Recorded(path, request.param, Tokenizer.load(ROOT / "fixtures" / "tiny-chat"),
                    load_cases(ROOT / "fixtures" / "cases" / "default.yaml"))


def test_logprobs_align_with_the_ids_as_recorded(recorded):
    results = recorded.run(served=SERVED, select=only(*CHECKS))
    ran = [r for r in results if r.outcome.value != "SKIP"]
    assert len(ran) == RECORDINGS_BY_DIALECT[recorded.dialect.name][1]
    assert {r.outcome.value for r in ran} == {"PASS"}, [(r.check, r.case, r.reason) for r in ran]


@pytest.mark.parametrize("check,variant", [("logprobs.alignment.nonstream", "logprobs_nonstream"),
                                           ("logprobs.alignment.bare", "logprobs_bare_nonstream")])
@pytest.mark.parametrize("fault,words", [("nonstream.logprobs_one_short", "logprob entries for"),
                                         ("nonstream.logprobs_shifted", "entry 0 names")])
def test_logprobs_one_short_or_shifted_fail(recorded, check, variant, fault, words):
    results = recorded.run(fault=fault, case="french", variants=[variant], served=SERVED, select=only(check))
    assert outcome(results, check, "french") == "FAIL", reason(results, check, "french")
    assert words in reason(results, check, "french")
