"""Real-engine tier: `tokconf verify --engine sglang` launches SGLang 0.5.23 itself (on CPU, with
tokconf's sgl_kernel stand-in on the engine's path, recorded in run info), here with
--incremental-streaming-output so /generate streams disjoint deltas: the `sglang-generate:incremental`
dialect. The other upstream dialects share one engine in test_sglang_dialects.py."""
import json
import subprocess
import sys
import uuid

import pytest

from procs import processes_with
from sglang_venv import ROOT, SGLANG_PYTHON, needs_sglang

pytestmark = [pytest.mark.engine, needs_sglang]


def test_verify_launches_sglang_with_the_standin_incremental_generate(tmp_path):
    name = f"tokconf-test-{uuid.uuid4().hex[:8]}"
    out = tmp_path / "out.json"
    res = subprocess.run([sys.executable, "-m", "conformance", "verify", "--engine", "sglang",
                          "--engine-python", str(SGLANG_PYTHON), "--served-model-name", name,
                          "--engine-arg=--incremental-streaming-output", "--dialect", "sglang-generate:incremental",
                          "--startup-timeout", "420", "--json", str(out), "--report-dir", str(tmp_path / "reports")],
                         capture_output=True, text=True, cwd=ROOT, timeout=900)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-3000:]
    report = json.loads(out.read_text())
    bad = [(r["check"], r["case"], r["outcome"], r["reason"][:200]) for r in report["results"]
           if r["outcome"] not in ("PASS", "INCONCLUSIVE", "SKIP")]  # each SKIP says why
    assert bad == []
    outcomes = {}
    for r in report["results"]:
        outcomes.setdefault(r["check"], set()).add(r["outcome"])
    for check in ("exposure.stream", "hygiene.delta_or_cumulative", "parity.stream_nonstream", "decode.roundtrip.stream",
                  "n.per_choice.stream"):
        assert outcomes[check] == {"PASS"}, (check, outcomes[check])
    info = report["run_info"]
    assert info["engine"] == "sglang" and info["engine_version"]["version"] == "0.5.23"
    assert info["engine_setup"]["sgl_kernel"].startswith("tokconf's CPU stand-in")
    assert "--incremental-streaming-output" in info["launch_argv"][0]
    (run_dir,) = (tmp_path / "reports").iterdir()
    log = (run_dir / "sglang.log").read_text()
    assert "NotImplementedError" not in log  # no stand-in kernel was ever called
    assert processes_with(name) == []
