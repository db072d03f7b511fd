"""The trace checks as pure functions, on records of the captured store changed one field at a time."""
from __future__ import annotations

import copy
from pathlib import Path

import pytest

from conformance.checking.api import Fail, Inconclusive
from conformance.checking.client_tokenizer import Tokenizer
from conformance.errors import UsageError
from conformance.trace.checks import NotApplicable, check_counts, check_decode, check_finish, check_session
from conformance.trace.faults import read_store
from conformance.trace.mapping import load_mapping
from conformance.trace.model import read_trace
from tool_markup_samples import CORRECT, TEMPLATES, wrong

DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="module")
def tok():
    return Tokenizer.load(DATA / "tokenizer")


@pytest.fixture(scope="module")
def records():
    return read_store(DATA / "gateway-vllm.sqlite")


def as_trace(record, mapping="rllm-gateway", hint=None):
    return read_trace(record, load_mapping(mapping), where="t", session_hint=hint, turn=0, session="s")


def test_finish_length_with_more_ids_than_max_tokens(tok, records):
    rec = copy.deepcopy(records["story_max_tokens/0"])
    check_finish(as_trace(rec), tok, load_mapping("rllm-gateway"))  # clean: 8 ids, max_tokens 8
    rec["raw_request"]["max_tokens"] = 4
    with pytest.raises(Fail, match="max_tokens 4 but 8 completion ids"):
        check_finish(as_trace(rec), tok, load_mapping("rllm-gateway"))


def test_finish_stop_string_without_eos(tok, records):
    rec = copy.deepcopy(records["count_stop/0"])
    assert check_finish(as_trace(rec), tok, load_mapping("rllm-gateway")) == "a stop string ended the reply"
    rec["raw_request"]["stop"] = ["never"]
    with pytest.raises(Fail, match="none of the stop strings"):
        check_finish(as_trace(rec), tok, load_mapping("rllm-gateway"))


def test_finish_stop_without_eos_when_the_mapping_says_it_is_kept(tok, records):
    rec = copy.deepcopy(records["hello/0"])
    rec["completion_token_ids"] = rec["completion_token_ids"][:-1]
    with pytest.raises(Fail, match="do not end with the EOS"):
        check_finish(as_trace(rec), tok, load_mapping("rllm-gateway"))


def test_counts_of_a_stream_without_usage_compare_logprobs_only(tok, records):
    rec = records["hello-stream/0"]
    assert check_counts(as_trace(rec), tok, load_mapping("rllm-gateway")).startswith("compared")
    bare = {k: v for k, v in rec.items() if k not in ("logprobs", "token_counts")}
    with pytest.raises(NotApplicable):
        check_counts(as_trace(bare), tok, load_mapping("rllm-gateway"))


def test_session_filing(tok, records):
    rec = records["hello/0"]
    assert check_session(as_trace(rec, hint="hello"), tok, load_mapping("rllm-gateway")) is None
    with pytest.raises(Fail, match="files it under 'french'"):
        check_session(as_trace(rec, hint="french"), tok, load_mapping("rllm-gateway"))


@pytest.mark.parametrize("text,words", [
    ("name: x\nfields: {prompt_ids: a}\n", "fields.completion_ids is required"),
    ("name: x\nfields: {prompt_ids: a, completion_ids: 'b..c'}\n", "bad path segment"),
    ("name: x\ncolour: red\nfields: {prompt_ids: a, completion_ids: b}\n", "unknown keys ['colour']"),
    ("name: x\nfields: {prompt_ids: a, completion_ids: b}\nraw_response: {logprobs: c}\n", "unknown fields ['logprobs']"),
])
def test_mapping_schema(tmp_path, text, words):
    path = tmp_path / "m.yaml"
    path.write_text(text)
    with pytest.raises(UsageError, match=words.replace("[", r"\[").replace("]", r"\]").replace(".", r"\.")):
        load_mapping(path)


def test_shipped_mappings_load():
    assert load_mapping("rllm-gateway").fields["completion_ids"] == "completion_token_ids"
    assert load_mapping("generic").fields["message"] == "response"
    with pytest.raises(UsageError, match="not one of"):
        load_mapping("nope")


def test_decode_ids_past_a_stop_string(tok, records):
    """vLLM PR #47616: the text stops at the stop string, the ids keep tokens accepted after it."""
    rec = copy.deepcopy(records["count_stop/0"])
    assert check_decode(as_trace(rec), tok, load_mapping("rllm-gateway")) is None
    rec["completion_token_ids"] += tok.hf.encode(", 4", add_special_tokens=False)
    with pytest.raises(Fail, match="ids past a stop string"):
        check_decode(as_trace(rec), tok, load_mapping("rllm-gateway"))


