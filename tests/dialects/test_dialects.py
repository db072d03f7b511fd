import pytest

from conformance.dialects import builtin_names, load_dialect
from conformance.dialects.paths import MISSING, assign, remove, resolve
from conformance.errors import UsageError
from conformance.checking.dialect_replies import reply_of, stream_reply_of


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


def _reasoning_reply(field: str, text: str) -> tuple[dict, list[dict]]:
    """One non-stream response and its stream, the reasoning under `field`."""
    response = {"choices": [{"index": 0, "message": {"content": "84", field: text}, "finish_reason": "stop"}]}
    chunks = [{"choices": [{"index": 0, "delta": {field: text[:2]}}]},
              {"choices": [{"index": 0, "delta": {field: text[2:]}}]},
              {"choices": [{"index": 0, "delta": {"content": "84"}, "finish_reason": "stop"}]}]
    return response, chunks


def test_a_user_profile_names_its_own_reasoning_field(tmp_path):
    path = tmp_path / "thinking.yaml"
    path.write_text("name: thinking\nnonstream: {completion_ids: 'choices[i].token_ids', reasoning: [thinking]}\n"
                    "stream: {mode: delta, completion_ids: 'choices[i].token_ids', reasoning: [thinking]}\n")
    d = load_dialect(str(path))
    response, chunks = _reasoning_reply("thinking", "12 x 7")
    assert (reply_of(d, response).reasoning, reply_of(d, response).content) == ("12 x 7", "84")
    assert stream_reply_of(d, chunks).reasoning == "12 x 7"
    # only the fields it names: vLLM's `reasoning` is plain noise to this dialect
    response, chunks = _reasoning_reply("reasoning", "12 x 7")
    assert reply_of(d, response).reasoning == "" and stream_reply_of(d, chunks).reasoning == ""


def test_reasoning_fields_default_and_per_engine():
    # a profile that says nothing reads both names engines use; the shipped ones say theirs
    default = load_dialect("dynamo")
    for field in ("reasoning", "reasoning_content"):
        response, chunks = _reasoning_reply(field, "why")
        assert reply_of(default, response).reasoning == stream_reply_of(default, chunks).reasoning == "why"
    assert load_dialect("vllm").nonstream_reasoning == ("reasoning", "reasoning_content")
    sglang = load_dialect("sglang")
    assert sglang.nonstream_reasoning == sglang.stream_reasoning == ("reasoning_content",)
    response, _ = _reasoning_reply("reasoning_content", "why")
    assert reply_of(sglang, response).reasoning == "why"


@pytest.mark.parametrize("text,words", [
    ("name: x\nstream: {mode: sometimes}", "stream.mode 'sometimes' is not one of cumulative, delta, final, rejected, trailing"),
    ("title: no name", "missing key 'name'"),
    ("name: x\nnonstream: {completion_ids: 'a..b'}", "nonstream.completion_ids: "),
    # the three: a string where a list goes (once: a set of characters and 203 SKIPs), a
    # misspelled key (once: 81 FAILs), a wrong type (once: a traceback)
    ("name: x\nfeatures: ids.nonstream", "features must be a list, got \"ids.nonstream\""),
    ("name: x\nnonstream: {completion_id: 'choices[i].token_ids'}",
     "unknown key 'nonstream.completion_id' \\(did you mean 'nonstream.completion_ids'\\?\\)"),
    ("name: x\neos_in_completion_ids: 3", "eos_in_completion_ids must be true/false, got 3"),
    ("name: x\nfeatures: [ids.nonstream, ids.strem]", "features: unknown feature\\(s\\) ids.strem; known: "),
    ("name: x\nvariants: {v: {stream: {mode: often}}}", "variant v\\): stream.mode 'often'"),
    ("- a list", "expected a mapping|is not a mapping"),
    ("name: x\nrequest: {fields: [1]}", "request.fields must be a mapping"),
    ("name: x\nnonstream: {reasoning: reasoning_content}", "nonstream.reasoning must be a list"),
    ("name: x\nstream: {reasoning: ['delta.thinking']}", "stream.reasoning: 'delta.thinking' is not a field name"),
    ("name: x\nstream: {reasoning_fields: [thinking]}", "unknown key 'stream.reasoning_fields' \\(did you mean 'stream.reasoning'"),
])
def test_bad_profiles_are_one_line_naming_key_and_file(tmp_path, text, words):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(UsageError, match=words) as exc:
        load_dialect(str(path))
    assert str(path) in str(exc.value) and "\n" not in str(exc.value)


