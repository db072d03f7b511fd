"""Overlays without an engine: choosing one, the engine environment it makes, the boot hook that
applies it (run in a real child interpreter on a stand-in module), and the agentcore overlay's
id bookkeeping with each of its broken variants. The overlays on real SGLang are the engine
tier's (tests/live/test_sglang_overlays.py)."""
import importlib
import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from conformance.engines.base import EngineOptions
from conformance.engines.overlays import (apply_overlay, applied_modules, confirm_applied,
                                          resolve_overlay, shipped)
from conformance.engines.sglang import STANDIN_COMMON, STANDIN_DIR, SglangEngine
from conformance.errors import EngineError, UsageError

BOOT = SglangEngine.overlay_dir
BROKEN = ["agentcore-broken-cumulative", "agentcore-broken-no-flush", "agentcore-broken-shared-buffer",
          "agentcore-broken-shared-watermark", "agentcore-broken-tool-drop"]


@pytest.fixture
def overlays(monkeypatch):
    """The shipped overlay modules, imported the way the engine's interpreter imports them."""
    monkeypatch.syspath_prepend(str(BOOT))
    for name in [m for m in sys.modules if m.startswith("tokconf_overlays")]:
        monkeypatch.delitem(sys.modules, name)
    return lambda name: importlib.import_module(f"tokconf_overlays.{name.replace('-', '_')}")


def test_shipped_names():
    assert set(shipped()) == {"agentcore", "llm360", "miles", *BROKEN}


def test_resolve_shipped_and_user_file(tmp_path):
    ov = resolve_overlay("agentcore", "sglang")
    assert ov.shipped and ov.path.name == "agentcore.py" and ov.env_value == "agentcore"
    user = tmp_path / "mine.py"
    user.write_text("PATCHES = {}\n")
    ov = resolve_overlay(str(user), "sglang")
    assert not ov.shipped and ov.name == "mine" and ov.env_value == str(user.resolve())
    assert len(ov.info()["sha256"]) == 64


@pytest.mark.parametrize("value, engine, words", [
    ("no/such/overlay.py", "sglang", "overlay file no/such/overlay.py does not exist"),
    ("nonesuch", "sglang", "unknown overlay 'nonesuch' for sglang; shipped: agentcore"),
    ("agentcore", "vllm", "--overlay applies to engines sglang, not vllm"),
])
def test_resolve_rejects(value, engine, words):
    with pytest.raises(UsageError, match=None) as exc:
        resolve_overlay(value, engine)
    assert words in str(exc.value)


def test_resolve_rejects_a_file_that_is_not_python(tmp_path):
    other = tmp_path / "x" / "overlay.txt"
    other.parent.mkdir()
    other.write_text("")
    with pytest.raises(UsageError, match="is not a .py module"):
        resolve_overlay(str(other), "sglang")


def test_sglang_launch_env_carries_the_overlay(monkeypatch):
    monkeypatch.setenv("PYTHONPATH", "/some/where")
    ov = resolve_overlay("llm360", "sglang")
    engine = SglangEngine(gpu=False, inspect=lambda python, env: {"sglang": "/x/sglang/__init__.py", "sgl_kernel": None})
    (spec,) = engine.launch_specs(EngineOptions(model="m", served_model="s", python="py", port=1234, overlay=ov))
    # the boot folder comes first; the sgl_kernel stand-in stays on the path behind it
    assert spec.env["PYTHONPATH"].split(os.pathsep) == [str(BOOT), "/some/where", str(STANDIN_DIR), str(STANDIN_COMMON)]
    assert spec.env["TOKCONF_SGLANG_OVERLAY"] == "llm360"
    (plain,) = engine.launch_specs(EngineOptions(model="m", served_model="s", python="py", port=1))
    assert "TOKCONF_SGLANG_OVERLAY" not in plain.env and str(BOOT) not in plain.env.get("PYTHONPATH", "")
    assert apply_overlay({}, ov)["PYTHONPATH"] == str(BOOT)


