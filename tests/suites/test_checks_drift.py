"""Template parity and multi-turn drift caught on real exchanges: vLLM 0.32.0 served with a chat
template that re-serializes tool-call JSON, and a template that renders whole tools (`tool | tojson`)
against a server that adds `defer_loading: null` to them, as SGLang does."""
import pytest

from conformance.checking.drift import classify
from conformance.checking.client_tokenizer import Tokenizer
from conformance.checking.id_sequences import first_divergence
from support import RECORDINGS, ROOT, VLLM_CATALOG_RECORDING, VLLM_RECORDING, Recorded, outcome, reason

RESERIALIZED = RECORDINGS / "vllm-0.32.0-cpu-reserialize-tool-json.jsonl"


def test_real_vllm_with_a_reserializing_template_fails_prefix_stability(tokenizer, cases):
    # recorded by: tokconf verify -k multiturn --engine-arg=--chat-template=fixtures/templates/reserialize-tool-json.jinja
    results = Recorded(RESERIALIZED, "vllm", tokenizer, cases).run(select="multiturn")
    assert outcome(results, "multiturn.prefix", "hello") == "PASS"  # no tool call: nothing re-serialized
    assert outcome(results, "multiturn.prefix", "weather_tools") == "FAIL"
    why = reason(results, "multiturn.prefix", "weather_tools")
    assert why.startswith("JSON re-serialization")
    assert '\'{"name":"get_weather","arguments":{"city":"Paris"}}\'' in why
    drift = next(r for r in results if r.case == "weather_tools").evidence
    assert drift["drift"] == "JSON re-serialization" and drift["left_context"] and drift["right_context"]


@pytest.fixture(scope="module")
def tools_tojson_tokenizer():
    tok = Tokenizer.load(ROOT / "fixtures" / "tiny-chat")
    tok.hf.chat_template = (ROOT / "fixtures" / "templates" / "tools-tojson.jinja").read_text()
    return tok


def test_tools_tojson_template_catches_defer_loading(tools_tojson_tokenizer, cases):
    rec = Recorded([VLLM_RECORDING, VLLM_CATALOG_RECORDING], "vllm", tools_tojson_tokenizer, cases)
    clean = rec.run(select="template")
    assert outcome(clean, "template.prompt_ids", "weather_tools") == "PASS"
    faulty = rec.run(fault="nonstream.tools_gain_defer_loading", case="weather_tools", variants=["nonstream"],
                     select="template")
    assert outcome(faulty, "template.prompt_ids", "weather_tools") == "FAIL"
    why = reason(faulty, "template.prompt_ids", "weather_tools")
    assert "defer_loading" in why and "first differ" not in why  # named as text, with context both sides


def test_the_fixture_template_is_immune_to_defer_loading(tokenizer, cases):
    # it renders {"type", "function"} of each tool, so an added key cannot reach the prompt
    rec = Recorded([VLLM_RECORDING, VLLM_CATALOG_RECORDING], "vllm", tokenizer, cases)
    with pytest.raises(AssertionError, match="found nothing to break"):
        rec.run(fault="nonstream.tools_gain_defer_loading", case="weather_tools", variants=["nonstream"],
                select="template")


@pytest.mark.parametrize("turn_k,turn_k1,kind", [
    ("<|im_start|>assistant\nHello there!<|im_end|>", "<|im_start|>assistant\nHello there!\n<|im_start|>user", "EOS handling"),
    ("<|im_start|>assistant\nHello  there!<|im_end|>", "<|im_start|>assistant\nHello there!<|im_end|>", "whitespace"),
    ("<|im_start|>assistant\nHello there!<|im_end|>", "<|im_start|>assistant\nHi there!<|im_end|>", "template re-render"),
    ("<|im_start|>assistant\n<think>\nhmm\n</think>\n\nHello<|im_end|>", "<|im_start|>assistant\nHello<|im_end|>",
     "dropped reasoning"),
    ('<tool_call>\n{"name": "f", "arguments": {"a": 1}}\n</tool_call>', '<tool_call>\n{"name":"f","arguments":{"a":1}}\n</tool_call>',
     "JSON re-serialization"),
])
def test_drift_classes(tokenizer, turn_k, turn_k1, kind):
    a = tokenizer.hf.encode(turn_k, add_special_tokens=False)
    b = tokenizer.hf.encode(turn_k1, add_special_tokens=False)
    assert classify(tokenizer, a, b, first_divergence(a, b)).kind == kind


def test_retokenization_class(tokenizer):
    text = "<|im_start|>assistant\nHello there!"
    ids = tokenizer.hf.encode(text, add_special_tokens=False)
    split = [tokenizer.hf.convert_tokens_to_ids(t) for t in tokenizer.hf.tokenize("Hello")]
    chars = [tokenizer.hf.convert_tokens_to_ids(c) for c in "Hello"]
    if split == chars:
        pytest.skip("the fixture tokenizer has no merge inside 'Hello'")
    prefix = tokenizer.hf.encode("<|im_start|>assistant\n", add_special_tokens=False)
    other = prefix + chars + ids[len(prefix) + len(split):]
    assert tokenizer.decode(other, skip_special_tokens=False) == text
    assert classify(tokenizer, ids, other, first_divergence(ids, other)).kind == "re-tokenization"


def test_logprob_entries_named_by_text_or_bytes(tokenizer):
    """Where a dialect offers no token-id strings, an entry names its token by text (or bytes,
    for a byte piece of a multi-byte character that decodes to U+FFFD alone)."""
    import importlib.util

    from conformance.checking.api import Fail

    spec = importlib.util.spec_from_file_location("check_logprobs_t", ROOT / "suites" / "check_logprobs.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    ids = tokenizer.hf.encode("Café 🌸", add_special_tokens=False)
    entries = [{"token": tokenizer.token_text(i), "bytes": list(tokenizer.token_text(i).encode()), "top_logprobs": []}
               for i in ids]
    mod._check_alignment(tokenizer, "text", ids, entries, "non-stream")  # consistent: no Fail
    shifted = entries[1:] + entries[:1]
    with pytest.raises(Fail, match="logprob entry 0 names"):
        mod._check_alignment(tokenizer, "text", ids, shifted, "non-stream")
    with pytest.raises(Fail, match="logprob entry 0 names"):
        mod._check_alignment(tokenizer, "token_id", ids, [{"token_id": i + 1} for i in ids], "non-stream")
    mod._check_alignment(tokenizer, "token_id", ids, [{"token_id": i} for i in ids], "non-stream")