def test_dialects_validate_command(tmp_path):
    import subprocess
    import sys

    from support import ROOT

    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text("name: mine\nnonstream: {completion_ids: 'choices[i].token_ids'}\nfeatures: [ids.nonstream]\n")
    bad.write_text("name: mine\nfeatures: ids.nonstream\n")
    run = [sys.executable, "-m", "conformance", "dialects", "--validate"]
    ok = subprocess.run([*run, str(good)], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert ok.returncode == 0 and "valid dialect 'mine'" in ok.stderr
    no = subprocess.run([*run, str(bad)], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert no.returncode == 2 and len(no.stderr.strip().splitlines()) == 1 and "features must be a list" in no.stderr


def test_every_shipped_profile_and_variant_loads():
    from conformance.dialects import builtin_names

    for name in builtin_names():
        d = load_dialect(name)
        for variant in d.raw.get("variants") or {}:
            assert load_dialect(f"{name}:{variant}").name == f"{name}:{variant}"


def test_unknown_dialect_name():
    with pytest.raises(UsageError, match="unknown dialect"):
        load_dialect("nope")


def test_column_paths_read_and_rebuild_sglang_logprob_triples():
    body = {"meta_info": {"output_token_logprobs": [[-0.1, 42, None], [-0.2, 2, None]]}}
    path = "meta_info.output_token_logprobs[*][1]"
    assert resolve(body, path) == [42, 2]
    assert assign(body, path, [42])  # a fault dropping the EOS drops its whole entry
    assert body["meta_info"]["output_token_logprobs"] == [[-0.1, 42, None]]
    assert assign(body, path, [42, 7, 8]) and resolve(body, path) == [42, 7, 8]
    assert resolve({"choices": [{"meta_info": {"output_token_logprobs": [[0, 5, "a"]]}}]},
                   "choices[i].meta_info.output_token_logprobs[*][1]") == [5]


def test_request_paths_read_the_sent_body_only():
    assert resolve({"input_ids": [9]}, "$request.input_ids") is MISSING  # never the response
    assert resolve({}, "$request.input_ids", request={"input_ids": [1, 2]}) == [1, 2]
    assert not assign({}, "$request.input_ids", [1]) and not remove({"input_ids": 1}, "$request.input_ids")


def test_sglang_profile_streams_with_sglext_and_reads_the_trailing_chunk():
    d = load_dialect("sglang")
    assert d.with_ids({"stream": False}) == {"stream": False, "return_token_ids": True}
    assert d.with_ids({"stream": True}) == {"stream": True, "return_input_ids_in_sglext": True,
                                            "return_output_ids_in_sglext": True}
    assert d.stream_mode == "trailing" and d.token_in == "input_ids" and d.has("token_in")
    chunks = [
        {"choices": [{"index": 0, "delta": {"content": "a"}}]},
        {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
        {"choices": [], "sglext": {"input_ids": [1, 2], "output_ids": [[3, 4], [5]]}},
        {"choices": [], "usage": {"completion_tokens": 2}},
    ]
    found = d.stream_ids(chunks)
    assert found.prompt == [(2, [1, 2])] and found.concatenated() == [3, 4]
    assert d.stream_ids(chunks, choice=1).concatenated() == [5]
    assert d.stream_usage_of(chunks) == {"completion_tokens": 2}


def test_generate_profile_reads_cumulative_chunks_and_native_fields():
    d = load_dialect("sglang-generate")
    assert d.endpoint == "/generate" and d.shape == "generate" and d.prompt_from_request
    chunks = [{"text": "H", "output_ids": [42], "meta_info": {"completion_tokens": 1, "finish_reason": None}},
              {"text": "Hi", "output_ids": [42, 7], "meta_info": {"completion_tokens": 2,
                                                                  "finish_reason": {"type": "stop", "matched": 2}}}]
    found = d.stream_ids(chunks, request={"input_ids": [1, 2, 3]})
    assert found.prompt == [(None, [1, 2, 3])] and found.concatenated() == [42, 7]
    reply = stream_reply_of(d, chunks)
    assert reply.content == "Hi" and reply.finish_reason == "stop"
    assert reply_of(d, {"text": "Hi", "meta_info": {"finish_reason": {"type": "length"}}}).finish_reason == "length"


def test_profile_variants(tmp_path):
    assert load_dialect("sglang-generate:incremental").stream_mode == "delta"
    with pytest.raises(UsageError, match="no variant 'nope'"):
        load_dialect("sglang-generate:nope")


def test_every_shipped_profile_loads_under_its_file_name():
    for name in builtin_names():
        d = load_dialect(name)
        assert d.name == name and d.features, name
        assert d.stream_mode == "rejected" or d.has("ids.stream"), f"{name}: a stream mode but no ids.stream"


def test_side_channel_profile_keys_are_checked(tmp_path):
    gateway = load_dialect("rllm-gateway")
    assert gateway.side_fetch == "/sessions/{session}/traces" and gateway.stream_mode == "final"
    assert not gateway.has("ids.per_chunk") and load_dialect("vllm").has("ids.per_chunk")  # implied by delta
    assert resolve({"choices": [{"index": 0, "$side": {"x": [1]}}]}, "choices[i].$side.x") == [1]
    for bad, words in [("request: {endpoint: '/sessions/{sesion}/v1/chat/completions'}", "names {sesion}"),
                       ("side_channel: {fetch: /t, session: 'tokconf-{id}'}", "names {id}"),
                       ("side_channel: {fetch: /t, retry: 3}", "unknown key 'side_channel.retry'")]:
        path = tmp_path / "p.yaml"
        path.write_text(f"name: p\n{bad}\n", encoding="utf-8")
        with pytest.raises(UsageError, match=words.replace("{", r"\{").replace("}", r"\}")):
            load_dialect(str(path))


def test_a_response_of_the_wrong_shape_is_a_shape_error_naming_the_reader():
    """A chunk that is a list was an AttributeError inside the check (an internal error); it is the
    engine's wrong answer, which the checks report as a FAIL (running/plugin.py)."""
    from conformance.checking.dialect_replies import reply_of
    from conformance.dialects import ShapeError

    d = load_dialect("vllm")
    with pytest.raises(ShapeError, match=r"dialect vllm reads \(stream_ids: AttributeError"):
        d.stream_ids([["a", "chunk", "that", "is", "a", "list"]])
    with pytest.raises(ShapeError, match=r"\(reply_of: "):
        reply_of(d, {"choices": [{"index": 0, "message": ["not", "an", "object"]}]})
