"""Tool-call markup as data (conformance/inputs/tool_markup.yaml): the table validates, the chat
template's markers pick the family, and each family's grammar reads its engines' call text."""
import pytest

from conformance.inputs.chat_template_files import chat_template_in
from conformance.checking.tool_call_text import absent_from_text, calls_in_text, same_call
from conformance.inputs.tool_markup import family_named, family_of_config, family_of_template, load
from conformance.errors import UsageError
from support import ROOT
from tool_markup_samples import CORRECT, TEMPLATES, wrong


def test_every_family_is_named_once_and_every_grammar_has_a_call_marker():
    families = load().families
    names = [f.name for f in families]
    assert len(names) == len(set(names))
    assert set(CORRECT) <= set(names) and set(TEMPLATES) == set(names)
    assert all(f.call_marker for f in families if f.forms)


@pytest.mark.parametrize("family", sorted(TEMPLATES))
def test_the_template_markers_pick_the_family(family):
    # Qwen3-Coder and GLM write <tool_call> too, DeepSeek V3 holds V3.1's markers: order decides
    assert family_of_template(TEMPLATES[family]).name == family


@pytest.mark.parametrize("fixture", ["tiny-chat", "tiny-think", "tiny-chat-bytelevel", "tiny-chat-tf4"])
def test_the_fixture_models_write_hermes(fixture):
    assert family_of_template(chat_template_in(ROOT / "fixtures" / fixture)).name == "hermes"


def test_a_template_without_known_markup_has_no_family():
    assert family_of_template("{% for m in messages %}{{ m.content }}{% endfor %}") is None
    assert family_of_template(None) is None


def test_config_json_names_the_family_when_the_template_does_not():
    assert family_of_config("llama", ["LlamaForCausalLM"]).name == "llama3_json"
    assert family_of_config(None, ["DeepseekV3ForCausalLM"]).name == "deepseek_v3"
    assert family_of_config("some_new_family", []) is None


@pytest.mark.parametrize("family,text", [(f, t) for f, texts in CORRECT.items() for t in texts])
def test_each_grammar_reads_a_correct_call_and_the_text_before_it(family, text):
    outside, calls = calls_in_text(family_named(family), "Let me look.\n" + text)
    assert [c.name for c in calls] == ["get_weather"]
    assert same_call(calls[0], "get_weather", {"city": "Paris"})
    assert outside.strip() == "Let me look."


@pytest.mark.parametrize("how", ["name", "arguments"])
@pytest.mark.parametrize("family,text", [(f, t) for f, texts in CORRECT.items() for t in texts])
def test_each_grammar_reads_a_wrong_call_as_another_call(family, text, how):
    _, calls = calls_in_text(family_named(family), wrong(text, how))
    assert len(calls) == 1 and not same_call(calls[0], "get_weather", {"city": "Paris"})


def test_two_calls_in_one_reply():
    text = CORRECT["deepseek_v31"][0].replace("<｜tool▁calls▁end｜>", "") + \
        '<｜tool▁call▁begin｜>get_time<｜tool▁sep｜>{"tz": "CET"}<｜tool▁call▁end｜><｜tool▁calls▁end｜>'
    outside, calls = calls_in_text(family_named("deepseek_v31"), text)
    assert [(c.name, c.arguments) for c in calls] == [("get_weather", {"city": "Paris"}), ("get_time", {"tz": "CET"})]
    assert outside == ""


def test_a_call_the_grammar_finds_but_cannot_parse_is_none():
    broken = '<｜tool▁call▁begin｜>get_weather<｜tool▁sep｜>{"city": "Paris"<｜tool▁call▁end｜>'
    assert calls_in_text(family_named("deepseek_v31"), broken) is None
    assert calls_in_text(family_named("hermes"), '<tool_call>\n{"arguments": {}}\n</tool_call>') is None  # no name


def test_parameter_values_are_text_the_engine_types_from_the_schema():
    _, calls = calls_in_text(family_named("qwen3_coder"), "<tool_call>\n<function=f>\n<parameter=days>\n3\n</parameter>\n"
                                                          "<parameter=unit>\ncelsius\n</parameter>\n</function>\n</tool_call>")
    assert same_call(calls[0], "f", {"days": 3, "unit": "celsius"})
    assert same_call(calls[0], "f", {"days": "3", "unit": "celsius"})
    assert not same_call(calls[0], "f", {"days": 4, "unit": "celsius"})
    assert not same_call(calls[0], "f", {"days": 3})  # a parameter the engine lost


def test_what_a_parsed_call_needs_to_find_in_any_text():
    assert absent_from_text('{"name": "get_weather", "arguments": {"city": "Paris"}}', "get_weather", {"city": "Paris"}) is None
    assert absent_from_text('{"city": "Z\\u00fcrich"}get_weather', "get_weather", {"city": "Zürich"}) is None  # JSON escape
    assert absent_from_text("get_weather", "get_weather", {"city": "Paris"}) == "the argument value 'Paris'"
    assert absent_from_text("Paris", "get_weather", {"city": "Paris"}) == "the name 'get_weather'"


def test_unknown_keys_bad_regexes_and_missing_groups_are_errors(tmp_path):
    bad = tmp_path / "m.yaml"
    head = "default_parsers: {vllm: a, sglang: b, dynamo: c}\nfamilies:\n"
    fam = "  - name: x\n    parsers: {vllm: a, sglang: b, dynamo: c}\n    call_marker: '<c>'\n"
    for body, words in [
        (fam + "    markers: [x]\n", "families\\[0\\] takes the keys"),
        (fam + "    forms: [{pattern: '<c>(?P<call>.*)', argz: json}]\n", "forms\\[0\\] takes the keys"),
        (fam + "    forms: [{pattern: '<c>(.*'}]\n", "not a regular expression"),
        (fam + "    forms: [{pattern: '<c>(?P<args>.*)'}]\n", "must capture"),
        (fam + "    forms: [{pattern: '<c>(?P<name>.*):(?P<args>.*)', args: parameters}]\n", "`param` goes with parameters"),
        ("  - name: x\n    parsers: {vllm: a, sglang: b, dynamo: c}\n    forms: [{pattern: '(?P<call>.*)'}]\n", "no call_marker"),
    ]:
        bad.write_text(head + body, encoding="utf-8")
        with pytest.raises(UsageError, match=words):
            load(bad)