def test_finish_length_with_a_stop_string_inside_the_budget(tok, records):
    """sglang #31599: the length check ran first; a stop reached in budget came back as length."""
    rec = copy.deepcopy(records["story_max_tokens/0"])
    check_finish(as_trace(rec), tok, load_mapping("rllm-gateway"))
    text = tok.decode(rec["completion_token_ids"])
    rec["raw_request"]["stop"] = [text.split()[1]]  # a word the cut reply holds
    with pytest.raises(Fail, match="inside the max_tokens budget"):
        check_finish(as_trace(rec), tok, load_mapping("rllm-gateway"))


def test_the_token_completing_a_stop_string_may_carry_text_past_it(tok, records):
    """A token whose text starts inside the stop string is the stop's own (its text after the
    stop goes with it); the id after it is past the stop."""
    from conformance.checking.replies import Reply, check_decoded_matches

    ids = records["hello/0"]["completion_token_ids"]
    at = next(i for i in range(1, len(ids)) if len(tok.decode(ids[i:i + 1])) > 2)  # a multi-character token
    piece = tok.decode(ids[at:at + 1])
    content, stop = tok.decode(ids[:at]), piece[:2]  # the stop string: the token's first two characters
    assert tok.decode(ids[:at + 1]) == content + piece
    check_decoded_matches(tok, ids[:at + 1], Reply(content, finish_reason="stop"), [stop], "t")
    with pytest.raises(Fail, match="ids past a stop string"):
        check_decoded_matches(tok, ids[:at + 2], Reply(content, finish_reason="stop"), [stop], "t")


@pytest.mark.parametrize("family", ["hermes", "glm45", "deepseek_v3", "mistral"])
def test_decode_reads_tool_calls_by_the_chat_templates_family(records, family):
    tok = Tokenizer.load(DATA / "tokenizer")
    tok.__dict__["chat_template"] = TEMPLATES[family]  # the family's template in place of the store's
    mapping, text = load_mapping("rllm-gateway"), CORRECT[family][0]
    rec = copy.deepcopy(records["hello/0"])
    rec["response_message"] = {"role": "assistant", "content": None, "tool_calls": [
        {"id": "c", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}]}
    rec["completion_token_ids"] = tok.hf.encode(text, add_special_tokens=False) + [2]
    assert check_decode(as_trace(rec), tok, mapping) is None
    rec["completion_token_ids"] = tok.hf.encode(wrong(text, "arguments"), add_special_tokens=False) + [2]
    with pytest.raises(Fail, match="decoded ids call"):
        check_decode(as_trace(rec), tok, mapping)
    # the model wrote half a call and no parser took it: markup, not the id contract
    half = text[:len(text) // 2]
    rec["response_message"] = {"role": "assistant", "content": half}
    rec["completion_token_ids"] = tok.hf.encode(half, add_special_tokens=False) + [2]
    with pytest.raises(Inconclusive, match=f"{family} tool-call markup that does not parse"):
        check_decode(as_trace(rec), tok, mapping)


# -- trace.prompt on a store that sorted the keys of each tool schema ---------------------------

def _sorted_keys(value):
    if isinstance(value, dict):
        return {k: _sorted_keys(value[k]) for k in sorted(value)}
    return [_sorted_keys(v) for v in value] if isinstance(value, list) else value


def test_prompt_with_tools_whose_keys_the_store_sorted_is_inconclusive(tok, records):
    from conformance.checking.api import Inconclusive
    from conformance.trace.checks import check_prompt

    mapping = load_mapping("rllm-gateway")
    trace = as_trace(copy.deepcopy(records["capital_tools/0"]))
    tools = trace.get("tools")
    assert tools and list(tools[0]) != sorted(tools[0])  # the order the template rendered
    assert check_prompt(trace, tok, mapping) is None  # the store as captured: PASS
    # the store's JSON column sorted the keys: the ids are right, the re-render differs
    trace.values["tools"] = _sorted_keys(tools)
    with pytest.raises(Inconclusive, match="lost the key order"):
        check_prompt(trace, tok, mapping)
    # the ids are the render of the sorted tools (the store kept the order, the server sorted)
    trace.values["tools"] = tools
    trace.values["prompt_ids"] = tok.prompt_ids(trace.get("messages"), _sorted_keys(tools))
    with pytest.raises(Inconclusive, match="render of the tools with their keys sorted"):
        check_prompt(trace, tok, mapping)


def test_prompt_with_tools_still_fails_on_wrong_ids(tok, records):
    from conformance.trace.checks import check_prompt

    trace = as_trace(copy.deepcopy(records["capital_tools/0"]))
    ids = list(trace.get("prompt_ids"))
    ids[len(ids) // 2] = ids[len(ids) // 2 - 1]  # one id of the prompt changed: the key order is not why
    trace.values["prompt_ids"] = ids
    with pytest.raises(Fail):
        check_prompt(trace, tok, load_mapping("rllm-gateway"))
    # the store sorted the keys too: a changed id is still no reordering of the same characters
    trace.values["tools"] = _sorted_keys(trace.get("tools"))
    with pytest.raises(Fail):
        check_prompt(trace, tok, load_mapping("rllm-gateway"))
