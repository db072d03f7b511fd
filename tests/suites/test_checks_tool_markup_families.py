"""The decode rule and tools.call_parity on every tool-call markup family: the real vLLM 0.32.0
weather_tools exchanges of tiny-chat (get_weather(city=Paris), parsed by the engine), with the
completion ids replaced by the ids of the same call in another family's markup (encoded by the
fixture's tokenizer, whose chat template is swapped for one holding that family's markers).
A correct call PASSes, a different call FAILs, markup tokconf cannot read is INCONCLUSIVE."""
import copy
import json

import pytest

from conformance.checking.client_tokenizer import Tokenizer
from support import ROOT, VLLM_RECORDINGS, Recorded, load_records, only, outcome, reason
from tool_markup_samples import CORRECT, TEMPLATES, wrong

CHECKS = ("decode.roundtrip.nonstream", "decode.roundtrip.stream", "tools.call_parity")
CALL = {"name": "get_weather", "arguments": json.dumps({"city": "Paris"})}  # what vLLM parsed


def _tokenizer(template):
    tok = Tokenizer.load(ROOT / "fixtures" / "tiny-chat")
    tok.__dict__["chat_template"] = template  # the family's template in place of the fixture's
    return tok


def _chunks(rec):
    return [json.loads(line[6:]) for line in rec["body"].split("\n\n") if line.startswith("data: {")]


def _calling(rec, ids, eos):
    """The weather_tools record with `ids` (then the EOS) as its completion and vLLM's parse of
    the call as its reply; the stream sends one id a chunk, the call's delta on the first."""
    rec = copy.deepcopy(rec)
    if not rec["request"].get("stream"):
        body = json.loads(rec["body"])
        choice = body["choices"][0]
        choice["token_ids"] = ids + [eos]
        choice["message"]["tool_calls"][0]["function"] = dict(CALL)
        body["usage"]["completion_tokens"] = len(ids) + 1
        rec["body"] = json.dumps(body)
        return rec
    chunks = _chunks(rec)
    head, finish, usage = chunks[0], chunks[-2], chunks[-1]
    middle = []
    for pos, i in enumerate(ids):
        delta = {"tool_calls": [{"id": "call-0", "type": "function", "index": 0, "function": dict(CALL)}]} if pos == 0 else {}
        middle.append({**{k: v for k, v in head.items() if k not in ("choices", "prompt_token_ids", "prompt_text")},
                       "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": None, "token_ids": [i]}]})
    usage["usage"]["completion_tokens"] = len(ids) + 1
    rec["body"] = "".join(f"data: {json.dumps(c)}\n\n" for c in [head, *middle, finish, usage]) + "data: [DONE]\n\n"
    return rec


def _run(tmp_path, template, text, cases):
    tok = _tokenizer(template)
    ids = tok.hf.encode(text, add_special_tokens=False)
    assert tok.decode(ids) == text  # the fixture's vocabulary spells every marker
    records = [_calling(r, ids, 2) if r["case"] == "weather_tools" and r["variant"] in ("nonstream", "stream") else r
               for p in VLLM_RECORDINGS for r in load_records(p) if r["case"] == "weather_tools"]
    path = tmp_path / "weather.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    results = Recorded(path, "vllm", tok, [c for c in cases if c.id == "weather_tools"]).run(select=only(*CHECKS))
    return {check: (outcome(results, check, "weather_tools"), reason(results, check, "weather_tools")) for check in CHECKS}


SAMPLES = [(family, text) for family, texts in CORRECT.items() for text in texts]


@pytest.mark.parametrize("family,text", SAMPLES)
def test_a_correct_call_in_each_familys_markup_passes(tmp_path, cases, family, text):
    got = _run(tmp_path, TEMPLATES[family], text, cases)
    assert got == {check: ("PASS", got[check][1]) for check in CHECKS}, got


@pytest.mark.parametrize("how", ["name", "arguments"])
@pytest.mark.parametrize("family,text", SAMPLES)
def test_another_call_in_the_ids_fails(tmp_path, cases, family, text, how):
    got = _run(tmp_path, TEMPLATES[family], wrong(text, how), cases)
    assert {check: o for check, (o, _) in got.items()} == {check: "FAIL" for check in CHECKS}, got
    assert all("decoded ids call [('get_weather_now'" in why or "decoded ids call [('get_weather', {'city': 'Paris, Texas'}"
               in why for _, why in got.values()), got


def test_a_template_without_known_markup_is_inconclusive(tmp_path, cases):
    got = _run(tmp_path, "{% for m in messages %}{{ m.content }}{% endfor %}", CORRECT["hermes"][0], cases)
    for check, (o, why) in got.items():
        assert o == "INCONCLUSIVE" and "none of the tool-call markups tokconf reads" in why, (check, why)


def test_a_family_without_a_grammar_is_inconclusive_naming_it(tmp_path, cases):
    got = _run(tmp_path, TEMPLATES["llama4_pythonic"], '[get_weather(city="Paris")]', cases)
    for check, (o, why) in got.items():
        assert o == "INCONCLUSIVE" and "no grammar for the llama4_pythonic tool-call markup" in why, (check, why)


def test_family_markup_that_does_not_parse_is_inconclusive_naming_the_family(tmp_path, cases):
    broken = '<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>get_weather<｜tool▁sep｜>{"city": "Paris"<｜tool▁call▁end｜>'
    got = _run(tmp_path, TEMPLATES["deepseek_v31"], broken, cases)
    for check, (o, why) in got.items():
        assert o == "INCONCLUSIVE" and "deepseek_v31 tool-call markup" in why, (check, why)


def test_ids_without_the_called_value_fail_in_any_markup(tmp_path, cases):
    # the ids lost the argument (a dropped chunk): no grammar is needed to see they do not hold the call
    got = _run(tmp_path, TEMPLATES["kimi_k2"], CORRECT["kimi_k2"][0].replace('"Paris"', '"'), cases)
    for check, (o, why) in got.items():
        assert o == "FAIL" and "without the argument value 'Paris'" in why, (check, why)


def test_call_markers_that_are_special_tokens_are_inconclusive():
    from conformance.checking.api import Inconclusive
    from conformance.checking.replies import Reply, ToolCall, check_decoded_matches

    # Kimi's vocabulary makes its section and call markers special: skip_special_tokens drops them
    tok = _tokenizer(TEMPLATES["kimi_k2"])
    tok.hf.add_special_tokens({"additional_special_tokens": ["<|tool_calls_section_begin|>", "<|tool_call_begin|>",
                                                             "<|tool_call_argument_begin|>", "<|tool_call_end|>",
                                                             "<|tool_calls_section_end|>"]})
    ids = tok.hf.encode(CORRECT["kimi_k2"][0], add_special_tokens=False)
    assert tok.decode(ids) == 'functions.get_weather:0{"city": "Paris"}'
    with pytest.raises(Inconclusive, match="kimi_k2 call marker '<\\|tool_call_begin\\|>' is a special token"):
        check_decoded_matches(tok, ids, Reply("", [ToolCall("get_weather", {"city": "Paris"})], "tool_calls"), [], "t")
