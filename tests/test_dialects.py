import pytest

from conformance.dialects import builtin_names, load_dialect
from conformance.dialects.paths import MISSING, assign, remove, resolve
from conformance.errors import UsageError


def test_paths_resolve_by_choice_index_and_tell_null_from_missing():
    body = {"prompt_token_ids": None, "choices": [{"index": 1, "token_ids": [5]}, {"index": 0, "token_ids": [7]}]}
    assert resolve(body, "choices[i].token_ids", 0) == [7]
    assert resolve(body, "choices[i].token_ids", 1) == [5]
    assert resolve(body, "prompt_token_ids") is None
    assert resolve(body, "nvext.completion_token_ids") is MISSING
    assert resolve({"sglext": {"output_ids": [[1], [2]]}}, "sglext.output_ids[1]") == [2]


def test_assign_and_remove():
    body = {"choices": [{"index": 0}]}
    assert assign(body, "choices[i].token_ids", [1])
    assert body["choices"][0]["token_ids"] == [1]
    assert remove(body, "choices[i].token_ids") and "token_ids" not in body["choices"][0]
    assert not assign(body, "nvext.x", 1)


def test_vllm_profile():
    d = load_dialect("vllm")
    assert "vllm" in builtin_names()
    assert d.with_ids({"model": "m"}) == {"model": "m", "return_token_ids": True}
    assert d.has("ids.stream") and d.stream_mode == "delta"
    chunks = [
        {"choices": [{"index": 0, "delta": {"role": "assistant"}}], "prompt_token_ids": [1, 2]},
        {"choices": [{"index": 0, "delta": {"content": "a"}, "token_ids": [3]}]},
        {"choices": [{"index": 0, "delta": {}, "token_ids": [4]}]},
        {"choices": [], "usage": {}},
    ]
    found = d.stream_ids(chunks)
    assert found.prompt == [(0, [1, 2])] and found.concatenated() == [3, 4]


def test_user_profile_by_path(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("name: mine\nrequest: {fields: {nvext: {extra_fields: [completion_token_ids]}}}\n"
                    "nonstream: {completion_ids: nvext.completion_token_ids}\nstream: {mode: delta, completion_ids: nvext.completion_token_ids}\n")
    d = load_dialect(str(path))
    assert d.with_ids({"nvext": {"x": 1}}) == {"nvext": {"x": 1, "extra_fields": ["completion_token_ids"]}}


@pytest.mark.parametrize("text,words", [
    ("name: x\nstream: {mode: sometimes}", "stream.mode"),
    ("title: no name", "invalid"),
    ("name: x\nnonstream: {completion_ids: 'a..b'}", "invalid"),
])
def test_bad_profiles(tmp_path, text, words):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(UsageError, match=words):
        load_dialect(str(path))


def test_unknown_dialect_name():
    with pytest.raises(UsageError, match="unknown dialect"):
        load_dialect("nope")