def test_applied_modules_read_from_the_log(tmp_path):
    log = tmp_path / "sglang.log"
    log.write_text("noise\n[tokconf overlay] agentcore: patched a.b\nx [tokconf overlay] agentcore: patched c\n"
                   "[tokconf overlay] agentcore: patched a.b\n")
    assert applied_modules(log.read_text()) == ["a.b", "c"]
    info = confirm_applied(resolve_overlay("agentcore", "sglang"), log)
    assert info["applied_to"] == ["a.b", "c"] and info["name"] == "agentcore"
    log.write_text("started, but nothing was patched\n")
    with pytest.raises(EngineError, match="overlay agentcore was not applied"):
        confirm_applied(resolve_overlay("agentcore", "sglang"), log)


def _child(tmp_path, overlay_value, code):
    """A fresh interpreter with the boot folder first on its path, as the launcher starts the engine."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(BOOT), str(tmp_path)]),
           "TOKCONF_SGLANG_OVERLAY": overlay_value}
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)


def test_boot_hook_patches_a_module_when_it_is_imported(tmp_path):
    pkg = tmp_path / "fakeengine"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "serving.py").write_text("def answer():\n    return 'upstream'\n")
    overlay = tmp_path / "my_overlay.py"
    overlay.write_text("def patch(module):\n"
                       "    upstream = module.answer\n"
                       "    module.answer = lambda: upstream() + '+overlay'\n"
                       "PATCHES = {'fakeengine.serving': patch}\n")
    res = _child(tmp_path, str(overlay), "import sys; print('fakeengine.serving' in sys.modules);"
                                         "import fakeengine.serving as s; print(s.answer())")
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["False", "upstream+overlay"]  # nothing imported early; patched on import
    assert applied_modules(res.stderr) == ["fakeengine.serving"]
    # without the variable the hook does nothing
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(BOOT), str(tmp_path)])}
    plain = subprocess.run([sys.executable, "-c", "import fakeengine.serving as s; print(s.answer())"], env=env,
                           capture_output=True, text=True, timeout=60)
    assert plain.stdout.strip() == "upstream" and "tokconf overlay" not in plain.stderr


def test_boot_hook_failure_stops_the_interpreter(tmp_path):
    (tmp_path / "fakemod.py").write_text("X = 1\n")
    overlay = tmp_path / "bad_overlay.py"
    overlay.write_text("def patch(module):\n    module.Missing.attr = 1\nPATCHES = {'fakemod': patch}\n")
    res = _child(tmp_path, str(overlay), "import fakemod")
    assert res.returncode != 0 and "AttributeError" in res.stderr  # never half-patched and serving


# -- the agentcore overlay's id bookkeeping, on engine outputs as SGLang's TokenizerManager yields them --

def _sse(choice, **root):
    return "data: " + json.dumps({"id": "x", "object": "chat.completion.chunk", "choices": [choice], **root}) + "\n\n"


def _role(index=0):
    return _sse({"index": index, "delta": {"role": "assistant", "content": ""}, "finish_reason": None})


def _text(text, index=0):
    return _sse({"index": index, "delta": {"content": text}, "finish_reason": None})


def _finish(index=0):
    return _sse({"index": index, "delta": {}, "finish_reason": "stop"})


def _out(ids, index=0):
    return {"index": index, "output_ids": list(ids)}


def _choice(event):
    return json.loads(event[len("data: "):])["choices"][0]


def _stream(ids, steps, tools=False):
    """Drive one StreamIds like the chat code: each step is (engine output, chunks it yields)."""
    events = []
    for output, chunks in steps:
        ids.on_output(output, tools)
        events += [ids.annotate(c) for c in chunks]
    return events


def test_agentcore_holds_ids_back_and_flushes_onto_the_finish_chunk(overlays):
    agentcore = overlays("agentcore")
    ids = agentcore.StreamIds(incremental=False)
    ids.prompt = agentcore.request_prompt_ids(SimpleNamespace(input_ids=[[1, 2, 3], [1, 2, 3]]))  # n=2: a batch
    events = _stream(ids, [
        (_out([10]), [_role(), _text("Hel")]),
        (_out([10, 11]), []),  # the detokenizer held the text back: no chunk, the id waits
        (_out([10, 11, 12]), [_text("lo!")]),
        (_out([10, 11, 12, 2]), []),  # the EOS: no text
    ]) + [ids.annotate(_finish()), ids.annotate("data: [DONE]\n\n")]
    assert json.loads(events[0][6:])["prompt_token_ids"] == [1, 2, 3]
    assert "token_ids" not in _choice(events[0])  # the role chunk carries no completion ids
    assert [_choice(e).get("token_ids") for e in events[1:4]] == [[10], [11, 12], [2]]
    assert events[4] == "data: [DONE]\n\n"


@pytest.mark.parametrize("input_ids, prompt", [([5, 6], [5, 6]), (None, None), ("text prompt", None), ([], None)])
def test_agentcore_prompt_ids_are_the_ones_the_chat_layer_hands_the_engine(overlays, input_ids, prompt):
    assert overlays("agentcore").request_prompt_ids(SimpleNamespace(input_ids=input_ids)) == prompt


def test_agentcore_reasoning_chunks_carry_no_ids(overlays):
    ids = overlays("agentcore").StreamIds(incremental=False)
    reasoning = _sse({"index": 0, "delta": {"reasoning_content": "hmm"}, "finish_reason": None})
    events = _stream(ids, [(_out([7]), [reasoning]), (_out([7, 8]), [_text("Hi")])])
    assert "token_ids" not in _choice(events[0]) and _choice(events[1])["token_ids"] == [7, 8]


def test_agentcore_nonstream_drops_an_empty_id_list(overlays):
    body = {"choices": [{"index": 0, "message": {}}]}
    assert overlays("agentcore")._nonstream_ids(body, [{"output_ids": []}], None) == {"choices": [{"index": 0, "message": {}}]}


def test_agentcore_drops_keys_when_there_is_nothing_to_send(overlays):
    ids = overlays("agentcore").StreamIds(incremental=False)
    events = _stream(ids, [(_out([42]), [_role(), _text("H")])]) + [ids.annotate(_finish())]
    assert "token_ids" not in _choice(events[2]) and events[2] == _finish()  # untouched, not token_ids: []


def test_agentcore_incremental_mode_takes_outputs_as_deltas(overlays):
    ids = overlays("agentcore").StreamIds(incremental=True)
    events = _stream(ids, [(_out([10]), [_text("a")]), (_out([11, 12]), [_text("bc")])])
    assert [_choice(e)["token_ids"] for e in events] == [[10], [11, 12]]


def _n2_steps():
    return [(_out([10], 0), [_role(0), _text("a", 0)]), (_out([20], 1), [_role(1), _text("x", 1)]),
            (_out([10, 11], 0), [_text("b", 0)]), (_out([20, 21, 22], 1), [_text("yz", 1)])]


def test_agentcore_keeps_one_watermark_per_choice(overlays):
    ids = overlays("agentcore").StreamIds(incremental=False)
    events = [e for e in _stream(ids, _n2_steps()) if "token_ids" in _choice(e)]
    assert [(_choice(e)["index"], _choice(e)["token_ids"]) for e in events] == [
        (0, [10]), (1, [20]), (0, [11]), (1, [21, 22])]


def _tool_steps():
    # the tool parser buffers `<tool_call>{"name"...` and yields nothing for two outputs
    return [(_out([2000]), [_role()]), (_out([2000, 5]), []),
            (_out([2000, 5, 6]), [_sse({"index": 0, "delta": {"tool_calls": [{"index": 0}]}, "finish_reason": None})]),
            (_out([2000, 5, 6, 2001, 2]), [])]


def test_agentcore_first_tool_chunk_claims_what_the_parser_swallowed(overlays):
    ids = overlays("agentcore").StreamIds(incremental=False)
    events = _stream(ids, _tool_steps(), tools=True) + [ids.annotate(_finish())]
    assert [_choice(e).get("token_ids") for e in events[1:]] == [[2000, 5, 6], [2001, 2]]


# each broken variant, on the input that shows its bug class (the engine tier shows it on SGLang)

def _concat(events):
    return [i for e in events for i in _choice(e).get("token_ids", [])]


def test_broken_no_flush_loses_the_eos(overlays):
    ids = overlays("agentcore-broken-no-flush").NoFlushOnFinish(incremental=False)
    events = _stream(ids, [(_out([10]), [_text("a")]), (_out([10, 2]), [])]) + [ids.annotate(_finish())]
    assert _concat(events) == [10]


def test_broken_tool_drop_loses_swallowed_ids(overlays):
    ids = overlays("agentcore-broken-tool-drop").DropWhenParserSilent(incremental=False)
    events = _stream(ids, _tool_steps(), tools=True) + [ids.annotate(_finish())]
    assert _concat(events) == [6, 2001, 2]  # 2000 and 5 were replaced before a chunk took them


def test_broken_cumulative_repeats_ids(overlays):
    ids = overlays("agentcore-broken-cumulative").CumulativeAsDelta(incremental=False)
    events = _stream(ids, [(_out([10]), [_text("a")]), (_out([10, 11]), [_text("b")])])
    assert _concat(events) == [10, 10, 11]


def test_broken_shared_watermark_mixes_choices(overlays):
    ids = overlays("agentcore-broken-shared-watermark").OneWatermark(incremental=False)
    events = [e for e in _stream(ids, _n2_steps()) if "token_ids" in _choice(e)]
    by_index = {}
    for e in events:
        by_index.setdefault(_choice(e)["index"], []).extend(_choice(e)["token_ids"])
    assert by_index == {0: [10, 11], 1: [22]}  # choice 1 sliced at choice 0's watermark: 20 and 21 lost


def test_broken_shared_buffer_crosses_requests(overlays):
    module = overlays("agentcore-broken-shared-buffer")
    a, b = module.SharedBuffer(incremental=False), module.SharedBuffer(incremental=False)
    a.on_output(_out([10]), False)
    b.on_output(_out([90]), False)  # another request's output lands in the same buffer
    assert _choice(a.annotate(_text("x")))["token_ids"] == [10, 90]
    # the correct overlay keeps them apart
    good = overlays("agentcore")
    a, b = good.StreamIds(incremental=False), good.StreamIds(incremental=False)
    a.on_output(_out([10]), False)
    b.on_output(_out([90]), False)
    assert _choice(a.annotate(_text("x")))["token_ids"] == [10]


def test_every_broken_variant_patches_what_agentcore_patches(overlays):
    modules = set(overlays("agentcore").PATCHES)
    for name in BROKEN:
        assert set(overlays(name).PATCHES) == modules, name
        assert overlays(name).__doc__.startswith("BROKEN on purpose"), name


@pytest.mark.parametrize("args, words", [
    (["--engine", "sglang", "--overlay", "no/such/overlay.py"], "error: overlay file no/such/overlay.py does not exist"),
    (["--engine", "sglang", "--overlay", "nonesuch"], "error: unknown overlay 'nonesuch' for sglang"),
    (["--engine", "vllm", "--overlay", "agentcore"], "error: --overlay applies to engines sglang, not vllm"),
    (["--base-url", "http://127.0.0.1:9", "--model", "m", "--overlay", "agentcore"], "it needs --engine, not --base-url"),
])
def test_cli_overlay_usage_errors_exit_2_in_one_line(tmp_path, args, words):
    res = subprocess.run([sys.executable, "-m", "conformance", "verify", *args, "--report-dir", str(tmp_path)],
                         capture_output=True, text=True, timeout=120, cwd=Path(__file__).resolve().parents[2])
    assert res.returncode == 2, res.stderr
    assert words in " ".join(res.stderr.split()) and "Traceback" not in res.stderr
    assert res.stderr.count("error:") == 1  # one message (the console wraps a long one)
    assert not any((tmp_path).iterdir())  # nothing was started or written
