"""Engine-free A/B: agentcore-rl-toolkit 0.1.3's own patch (SGLang 0.5.9) against tokconf's agentcore
overlay (SGLang 0.5.23), fed the same scripted engine outputs (overlay_ab/scenarios.yaml).

Each side is SGLang's real chat code in its own virtualenv, made the way `tokconf verify` makes it
(the patch applied by conformance.engines.patches to a private copy; the overlay by the
sitecustomize hook), over a stand-in tokenizer manager (overlay_ab/harness.py): no model, no
scheduler, a few seconds. Scenario by scenario, where the ids land must be the same on both sides,
except the differences overlay_ab/differences.yaml lists (docs/agentcore-overlay-vs-patch.md), each
asserted as itself: one that stops showing, or any new one, fails.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conformance.engines.overlays import apply_overlay, resolve_overlay
from conformance.engines.patches import apply, load_patch
from conformance.engines.sglang import inspect_python, standin_pythonpath

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent / "overlay_ab"
SCENARIOS = yaml.safe_load((HERE / "scenarios.yaml").read_text())["scenarios"]
DIFFERENCES = yaml.safe_load((HERE / "differences.yaml").read_text())["differences"]
PATCH_PYTHON = Path(os.environ.get("TOKCONF_SGLANG059_PYTHON") or ROOT / ".venv-sglang059" / "bin" / "python")
OVERLAY_PYTHON = Path(os.environ.get("TOKCONF_SGLANG_PYTHON") or ROOT / ".venv-sglang" / "bin" / "python")

pytestmark = [
    pytest.mark.engine,
    pytest.mark.skipif(not PATCH_PYTHON.exists(), reason=f"no SGLang 0.5.9 virtualenv at {PATCH_PYTHON} "
                       "(make .venv-sglang059/.tokconf-installed builds it)"),
    pytest.mark.skipif(not OVERLAY_PYTHON.exists(), reason=f"no SGLang 0.5.23 virtualenv at {OVERLAY_PYTHON} "
                       "(make .venv-sglang/.tokconf-installed builds it)"),
]


def engine_env(python: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    found = inspect_python(str(python), env)
    if not found.get("sgl_kernel"):  # as the launcher does on a CPU machine
        env["PYTHONPATH"] = os.pathsep.join(standin_pythonpath(found.get("version")))
    return env


def start(python: Path, env: dict, model: str, out: Path) -> subprocess.Popen:
    return subprocess.Popen([str(python), str(HERE / "harness.py"), str(HERE / "scenarios.yaml"),
                             str(ROOT / "fixtures" / model), str(out)], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)


def finish(proc: subprocess.Popen, out: Path, side: str) -> dict:
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0 and out.exists(), f"{side} harness failed:\n" + err[-4000:]
    return json.loads(out.read_text())


@pytest.fixture(scope="module")
def sides(tmp_path_factory):
    """Both harness runs, side by side (the two venvs run at once: ~10 s of wall time)."""
    work = tmp_path_factory.mktemp("overlay-ab")
    patch_env, info = apply(load_patch("agentcore-0.1.3"), str(PATCH_PYTHON), engine_env(PATCH_PYTHON), work)
    overlay_env = apply_overlay(engine_env(OVERLAY_PYTHON), resolve_overlay("agentcore", "sglang"))
    procs = {"patch": start(PATCH_PYTHON, patch_env, "tiny-chat-tf4", work / "patch.json"),
             "overlay": start(OVERLAY_PYTHON, overlay_env, "tiny-chat", work / "overlay.json")}
    result = {side: finish(p, work / f"{side}.json", side) for side, p in procs.items()}
    result["patched_copy"] = info["patched_copy"]
    return result


# --- what is compared: where the ids land, not SGLang's other fields ---------------------------

def chunk_view(chunk, engine_prompt):
    """One SSE event as (index, what it carries, its token_ids, its prompt ids). Prompt ids show as
    "engine" when they are exactly the prompt the engine was given (they are not the same list on
    both sides where the two SGLang releases render the tools into the prompt differently)."""
    if chunk == "[DONE]" or "event" in chunk:
        return ("[DONE]",) if chunk == "[DONE]" else ("event", chunk["event"])
    prompt = chunk.get("prompt_token_ids")
    prompt = "engine" if prompt is not None and prompt == engine_prompt else prompt
    choices = chunk.get("choices") or []
    if len(choices) != 1:
        return ("no choice", prompt)
    choice, delta = choices[0], choices[0].get("delta") or {}
    if delta.get("role"):
        carries = "role"
    elif delta.get("content"):
        carries = f"content {delta['content']!r}"
    elif delta.get("reasoning_content"):
        carries = f"reasoning {delta['reasoning_content']!r}"
    elif delta.get("tool_calls"):
        carries = "tool " + json.dumps([call.get("function") for call in delta["tool_calls"]], sort_keys=True)
    elif choice.get("finish_reason"):
        carries = f"finish {choice['finish_reason']}"
    else:
        carries = "nothing"
    return (choice.get("index"), carries, choice.get("token_ids"), prompt)


def stream_view(run):
    return [chunk_view(c, run["stream_prompt"]) for c in run["stream"]]


def nonstream_view(run):
    body = run["nonstream"]
    prompt = body.get("prompt_token_ids")
    prompt = "engine" if prompt is not None and prompt == run["nonstream_prompt"] else prompt
    # message.content is left out: an empty answer is null on 0.5.9 and "" on 0.5.23 (SGLang's own)
    return {"prompt": prompt, "choices": [(c["index"], c.get("finish_reason"), c.get("token_ids"))
                                          for c in body["choices"]]}


def differing(a, b):
    """Positions where two views differ (a length mismatch is a difference of its own)."""
    if isinstance(a, dict):
        return {k for k in a if a[k] != b.get(k)} | {k for k in b if k not in a}
    if len(a) != len(b):
        return {"length"}
    return {i for i, (x, y) in enumerate(zip(a, b)) if x != y}


# --- the documented differences, each recognised as itself ---------------------------------------

def tool_chunk_repeats_text_ids(scenario, patch, overlay):
    """The patch hands one parser call's ids to its normal-text chunk AND its first tool-call chunk
    (the normal-text chunk does not clear them); the overlay sends them once, on the first chunk.
    Returns the stream positions this explains; the non-stream side is not touched."""
    explained = set()
    ps, os_ = stream_view(patch[scenario]), stream_view(overlay[scenario])
    for i in differing(ps, os_):
        assert i != "length", (scenario, ps, os_)
        before = ps[i - 1]
        assert ps[i][1].startswith("tool ") and before[1].startswith("content "), (scenario, ps[i], before)
        assert ps[i][2] == before[2] and ps[i][2], (scenario, ps[i], before)  # the same ids twice
        assert os_[i] == (ps[i][0], ps[i][1], None, ps[i][3]) and os_[i - 1] == before, (scenario, os_[i])
        explained.add(("stream", i))
    assert explained, f"{scenario}: the patch no longer repeats the ids on the tool-call chunk"
    return explained


def prompt_ids_where_the_engine_got_ids(scenario, patch, overlay):
    """Both send prompt ids only where the chat layer handed the engine ids (GenerateReqInput.input_ids);
    for a multimodal model's text-only request 0.5.9 hands text, 0.5.23 reuses the rendered ids."""
    assert patch[scenario]["prompt_form"] == "text" and overlay[scenario]["prompt_form"] == "input_ids"
    explained = set()
    ps, os_ = stream_view(patch[scenario]), stream_view(overlay[scenario])
    for i in differing(ps, os_):
        assert i != "length" and ps[i][1] == "role", (scenario, ps, os_)
        assert ps[i][3] is None and os_[i][3] == "engine" and ps[i][:3] == os_[i][:3], (scenario, ps[i], os_[i])
        explained.add(("stream", i))
    pn, on = nonstream_view(patch[scenario]), nonstream_view(overlay[scenario])
    assert differing(pn, on) == {"prompt"} and pn["prompt"] is None and on["prompt"] == "engine", (pn, on)
    explained.add(("nonstream", "prompt"))
    assert any(k[0] == "stream" for k in explained), f"{scenario}: the role chunks no longer differ"
    return explained


