"""Real-engine tier: upstream SGLang 0.5.23 (PyPI, on CPU with tokconf's sgl_kernel stand-in)
serving the fixture model. ONE engine for the module, started through tokconf's own launcher
(SglangEngine + RunningEngine), and every upstream dialect checked against it in attach mode:
`sglang` (non-stream ids + the sglext trailing chunk), `sglang-generate` (native /generate,
cumulative stream), `miles` (input_ids token-in, ids from meta_info.output_token_logprobs); then
`tokconf probe` names the dialects it speaks and `tokconf selftest` proves the checks bite on it.
The incremental /generate variant needs another server flag: test_sglang_launch.py.

SGLang lives in its own virtualenv (`make test` builds .venv-sglang; TOKCONF_SGLANG_PYTHON points
elsewhere). One engine at a time: the machine has 2 cores.
"""
import json
import uuid

import pytest

from conformance.engines.base import EngineOptions
from conformance.engines.launch import RunningEngine
from conformance.engines.sglang import SglangEngine
from procs import processes_with
from sglang_venv import (EXPECTATIONS, FIXTURE, ROOT, SGLANG_PYTHON, by_check, fixture_tokenizers_disagree, needs_sglang,
                         ours, unexpected)
from support import tokconf as run_tokconf

pytestmark = [pytest.mark.engine, needs_sglang]
BASELINE = ROOT / "fixtures" / "baselines" / "sglang-0.5.23-cpu.json"
NAME = f"tokconf-test-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def sglang(tmp_path_factory):
    specs = SglangEngine().launch_specs(EngineOptions(model=str(FIXTURE), served_model=NAME,
                                                      python=str(SGLANG_PYTHON)))
    assert "tokconf's CPU stand-in" in specs[0].notes["sgl_kernel"]
    with RunningEngine(specs, tmp_path_factory.mktemp("sglang-logs"), startup_timeout=420) as engine:
        yield engine.base_url
    assert processes_with(NAME) == []


def tokconf(*args, timeout=600):
    return run_tokconf(*args, timeout=timeout)

def attach(base_url, tmp_path, *args):
    out = tmp_path / "out.json"
    res = tokconf("verify", "--base-url", base_url, "--model", NAME, "--tokenizer", str(FIXTURE), "--json", str(out),
                  "--report-dir", str(tmp_path / "reports"), *args)
    report = json.loads(out.read_text()) if out.exists() else None
    return res, report


def exit_ok(res, report):
    """Exit 0, or 1 only for the fixture tokenizer's own FAIL while it disagrees with transformers."""
    if res.returncode == 1 and report and fixture_tokenizers_disagree():
        return not [r for r in report["results"] if r["outcome"] in ("FAIL", "ERROR", "XPASS") and not ours(r)]
    return res.returncode == 0


def test_sglang_chat_dialect_with_its_expectations(sglang, tmp_path):
    res, report = attach(sglang, tmp_path, "--dialect", "sglang", "--expectations", str(EXPECTATIONS),
                         "--baseline", str(BASELINE))
    assert exit_ok(res, report), res.stdout[-4000:] + res.stderr[-3000:]
    assert unexpected(report, {"PASS", "INCONCLUSIVE", "XFAIL"}) == []
    outcomes = by_check(report)
    assert outcomes["vanilla.openai_schema"] == {"XFAIL"}  # metadata.weight_versions, declared
    for check in ("exposure.nonstream", "exposure.stream", "parity.stream_nonstream", "decode.roundtrip.stream",
                  "n.per_choice.nonstream", "n.per_choice.stream", "tokenin.equivalence", "vanilla.baseline",
                  "vanilla.no_extension_keys", "multiturn.prefix", "stream.chunk_consistency"):
        assert outcomes[check] == {"PASS"}, (check, outcomes[check])
    assert report["run_info"]["engine_version"]["version"] == "0.5.23"
    assert "matched no result" not in res.stderr  # no stale declaration


def test_sglang_generate_native_endpoint(sglang, tmp_path):
    res, report = attach(sglang, tmp_path, "--dialect", "sglang-generate")
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-3000:]
    assert unexpected(report, {"PASS", "INCONCLUSIVE"}) == []
    outcomes = by_check(report)
    for check in ("exposure.nonstream", "exposure.stream", "hygiene.delta_or_cumulative", "parity.stream_nonstream",
                  "decode.roundtrip.stream", "n.per_choice.nonstream", "n.per_choice.stream", "finish.stop_string"):
        assert outcomes[check] == {"PASS"}, (check, outcomes[check])


def test_miles_token_in_with_ids_from_meta_info(sglang, tmp_path):
    res, report = attach(sglang, tmp_path, "--dialect", "miles")
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-3000:]
    assert unexpected(report, {"PASS", "INCONCLUSIVE"}) == []
    outcomes = by_check(report)
    for check in ("exposure.nonstream", "decode.roundtrip.nonstream", "stream.rejected", "n.per_choice.nonstream",
                  "finish.eos.nonstream"):
        assert outcomes[check] == {"PASS"}, (check, outcomes[check])


def test_probe_names_the_dialects_sglang_speaks(sglang):
    res = tokconf("probe", "--base-url", sglang, "--model", NAME, "--tokenizer", str(FIXTURE))
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    lines = [" ".join(line.split()) for line in res.stdout.splitlines()]
    speaks = {line.split()[1] for line in lines if line.startswith("speaks ")}
    assert speaks == {"sglang", "sglang-generate", "miles"}, res.stdout
    assert any(line.startswith("no vllm ") for line in lines)  # vLLM's token_ids: absent upstream


def test_selftest_against_live_sglang_detects_every_applicable_fault(sglang, tmp_path):
    res = tokconf("selftest", "--base-url", sglang, "--model", NAME, "--tokenizer", str(FIXTURE), "--dialect", "sglang",
                  "--baseline", str(BASELINE), "--expectations", str(EXPECTATIONS),
                  "--json", str(tmp_path / "selftest.json"), "--report-dir", str(tmp_path / "reports"), timeout=900)
    doc = json.loads((tmp_path / "selftest.json").read_text())
    alarms = doc["clean"]["false_alarms"]
    if fixture_tokenizers_disagree():  # the fixture's own FAIL, not a false alarm of the checks
        alarms = [a for a in alarms if a != "template.prompt_ids[weather_followup]"]
    assert alarms == [] and doc["clean"]["results"]
    assert res.returncode == 0 or doc["clean"]["false_alarms"] != alarms, res.stdout[-4000:] + res.stderr[-2000:]
    missed = [f["fault"] for f in doc["faults"] if f["applicable"] and not f["detected"]]
    assert missed == [] and doc["faults_applicable"] >= 20
    # the trailing chunk files ids by position: both choice-routing faults apply to it
    applicable = {f["fault"] for f in doc["faults"] if f["applicable"]}
    assert {"stream.choice_index_shifted", "nonstream.tools_gain_defer_loading", "nonstream.adds_choice_key"} <= applicable
