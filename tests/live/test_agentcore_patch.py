"""Real-engine tier: agentcore's OWN token-ids patch (agentcore-rl-toolkit 0.1.3, `apply_patch()`)
on real SGLang 0.5.9, as its users run it, through `tokconf verify --patch agentcore-0.1.3`.

Both stream modes of the engine: the default (cumulative output_ids inside the engine) and
--stream-output (per-yield deltas), each with its findings declared in an expectations file with
the wire evidence. And the patch refusing to half-apply: on SGLang 0.5.23 (anchors missing) and in
an interpreter without the package, nothing is started and the run ends with one line, exit 3.
One engine at a time (a launch is ~20-45 s here).
"""
import json
import os
import sys
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from procs import processes_with  # noqa: E402
from test_vllm_engine import tokconf  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SGLANG059 = Path(os.environ.get("TOKCONF_SGLANG059_PYTHON") or ROOT / ".venv-sglang059" / "bin" / "python")
SGLANG0523 = Path(os.environ.get("TOKCONF_SGLANG_PYTHON") or ROOT / ".venv-sglang" / "bin" / "python")
MODEL = ROOT / "fixtures" / "tiny-chat-tf4"  # tiny-chat, naming a tokenizer class transformers 4.57.1 loads
EXPECT = ROOT / "fixtures" / "expectations"

pytestmark = [pytest.mark.engine,
              pytest.mark.skipif(not SGLANG059.exists(), reason=f"no SGLang 0.5.9 virtualenv at {SGLANG059} "
                                 "(make test builds .venv-sglang059)")]
# the ids checks the patch's contract is about: each must PASS on every case it applies to
CONTRACT = ["exposure.nonstream", "decode.roundtrip.nonstream", "finish.eos.nonstream", "n.per_choice.nonstream",
            "multiturn.prefix"]
STREAMED = ["exposure.stream", "parity.stream_nonstream", "decode.roundtrip.stream", "finish.eos.stream",
            "n.per_choice.stream", "tools.call_parity", "hygiene.delta_or_cumulative", "hygiene.synthetic_final",
            "stream.id_placement"]


def verify_patch(tmp_path, *extra, python=SGLANG059, expectations=None):
    name = f"tokconf-test-{uuid.uuid4().hex[:8]}"
    out = tmp_path / "out.json"
    args = ["verify", "--engine", "sglang", "--engine-python", str(python), "--patch", "agentcore-0.1.3",
            "--model", str(MODEL), "--served-model-name", name, "--report-dir", str(tmp_path / "reports"),
            "--json", str(out), *extra]
    if expectations:
        args += ["--expectations", str(EXPECT / expectations)]
    res = tokconf(*args, timeout=900)
    report = json.loads(out.read_text()) if out.exists() else None
    assert processes_with(name) == []  # the engine and its workers are gone
    return res, report


def outcomes(report, check):
    return {r["outcome"] for r in report["results"] if r["check"] == check}


def assert_real_patch_ran(report):
    info = report["run_info"]["patch"]
    assert info["name"] == "agentcore-0.1.3" and info["package"] == "agentcore-rl-toolkit==0.1.3"
    assert info["engine_package"] == "sglang==0.5.9"
    assert len(info["anchors_applied"]) == 17  # every anchor of the patch's own log
    assert info["files_before"] != info["files_after"]  # the copy the engine ran was rewritten
    assert report["run_info"]["dialect"] == "sglang-tokenids-patch"  # the patch's dialect is verify's default


def test_default_mode_passes_the_contract_with_the_engines_finding_declared(tmp_path):
    res, report = verify_patch(tmp_path, expectations="sglang-0.5.9-agentcore-0.1.3.yaml")
    assert report is not None, res.stdout[-3000:] + res.stderr[-3000:]
    assert res.returncode == 0, [(r["check"], r["case"], r["reason"][:300]) for r in report["results"]
                                 if r["outcome"] in ("FAIL", "ERROR", "XPASS")]
    assert_real_patch_ran(report)
    for check in CONTRACT + STREAMED:
        assert outcomes(report, check) <= {"PASS", "SKIP"} and "PASS" in outcomes(report, check), check
    # the declared finding is seen, with its wire evidence: the server's rendering of the tool
    xfail = [r for r in report["results"] if r["outcome"] == "XFAIL"]
    assert {r["case"] for r in xfail} == {"weather_tools", "capital_tools", "weather_followup"}
    assert all('"strict": false' in r["evidence"]["server_text"] for r in xfail)


