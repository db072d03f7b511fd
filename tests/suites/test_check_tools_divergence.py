"""tools.with_without names where the two answers first differ: two long replies that share
their first 60 characters used to show two identical previews."""
from types import SimpleNamespace

import pytest

from conformance.checking.api import Inconclusive
from conformance.checking.text_divergence import describe_text_divergence, first_text_divergence
from conformance.dialects import load_dialect
from suites.check_tools import check_tools_with_without

SHARED = "The weather in Paris is something I would look up for you, and " * 2


def _stream(text, tok):
    ids = tok.hf.encode(text, add_special_tokens=False)
    return [{"id": "c", "choices": [{"index": 0, "delta": {"content": tok.decode([i])}, "token_ids": [i],
                                     "finish_reason": None}]} for i in ids] + \
        [{"id": "c", "choices": [{"index": 0, "delta": {}, "token_ids": [], "finish_reason": "stop"}]}]


def _target(tok, with_tools, without):
    streams = {"stream": _stream(with_tools, tok), "stream_notools": _stream(without, tok)}

    def exchange(case, variant):
        ex = SimpleNamespace(stream=SimpleNamespace(chunks=streams[variant]), request={})
        ex.ok = lambda: ex
        return ex
    return SimpleNamespace(dialect=load_dialect("vllm"), tokenizer=tok, exchange=exchange)


def test_the_divergence_is_shown_where_it_is(tokenizer):
    target = _target(tokenizer, SHARED + "it is sunny.", SHARED + "it is raining.")
    with pytest.raises(Inconclusive) as err:
        check_tools_with_without(target, SimpleNamespace(tools=[{}]))
    why = str(err.value)
    assert f"at character {len(SHARED) + 6}" in why
    assert "the reply with tools has 'sunny.', without 'raining.'" in why


def test_the_same_answer_is_compared_by_id(tokenizer):
    target = _target(tokenizer, SHARED, SHARED)
    check_tools_with_without(target, SimpleNamespace(tools=[{}]))  # same text, same ids: no exception


def test_describe_text_divergence():
    assert first_text_divergence("abc", "abc") is None
    assert first_text_divergence("abc", "abd") == 2 and first_text_divergence("ab", "abc") == 2
    assert describe_text_divergence("xxab", "xxcd", "left", "right", context=2) == \
        "at character 2 after 'xx': left has 'ab', right 'cd'"
