"""The catalogue's checks that real SGLang recordings allow: template parity, finish semantics and
chunk hygiene pass; the openai SDK's typed models reject SGLang's `metadata.weight_versions`."""
import pytest

from conformance.cases import load_cases
from conformance.tokenizer import Tokenizer
from conftest import RECORDINGS, Recorded, outcome, reason

CASES = ("hello", "haiku", "weather_tools")


@pytest.fixture(scope="module")
def sglang_tok():
    return Tokenizer.load(RECORDINGS / "sglang-model")


@pytest.fixture(scope="module")
def patched(sglang_tok):
    cases = load_cases(RECORDINGS / "sglang-cases.yaml")
    return Recorded(RECORDINGS / "sglang-0.5.x-agentcore-patch" / "chat_completions.jsonl",
                    "sglang-tokenids-patch", sglang_tok, cases)


def test_template_finish_and_hygiene_pass_on_patched_sglang(patched):
    results = patched.run(select="template or finish or hygiene", served="tiny")
    for check in ("template.prompt_ids", "finish.eos.nonstream", "finish.eos.stream", "hygiene.synthetic_final",
                  "hygiene.delta_or_cumulative"):
        for case in CASES:
            assert outcome(results, check, case) == "PASS", (check, case, reason(results, check, case))


def test_vanilla_checks_on_an_always_on_dialect(patched):
    results = patched.run(select="vanilla", served="tiny")
    # the patch has no opt-in: there is no vanilla response to keep clean, nor two to compare
    assert "unrequested: always" in reason(results, "vanilla.no_extension_keys", "hello")
    assert outcome(results, "vanilla.optin_equal.nonstream", "hello") == "SKIP"
    # a real finding: SGLang 0.5.23 sends metadata.weight_versions (a list) where the OpenAI
    # schema's `metadata` maps strings to strings
    assert outcome(results, "vanilla.openai_schema", "hello") == "FAIL"
    assert "metadata.weight_versions" in reason(results, "vanilla.openai_schema", "hello")


def test_hygiene_catches_cumulative_ids_in_sglang_shape(patched):
    results = patched.run(fault="stream.cumulative_as_delta", case="haiku", select="hygiene", served="tiny")
    assert outcome(results, "hygiene.delta_or_cumulative", "haiku") == "FAIL"
    assert "ids look cumulative" in reason(results, "hygiene.delta_or_cumulative", "haiku")


def test_upstream_sglang_template_parity_eos_and_trailing_chunk(sglang_tok):
    cases = load_cases(RECORDINGS / "sglang-cases.yaml")
    rec = Recorded(RECORDINGS / "sglang-0.5.23" / "chat_completions.jsonl", "sglang", sglang_tok, cases)
    results = rec.run(select="template or finish or hygiene", served="tiny")
    for case in CASES:
        for check in ("template.prompt_ids", "finish.eos.nonstream", "finish.eos.stream",  # stream: sglext trailing chunk
                      "hygiene.synthetic_final"):
            assert outcome(results, check, case) == "PASS", (check, case, reason(results, check, case))
        assert "neither delta nor cumulative" in reason(results, "hygiene.delta_or_cumulative", case)
