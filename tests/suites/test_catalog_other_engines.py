"""The catalogue's checks on other engines' real recordings (SGLang, Dynamo): template parity, finish semantics and
chunk hygiene pass; the openai SDK's typed models reject SGLang's `metadata.weight_versions`."""
import pytest

from conformance.inputs.cases import load_cases
from conformance.checking.client_tokenizer import Tokenizer
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


# -- Dynamo 1.6.1 (recordings by the Dynamo launcher: the core checks' requests) ------------------

@pytest.fixture(scope="module")
def dynamo_vllm(tokenizer, cases):
    scripted = [c for c in cases if c.reply is not None]  # recorded before the max_tokens-1 variations
    return Recorded(RECORDINGS / "dynamo-1.6.1-vllm-0.31.0-cpu.jsonl", "dynamo", tokenizer, scripted)


def test_dynamo_over_vllm_finish_and_hygiene_pass(dynamo_vllm):
    results = dynamo_vllm.run(select="finish or hygiene")
    ran = [r for r in results if r.outcome.value != "SKIP"]
    assert ran and all(r.outcome.value == "PASS" for r in ran), [(r.check, r.case, r.reason) for r in ran]
    assert outcome(results, "finish.length", "story_max_tokens") == "PASS"


def test_dynamo_frontend_tokenizes_a_tool_result_differently(dynamo_vllm):
    # a real finding: on the tool result `{"temperature": 18, ...}` Dynamo's frontend makes ' 18' one
    # token where the model's HF tokenizer makes ' ' + '18': the text is the same, the ids are not
    results = dynamo_vllm.run(select="template")
    assert outcome(results, "template.prompt_ids", "weather_followup") == "FAIL"
    why = reason(results, "template.prompt_ids", "weather_followup")
    assert why.startswith("same text, different tokens") and "' 18'" in why
    others = [r for r in results if r.case != "weather_followup"]
    assert others and all(r.outcome.value == "PASS" for r in others), [(r.case, r.reason) for r in others]


def test_dynamo_mocker_model_output_checks_are_inconclusive(tokenizer, cases):
    rec = Recorded(RECORDINGS / "dynamo-1.6.1-mocker.jsonl", "dynamo", tokenizer, [c for c in cases if c.reply is not None])
    results = rec.run(select="finish or multiturn")
    for r in results:
        if r.check == "finish.length":  # counts ids: holds for random ids too
            assert r.outcome.value == "PASS", (r.case, r.reason)
        else:  # whether the model stopped at its EOS, or its reply can be continued: not for random ids
            assert r.outcome.value == "INCONCLUSIVE" and "not deterministic" in r.reason, (r.check, r.case, r.reason)