CHECKS = {f.__name__: f for f in (tool_chunk_repeats_text_ids, prompt_ids_where_the_engine_got_ids)}


def test_every_documented_difference_has_a_check_and_scenarios():
    names = {s["name"] for s in SCENARIOS}
    for diff in DIFFERENCES:
        assert diff["check"] in CHECKS and diff["cause"] in {"patch", "sglang"}, diff
        assert diff["scenarios"] and set(diff["scenarios"]) <= names, diff


def test_both_sides_really_run_their_contract(sides):
    """Not two silent no-ops: the patch's copy and the overlay are the code that ran, and both
    send ids (a scenario with output ids gets them non-stream on both sides)."""
    patch, overlay = sides["patch"], sides["overlay"]
    assert patch["_meta"]["sglang"] == "0.5.9" and patch["_meta"]["serving_chat"].startswith(sides["patched_copy"])
    assert overlay["_meta"]["overlay"] == "agentcore" and overlay["_meta"]["incremental_flag"] == \
        "incremental_streaming_output"
    for scenario in SCENARIOS:
        wanted = any(step["ids"] for step in scenario["steps"])
        for side in (patch, overlay):
            ids = [c.get("token_ids") for c in side[scenario["name"]]["nonstream"]["choices"]]
            assert all(ids) if wanted else not any(ids), (scenario["name"], ids)


def test_stream_ids_add_up_to_the_nonstream_ids_on_the_overlay(sides):
    """The overlay's contract on every scenario: per choice, the streamed deltas concatenate to the
    non-stream token_ids (the patch breaks this only where tool_chunk_repeats_text_ids says)."""
    overlay = sides["overlay"]
    for scenario in SCENARIOS:
        run = overlay[scenario["name"]]
        streamed: dict[int, list[int]] = {}
        for chunk in run["stream"]:
            for choice in (chunk.get("choices") or []) if isinstance(chunk, dict) else []:
                streamed.setdefault(choice["index"], []).extend(choice.get("token_ids") or [])
        whole = {c["index"]: c.get("token_ids") or [] for c in run["nonstream"]["choices"]}
        assert {i: streamed.get(i, []) for i in whole} == whole, scenario["name"]


@pytest.mark.parametrize("scenario", [s["name"] for s in SCENARIOS])
def test_ids_land_where_the_patch_puts_them(sides, scenario):
    patch, overlay = sides["patch"], sides["overlay"]
    documented = [d for d in DIFFERENCES if scenario in d["scenarios"]]
    explained = set()
    for diff in documented:
        explained |= CHECKS[diff["check"]](scenario, patch, overlay)
    found = {("stream", i) for i in differing(stream_view(patch[scenario]), stream_view(overlay[scenario]))}
    found |= {("nonstream", k) for k in differing(nonstream_view(patch[scenario]), nonstream_view(overlay[scenario]))}
    unexplained = found - explained
    assert not unexplained, (
        f"{scenario}: an undocumented difference at {sorted(map(str, unexplained))}\n"
        f"patch:   {stream_view(patch[scenario])}\n         {nonstream_view(patch[scenario])}\n"
        f"overlay: {stream_view(overlay[scenario])}\n         {nonstream_view(overlay[scenario])}")
