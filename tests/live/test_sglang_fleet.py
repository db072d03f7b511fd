"""Real-engine tier: a fleet, sglang-router 0.3.2 (PyPI, Rust binary) routing round robin in front
of two SGLang 0.5.23 workers on CPU serving the fixture model. One launch per configuration:

- uniform: `tokconf verify --engine sglang --fleet-size 2` launches both workers and the router
  itself (conformance/engines/fleet.py); fleet.workers_agree passes on every greedy case, no FAIL
  anywhere, and both workers served requests;
- disagreeing: the same launcher's processes, worker 1 serving the fixture's untrained twin (a
  worker that missed a weight update: same architecture, tokenizer and served name), started with
  tokconf's RunningEngine and verified in attach mode (`--base-url ROUTER --fleet-size 2`):
  fleet.workers_agree fails, naming the request and the divergence.

Through sglang-router 0.3.2 a chat client gets no ids at all: the router drops the opt-in fields
(`return_token_ids`, the sglext flags) and the `sglext` headers' answer (shown live below). The
native /generate passes, so the fleet is verified as RL frameworks drive it: `sglang-generate`
(the client renders the template, so a worker's own `--chat-template` cannot make it disagree).
"""
import subprocess
import sys
import uuid

import httpx
import pytest

from conformance.engines.base import EngineOptions
from conformance.engines.fleet import Fleet
from conformance.engines.launch import RunningEngine
from conformance.engines.sglang import SglangEngine
from fleets import fleet_results, report_of, tokconf, verify_caught
from procs import processes_with
from sglang_venv import EXPECTATIONS, FIXTURE, ROOT, SGLANG_PYTHON, fixture_tokenizers_disagree, needs_sglang, ours

pytestmark = [pytest.mark.engine, needs_sglang]
DIALECT = "sglang-generate"
UNTRAINED = ROOT / "fixtures" / "model-src" / "build_untrained.py"


def test_a_uniform_fleet_launched_by_tokconf_agrees(tmp_path):
    name = f"tokconf-fleet-{uuid.uuid4().hex[:8]}"
    out = tmp_path / "out.json"
    res = tokconf("verify", "--engine", "sglang", "--fleet-size", "2", "--engine-python", str(SGLANG_PYTHON),
                  "--served-model-name", name, "--dialect", DIALECT, "--expectations", str(EXPECTATIONS),
                  "--json", str(out), "--report-dir", str(tmp_path / "reports"), "--startup-timeout", "600")
    report = report_of(res, out)
    bad = [(r["check"], r["case"], r["outcome"], r["reason"][:200]) for r in report["results"]
           if r["outcome"] in ("FAIL", "ERROR", "XPASS") and not (fixture_tokenizers_disagree() and ours(r))]
    assert bad == [], res.stderr[-3000:]
    results = fleet_results(report)
    assert results and {r["outcome"] for r in results.values()} == {"PASS"}, results
    info = report["run_info"]
    assert info["fleet_size"] == 2
    assert "to the same worker" in info["determinism"]["reason"] and info["determinism"]["deterministic"] is True
    *workers, router = info["launch_argv"]
    assert len(workers) == 2 and "sglang_router.launch_router" in router and "round_robin" in router
    assert all(a.startswith("http://127.0.0.1:") for a in router[router.index("--worker-urls") + 1:][:2])
    run = next((tmp_path / "reports").iterdir())
    served = [(run / f"sglang-worker{i}.log").read_text().count('"POST /generate') for i in (0, 1)]
    assert min(served) > 20, served  # round robin: both workers served the catalogue's requests
    assert processes_with(name) == []


@pytest.fixture(scope="module")
def disagreeing_fleet(tmp_path_factory):
    name = f"tokconf-fleet-{uuid.uuid4().hex[:8]}"
    stale = tmp_path_factory.mktemp("untrained") / "model"
    subprocess.run([sys.executable, str(UNTRAINED), str(stale)], check=True, capture_output=True, timeout=300)
    specs = Fleet(SglangEngine(), 2).launch_specs(EngineOptions(model=str(FIXTURE), served_model=name,
                                                                python=str(SGLANG_PYTHON)))
    argv = specs[1].argv  # worker 1 alone: the checkpoint before the weight update
    argv[argv.index("--model-path") + 1] = str(stale)
    with RunningEngine(specs, tmp_path_factory.mktemp("fleet-logs"), startup_timeout=600) as fleet:
        yield fleet, specs, name
    assert processes_with(name) == []


def test_a_worker_with_stale_weights_is_caught(disagreeing_fleet, tmp_path):
    fleet, _, name = disagreeing_fleet
    verify_caught(fleet.base_url, name, FIXTURE, DIALECT, tmp_path)


@pytest.mark.parametrize("optin", [{"body": {"return_token_ids": True}},
                                   {"headers": {"x-sglext-return-input-ids": "1", "x-sglext-return-output-ids": "1"}}],
                         ids=["return_token_ids", "sglext-headers"])
def test_the_router_loses_the_chat_ids(disagreeing_fleet, optin):
    fleet, specs, name = disagreeing_fleet
    body = {"model": name, "messages": [{"role": "user", "content": "hello there"}], "temperature": 0,
            "max_tokens": 8, **optin.get("body", {})}
    headers = optin.get("headers", {})
    direct = httpx.post(specs[0].base_url + "/v1/chat/completions", json=body, headers=headers, timeout=120).json()
    routed = httpx.post(fleet.base_url + "/v1/chat/completions", json=body, headers=headers, timeout=120).json()
    ids = lambda r: r["choices"][0].get("response_token_ids") or (r.get("sglext") or {}).get("output_ids")
    assert ids(direct), direct  # the worker answers the opt-in
    assert routed["choices"][0]["message"]["content"] and not ids(routed), routed  # through the router: none
