import pytest

from conformance.inputs.cases import load_cases
from conformance.errors import UsageError
from support import ROOT


def test_default_cases_cover_the_scripted_behaviours(cases):
    ids = {c.id for c in cases}
    assert {"hello", "french", "haiku", "weather_tools", "capital_tools", "weather_followup",
            "story_max_tokens", "count_stop"} <= ids
    weather = next(c for c in cases if c.id == "weather_tools")
    assert weather.tools[0]["function"]["name"] == "get_weather" and weather.has("tool_call")


@pytest.mark.parametrize("text,words", [
    ("cases: [", "does not parse"),
    ("nothing: 1", "unknown key 'nothing'; known: cases"),
    ("cases: 3", "cases must be a list, got 3"),
    ("cases: [{messages: [{role: user, content: hi}]}]", "case #1: missing key 'id'"),
    ("cases: [{id: a, messages: []}]", "case 'a': messages: must not be empty"),
    ("cases: [{id: a, messages: [{role: user, content: hi}], parms: {temperature: 0}}]",
     "case 'a': unknown key 'parms' \\(did you mean 'params'\\?\\)"),
    ("cases: [{id: a, messages: [{role: user, content: hi}], tags: tool_call}]", "tags must be a list"),
    ("cases: [{id: a, messages: [{content: hi}]}]", "every message needs a role"),
    ("defaults: {param: {}}\ncases: [{id: a, messages: [{role: user, content: hi}]}]", "unknown key 'defaults.param'"),
    ("cases: [{id: a, messages: [{role: user, content: hi}]}, {id: a, messages: [{role: user, content: hi}]}]", "duplicate"),
    ("cases: [{id: a, messages: [{role: user, content: hi}], tags: [bogus]}]", "unknown tags"),
    ("cases: [{id: a, messages: [{role: user, content: hi}], tools: [nope]}]", "tool 'nope' not found"),
])
def test_bad_cases_files_say_what_is_wrong(tmp_path, text, words):
    path = tmp_path / "cases" / "c.yaml"
    path.parent.mkdir()
    path.write_text(text)
    with pytest.raises(UsageError, match=words):
        load_cases(path)


def test_user_cases_with_inline_tools_and_json(tmp_path):
    path = tmp_path / "c.json"
    path.write_text('{"cases": [{"id": "x", "messages": [{"role": "user", "content": "hi"}],'
                    ' "tools": [{"type": "function", "function": {"name": "f"}}], "params": {"max_tokens": 3}}]}')
    (case,) = load_cases(path)
    assert case.tools[0]["function"]["name"] == "f" and case.params == {"max_tokens": 3}
