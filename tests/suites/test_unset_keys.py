"""A dialect that promises to drop a key it has no value for (`unset_keys: omitted`) is held to it:
a null id key FAILS, in the opt-in exchanges (hygiene.unset_keys) and, for a dialect whose ids are
always on, in the vanilla ones (vanilla.no_extension_keys, which used to skip those dialects). A
dialect documented to send nulls (vLLM) stays conformant."""
import pytest

from conformance.checking.client_tokenizer import Tokenizer
from conformance.dialects import load_dialect
from conformance.inputs.cases import load_cases
from support import RECORDINGS, Recorded, outcome, reason

NULLS = "stream.null_for_absent_ids"


@pytest.fixture(scope="module")
def patched():
    return Recorded(RECORDINGS / "sglang-0.5.x-agentcore-patch" / "chat_completions.jsonl", "sglang-tokenids-patch",
                    Tokenizer.load(RECORDINGS / "sglang-model"), load_cases(RECORDINGS / "sglang-cases.yaml"))


@pytest.fixture(scope="module")
def dynamo(tokenizer, cases):
    return Recorded(RECORDINGS / "dynamo-1.6.1-vllm-0.31.0-cpu.jsonl", "dynamo", tokenizer, cases)


def test_profiles_declare_what_an_unset_key_becomes():
    assert load_dialect("vllm").unset_keys == "null"  # `unset_keys: null`, as `unrequested: null`
    for name in ("dynamo", "sglang", "sglang-tokenids-patch", "sglang-completion-ids", "miles"):
        assert load_dialect(name).unset_keys == "omitted", name


def test_real_recordings_omit_their_unset_keys(dynamo, patched):
    results = dynamo.run(select="check_unset_keys")
    assert {r.outcome.value for r in results} == {"PASS"}, [(r.case, r.reason) for r in results]
    results = patched.run(select="check_unset_keys or check_no_extension_keys", served="tiny")
    for check in ("hygiene.unset_keys", "vanilla.no_extension_keys"):
        for case in ("hello", "haiku"):
            assert outcome(results, check, case) == "PASS", reason(results, check, case)


def test_a_null_where_the_dialect_drops_the_key_fails(dynamo):
    results = dynamo.run(fault=NULLS, case="hello", variants=["stream"], select="check_unset_keys")
    assert outcome(results, "hygiene.unset_keys", "hello") == "FAIL"
    assert "nvext.prompt_token_ids = null" in reason(results, "hygiene.unset_keys", "hello")
    assert outcome(results, "hygiene.unset_keys", "french") == "PASS"


def test_an_always_on_dialect_is_held_to_dropping_its_keys(patched):
    """The agentcore patch "drops every new key when None": its vanilla stream (the same request, no
    opt-in exists) must not carry prompt_token_ids: null on every chunk after the first."""
    results = patched.run(fault=NULLS, case="haiku", select="check_unset_keys or check_no_extension_keys",
                          served="tiny")
    why = reason(results, "vanilla.no_extension_keys", "haiku")
    assert outcome(results, "vanilla.no_extension_keys", "haiku") == "FAIL", why
    assert "prompt_token_ids = null" in why and "unset_keys: omitted" in why
    assert outcome(results, "hygiene.unset_keys", "haiku") == "FAIL"
    assert outcome(results, "vanilla.no_extension_keys", "hello") == "PASS"


def test_a_dialect_documented_to_send_null_stays_conformant(vllm_recorded):
    results = vllm_recorded.run(select="check_unset_keys or check_no_extension_keys")
    assert outcome(results, "vanilla.no_extension_keys", "hello") == "PASS"  # the plain nulls are vLLM's own
    assert outcome(results, "hygiene.unset_keys", "hello") == "SKIP"
    assert "unset_keys: null" in reason(results, "hygiene.unset_keys", "hello")
    # nulls in the opt-in stream are what vLLM declares: the fault has nothing to break there
    with pytest.raises(AssertionError, match="found nothing to break"):
        vllm_recorded.run(fault=NULLS, case="hello", variants=["stream"], select="check_unset_keys")
