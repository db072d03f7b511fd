"""Launch specs of the engines tokconf can start: argv lists (never a shell), environment,
readiness (SGLang's: tests/engines/test_engines_sglang.py). The --engine-cmd path is also run for
real against vLLM in tests/live/."""
import os
import subprocess
import sys

import pytest

from conformance.engines import get_engine
from conformance.engines.base import EngineOptions
from conformance.engines.command import CommandEngine
from conformance.errors import UsageError
from support import ROOT

OPTS = EngineOptions(model="/models/tiny", served_model="tiny", python="/venv/bin/python", port=18300)


def _launcher(name):
    if name == "sglang":  # without looking into an interpreter for sgl_kernel
        from conformance.engines.sglang import SglangEngine

        return SglangEngine(gpu=False, inspect=lambda python, env: {"sglang": "site", "sgl_kernel": "site"})
    return get_engine(name)


@pytest.mark.parametrize("engine", ["vllm", "sglang", "dynamo"])
def test_launchers_never_force_offline_mode(monkeypatch, engine):
    """A hub id must work where the hub is reachable: offline only when the user's environment says so."""
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    specs = _launcher(engine).launch_specs(OPTS)
    assert specs and all("HF_HUB_OFFLINE" not in spec.env for spec in specs)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert all(spec.env["HF_HUB_OFFLINE"] == "1" for spec in _launcher(engine).launch_specs(OPTS))


def test_engine_cmd_splits_into_argv_and_fills_placeholders():
    eng = CommandEngine('{python} -m my_fork.serve --model {model} --name {served_model} --port {port} '
                        '--extra \'{"tool_parser": "hermes"}\' --note "two words; $HOME `x` | y"',
                        "http://127.0.0.1:{port}/health_generate")
    (spec,) = eng.launch_specs(OPTS)
    assert spec.argv == ["/venv/bin/python", "-m", "my_fork.serve", "--model", "/models/tiny", "--name", "tiny",
                         "--port", "18300", "--extra", '{"tool_parser": "hermes"}', "--note", "two words; $HOME `x` | y"]
    assert spec.base_url == "http://127.0.0.1:18300" and spec.ready_paths == ["/health_generate"]


def test_engine_cmd_is_never_run_by_a_shell(tmp_path):
    from conformance.engines.launch import RunningEngine

    marker = tmp_path / "pwned"
    # a shell would run the `touch`; as argv it is just text printed by echo, and readiness never comes
    eng = CommandEngine(f"{sys.executable} -c \"import sys; print(sys.argv[1:])\" ; touch {marker}",
                        "http://127.0.0.1:{port}/health")
    specs = eng.launch_specs(EngineOptions(model="m", served_model="m", python=sys.executable))
    from conformance.errors import EngineError

    with pytest.raises(EngineError, match="exited"):
        with RunningEngine(specs, tmp_path, startup_timeout=30):
            pass
    assert not marker.exists()
    assert "touch" in (tmp_path / "engine.log").read_text()  # the would-be shell command was a mere argument


@pytest.mark.parametrize("cmd,url,words", [
    ("", "http://127.0.0.1:{port}/health", "empty"),
    ("serve 'unclosed", "http://127.0.0.1:{port}/health", "does not split"),
    ("serve", "ftp://127.0.0.1/x", "http(s) URL"),
    ("serve", "http://10.0.0.5:{port}/health", "must listen on 127.0.0.1"),
])
def test_engine_cmd_usage_errors(cmd, url, words):
    with pytest.raises(UsageError, match=words.replace("(", r"\(").replace(")", r"\)")):
        CommandEngine(cmd, url)


@pytest.mark.parametrize("args,words", [
    (["--engine-cmd", "serve"], "--engine-cmd needs --ready-url"),
    (["--ready-url", "http://127.0.0.1:1/health"], "--ready-url goes with --engine-cmd"),
    (["--engine", "vllm", "--engine-cmd", "serve", "--ready-url", "http://127.0.0.1:1/"], "not both"),
    (["--engine-cmd", "serve", "--ready-url", "http://127.0.0.1:1/", "--base-url", "http://127.0.0.1:2", "--model", "m"],
     "not both"),
])
def test_engine_cmd_cli_usage_errors_exit_2(tmp_path, args, words):
    res = subprocess.run([sys.executable, "-m", "conformance", "verify", *args, "--report-dir", str(tmp_path)],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert res.returncode == 2, res.stderr
    assert words in " ".join(res.stderr.split())
