"""The catalogue's checks on other engines' real recordings (SGLang, Dynamo): template parity, finish semantics and
chunk hygiene pass; the openai SDK's typed models reject SGLang's `metadata.weight_versions`."""
import pytest

from conformance.inputs.cases import load_cases
from conformance.checking.client_tokenizer import Tokenizer
from support import RECORDINGS, ROOT, Recorded, outcome, reason

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
    # the patch has no opt-in: its ids are in the vanilla response by design, but it drops every key it
    # has no value for (unset_keys: omitted), which is checked and holds (tests/suites/test_unset_keys.py);
    # there are no two responses to compare
    assert outcome(results, "vanilla.no_extension_keys", "hello") == "PASS"
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
    return Recorded(RECORDINGS / "dynamo-1.6.1-vllm-0.31.0-cpu.jsonl", "dynamo", tokenizer, cases)


def test_dynamo_over_vllm_finish_and_hygiene_pass(dynamo_vllm):
    results = dynamo_vllm.run(select="finish or hygiene")
    ran = [r for r in results if r.outcome.value != "SKIP"]
    assert ran and all(r.outcome.value == "PASS" for r in ran), [(r.check, r.case, r.reason) for r in ran]
    assert outcome(results, "finish.length", "story_max_tokens") == "PASS"


def _without_bos_skips(results):
    """The template checks but template.bos, which SKIPs on a model without BOS (tiny-chat's), and
    template.bos_special_tokens, which SKIPs on Dynamo (it refuses add_special_tokens)."""
    bos = [r for r in results if r.check == "template.bos"]
    assert all(r.outcome.value == "SKIP" and "no BOS token" in r.reason for r in bos), bos
    special = [r for r in results if r.check == "template.bos_special_tokens"]
    assert all(r.outcome.value == "SKIP" and "does not declare request.add_special_tokens" in r.reason
               for r in special), special
    return [r for r in results if r.check not in ("template.bos", "template.bos_special_tokens")]


def test_dynamo_template_parity_passes_on_the_fixture(dynamo_vllm):
    # the fixture's tokenizer.json agrees with transformers' Qwen2Tokenizer: Dynamo's Rust frontend
    # and the client tokenize the rendered prompt the same way, tool result `{"temperature": 18}` too
    results = _without_bos_skips(dynamo_vllm.run(select="template"))
    assert results and all(r.outcome.value == "PASS" for r in results), [(r.case, r.reason) for r in results]


BYTELEVEL_RECORDING = RECORDINGS / "dynamo-1.6.1-vllm-0.31.0-cpu-bytelevel-tokenizer.jsonl"


def test_template_parity_catches_tokenizer_files_transformers_overrides(cases):
    """The demo: real Dynamo 1.6.1 serving fixtures/tiny-chat-bytelevel (the fixture's first
    tokenizer.json, plain ByteLevel). Its Rust frontend honours the file: ' 18' is one token; the
    client's transformers loads the same files as Qwen2Tokenizer: ' ', '1', '8'."""
    demo = Tokenizer.load(ROOT / "fixtures" / "tiny-chat-bytelevel")
    scripted = [c for c in cases if c.reply is not None]  # recorded before the max_tokens-1 variations
    results = _without_bos_skips(Recorded(BYTELEVEL_RECORDING, "dynamo", demo, scripted).run(select="template"))
    assert outcome(results, "template.prompt_ids", "weather_followup") == "FAIL"
    why = reason(results, "template.prompt_ids", "weather_followup")
    assert why.startswith("same text, different tokens") and "417 ' 18'" in why
    assert ("the server's ids are tokenizer.json's own through `tokenizers`, the client's are transformers' "
            "Qwen2Tokenizer's, which replaces the file's normalizer none with NFC, pre_tokenizer ByteLevel with "
            "Sequence[Split, ByteLevel]") in why
    others = [r for r in results if r.case != "weather_followup"]
    assert others and all(r.outcome.value == "PASS" for r in others), [(r.case, r.reason) for r in others]


def test_template_parity_says_when_the_server_matches_neither_tokenizer(tokenizer, cases):
    # the same server ids against the fixed fixture: tokenizer.json and transformers now agree, and
    # the server's ' 18' is neither's
    scripted = [c for c in cases if c.reply is not None]
    results = Recorded(BYTELEVEL_RECORDING, "dynamo", tokenizer, scripted).run(select="template")
    why = reason(results, "template.prompt_ids", "weather_followup")
    assert why.startswith("same text, different tokens")
    assert "match neither the client's (transformers' Qwen2Tokenizer) nor tokenizer.json through `tokenizers`" in why


def test_dynamo_mocker_model_output_checks_are_inconclusive(tokenizer, cases):
    rec = Recorded(RECORDINGS / "dynamo-1.6.1-mocker.jsonl", "dynamo", tokenizer, cases)
    results = rec.run(select="finish or multiturn")
    for r in results:
        if r.check == "finish.length":  # counts ids: holds for random ids too
            assert r.outcome.value == "PASS", (r.case, r.reason)
        else:  # whether the model stopped at its EOS, or its reply can be continued: not for random ids
            assert r.outcome.value == "INCONCLUSIVE" and "not deterministic" in r.reason, (r.check, r.case, r.reason)