def test_stream_output_mode_with_the_engines_lost_deltas_declared(tmp_path):
    res, report = verify_patch(tmp_path, "--engine-arg=--stream-output",
                               expectations="sglang-0.5.9-agentcore-0.1.3-stream-output.yaml")
    assert report is not None, res.stdout[-3000:] + res.stderr[-3000:]
    assert res.returncode == 0, [(r["check"], r["case"], r["reason"][:300]) for r in report["results"]
                                 if r["outcome"] in ("FAIL", "ERROR", "XPASS")]
    assert_real_patch_ran(report)
    assert "--stream-output" in report["run_info"]["launch_argv"][-1]
    for check in CONTRACT:  # the non-stream side is not touched by the engine's stream bug
        assert outcomes(report, check) <= {"PASS", "SKIP"} and "PASS" in outcomes(report, check), check
    # an INTERMITTENT (the lost ids) names the mechanism; never anything but these outcomes
    for r in report["results"]:
        if r["outcome"] == "INTERMITTENT":
            assert "--stream-output" in r["reason"] and r["check"] in STREAMED + ["finish.stop_string",
                                                                                "finish.length", "tools.with_without"]


@pytest.mark.skipif(not SGLANG0523.exists(), reason=f"no SGLang 0.5.23 virtualenv at {SGLANG0523}")
def test_the_patch_on_sglang_0_5_23_is_refused_naming_the_missing_anchors(tmp_path):
    # the package reached from the 0.5.9 venv's site-packages, as a user's PYTHONPATH would
    site = next((SGLANG059.parent.parent / "lib").glob("python3*/site-packages"))
    shelf = tmp_path / "shelf"
    shelf.mkdir()
    for entry in [site / "agentcore_rl_toolkit", *site.glob("agentcore_rl_toolkit-0.1.3.dist-info")]:
        (shelf / entry.name).symlink_to(entry)
    res, report = verify_patch(tmp_path, f"--engine-env=PYTHONPATH={shelf}", python=SGLANG0523)
    assert res.returncode == 3 and report is None
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert "--patch agentcore-0.1.3 did not apply on sglang 0.5.23" in lines[0]
    assert "already patched" in lines[0] and "Could not find" in lines[0]  # protocol.py, then serving_chat.py
    assert "Traceback" not in res.stderr
    assert not any((tmp_path / "reports").rglob("patched-sglang"))  # nothing half-patched left to load


@pytest.mark.skipif(not SGLANG0523.exists(), reason=f"no SGLang 0.5.23 virtualenv at {SGLANG0523}")
def test_an_interpreter_without_the_patch_package_is_one_line(tmp_path):
    res, report = verify_patch(tmp_path, python=SGLANG0523)
    assert res.returncode == 3 and report is None
    assert "no agentcore-rl-toolkit installed" in res.stderr and "pip install --no-deps agentcore-rl-toolkit==0.1.3" \
        in res.stderr
    assert "Traceback" not in res.stderr


# tokconf's broken variants of the REAL patch (its own code applied, then one edit of ours: the
# patch file's `variants`), each caught with a reason that names its class. The same classes and
# words as the overlay's variants on 0.5.23 (test_sglang_overlays.BROKEN), here in the fork's lines.
from test_sglang_overlays import BROKEN as OVERLAY_BROKEN, SELECT  # noqa: E402

BROKEN = {name.replace("agentcore-", ""): must_fail for name, must_fail in OVERLAY_BROKEN.items()}


@pytest.mark.parametrize("variant", sorted(BROKEN))
def test_broken_variant_of_the_real_patch_is_caught(tmp_path, variant):
    name = f"tokconf-test-{uuid.uuid4().hex[:8]}"
    out = tmp_path / "out.json"
    res = tokconf("verify", "--engine", "sglang", "--engine-python", str(SGLANG059), "--patch",
                  f"agentcore-0.1.3:{variant}", "--model", str(MODEL), "--served-model-name", name,
                  "--report-dir", str(tmp_path / "reports"), "--json", str(out), "-k", SELECT,
                  "--concurrency", "4", timeout=900)
    assert processes_with(name) == []
    assert res.returncode == 1, res.stdout[-3000:] + res.stderr[-3000:]
    report = json.loads(out.read_text())
    info = report["run_info"]["patch"]
    assert info["variant"] == variant and len(info["anchors_applied"]) == 17  # the real patch, then our fault
    failed = [(r["check"], r["reason"]) for r in report["results"] if r["outcome"] == "FAIL"]
    for check, words in BROKEN[variant].items():
        reasons = [msg for c, msg in failed if c == check]
        assert reasons, (check, failed)
        assert any(w in msg for msg in reasons for w in words), (check, words, reasons)
