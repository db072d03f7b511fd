"""Real-engine tier: Dynamo 1.6.1 fleets, the frontend routing round robin (`--router-mode
round-robin`) between two workers registered for the same model through one discovery directory
(conformance/engines/dynamo.py, fleet_launch_specs). One launch per configuration:

- uniform: `tokconf verify --engine dynamo --fleet-size 2` launches two Dynamo vLLM workers on CPU
  and the frontend; the whole catalogue, fleet.workers_agree passes on every greedy case, no FAIL
  anywhere, and the two workers' logs show the requests alternating between them;
- disagreeing: the same launch spec, worker 1 started with vLLM's `--load-format dummy` (a worker
  whose weights are not the checkpoint's: what a worker that missed a weight update serves). Its
  model card is the same (the card checksum covers paths, config, tokenizer and template, not
  weights), so the frontend accepts it and routes to it; verified in attach mode
  (`--base-url FRONTEND --fleet-size 2`): fleet.workers_agree fails, naming the request;
- another template (mocker workers, cheap): worker 1 serving a copy of the fixture whose chat
  template differs. Dynamo's frontend renders the template itself, with the card of the first
  worker it accepted, and rejects the other worker's card: it routes nothing to that worker, so a
  template cannot make a Dynamo fleet disagree; tokconf's launch fails, naming the rejection,
  rather than verify one worker against itself;
- mocker workers through `tokconf verify --worker mocker --fleet-size 2`: random ids, so the
  check is INCONCLUSIVE (the workers do not reproduce themselves), never FAIL.
"""
import re
import shutil
import uuid
from pathlib import Path

import pytest

from conformance.engines.base import EngineOptions
from conformance.engines.dynamo import DynamoEngine
from conformance.engines.fleet import Fleet
from conformance.engines.launch import RunningEngine
from conformance.errors import EngineError
from fleets import ROOT, fleet_results, report_of, tokconf, verify_caught
from procs import processes_with
from test_dynamo_engine import DYNAMO_PYTHON, EXPECTATIONS

pytestmark = [pytest.mark.engine,
              pytest.mark.skipif(not DYNAMO_PYTHON.exists(), reason=f"no Dynamo virtualenv at {DYNAMO_PYTHON} "
                                 "(make test builds .venv-dynamo)")]
FIXTURE = ROOT / "fixtures" / "tiny-chat"
# a worker's log line for each request the frontend routed to it (dynamo_runtime's push handler)
SERVED = re.compile(r"push_handler: request received request_id=([0-9a-f-]+)")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def served(log: Path) -> list[tuple[str, str]]:
    """(timestamp, request id) of every request the worker received, from its log."""
    return [(line[:27], m.group(1)) for line in ANSI.sub("", log.read_text(errors="replace")).splitlines()
            if (m := SERVED.search(line))]


def fleet_specs(name, worker="vllm", model=FIXTURE):
    return Fleet(DynamoEngine(), 2).launch_specs(EngineOptions(model=str(model), served_model=name, worker=worker,
                                                               python=str(DYNAMO_PYTHON)))


def test_a_uniform_fleet_launched_by_tokconf_agrees(tmp_path):
    name = f"tokconf-dynfleet-{uuid.uuid4().hex[:8]}"
    out = tmp_path / "out.json"
    res = tokconf("verify", "--engine", "dynamo", "--fleet-size", "2", "--engine-python", str(DYNAMO_PYTHON),
                  "--served-model-name", name, "--expectations", str(EXPECTATIONS), "--json", str(out),
                  "--report-dir", str(tmp_path / "reports"), "--startup-timeout", "600")
    report = report_of(res, out)
    bad = [(r["check"], r["case"], r["outcome"], r["reason"][:200]) for r in report["results"]
           if r["outcome"] in ("FAIL", "ERROR", "XPASS")]
    assert bad == [] and res.returncode == 0, res.stderr[-3000:]
    results = fleet_results(report)
    assert results and {r["outcome"] for r in results.values()} == {"PASS"}, results
    info = report["run_info"]
    assert info["fleet_size"] == 2 and info["dialect"] == "dynamo"  # nvext ids pass the frontend
    assert "to the same worker" in info["determinism"]["reason"] and info["determinism"]["deterministic"] is True
    *workers, frontend = info["launch_argv"]
    assert len(workers) == 2 and "dynamo.vllm" in workers[1] and "dynamo.frontend" in frontend
    assert frontend[frontend.index("--router-mode") + 1] == "round-robin"
    run = next((tmp_path / "reports").iterdir())
    logs = [served(run / f"dynamo-vllm-worker{i}.log") for i in (0, 1)]
    assert min(len(s) for s in logs) > 20, [len(s) for s in logs]  # both workers served the catalogue
    # round robin truly alternates: one counter over every request, so the counts differ by at most one;
    # the last requests (the fleet's repeats and the checks' own, sent one at a time) arrive 0101...
    assert abs(len(logs[0]) - len(logs[1])) <= 1, [len(s) for s in logs]
    order = [w for _, w in sorted((t, w) for w, s in enumerate(logs) for t, _ in s)]
    assert all(a != b for a, b in zip(order[-30:], order[-29:])), order
    assert processes_with(name) == []


@pytest.fixture(scope="module")
def disagreeing_fleet(tmp_path_factory):
    name = f"tokconf-dynfleet-{uuid.uuid4().hex[:8]}"
    specs = fleet_specs(name)
    for worker in specs[:2]:  # no torch.compile warm-up: the workers are compared with each other only
        worker.argv += ["--optimization-level", "0"]
    specs[1].argv += ["--load-format", "dummy"]  # worker 1 alone: weights that are not the checkpoint's
    logs = tmp_path_factory.mktemp("dynamo-fleet-logs")
    with RunningEngine(specs, logs, startup_timeout=600) as fleet:
        yield fleet, logs, name
    assert processes_with(name) == []


def test_a_worker_with_other_weights_and_the_same_card_is_caught(disagreeing_fleet, tmp_path):
    fleet, logs, name = disagreeing_fleet
    verify_caught(fleet.base_url, name, FIXTURE, "dynamo", tmp_path)
    assert all(served(logs / f"dynamo-vllm-worker{i}.log") for i in (0, 1))  # the frontend routed to both


def test_a_worker_with_another_template_is_turned_away_by_the_frontend(tmp_path):
    other = tmp_path / "other-template"
    shutil.copytree(FIXTURE, other)
    template = other / "chat_template.jinja"
    template.write_text("{#- another deployment's template -#}\n" + template.read_text())
    name = f"tokconf-dynfleet-{uuid.uuid4().hex[:8]}"
    specs = fleet_specs(name, worker="mocker")
    argv = specs[1].argv
    argv[argv.index("--model-path") + 1] = str(other)
    with pytest.raises(EngineError) as info:
        with RunningEngine(specs, tmp_path / "logs", startup_timeout=300):
            pass
    assert "the frontend rejected a worker whose model card" in str(info.value), str(info.value)
    assert "incumbent_checksum" in str(info.value)  # the frontend's own line, quoted
    assert processes_with(name) == []


def test_a_mocker_fleet_launched_by_tokconf_is_inconclusive_not_failed(tmp_path):
    """Two mocker workers (random ids, ready in seconds): the launch path with `--worker mocker`, and
    a fleet whose workers do not even reproduce themselves gives INCONCLUSIVE, never FAIL."""
    name = f"tokconf-dynfleet-{uuid.uuid4().hex[:8]}"
    out = tmp_path / "out.json"
    res = tokconf("verify", "--engine", "dynamo", "--worker", "mocker", "--fleet-size", "2", "--engine-python",
                  str(DYNAMO_PYTHON), "--served-model-name", name, "-k", "fleet.workers_agree or exposure.nonstream", "--json", str(out),
                  "--report-dir", str(tmp_path / "reports"))
    report = report_of(res, out)
    assert res.returncode == 0, res.stderr[-3000:]
    results = fleet_results(report)
    assert results and {r["outcome"] for r in results.values()} == {"INCONCLUSIVE"}, results
    assert all(r["reason"] for r in results.values())
    assert {r["outcome"] for r in report["results"] if r["check"] == "exposure.nonstream"} == {"PASS"}  # ids came
    assert report["run_info"]["determinism"]["deterministic"] is False
    run = next((tmp_path / "reports").iterdir())
    logs = [served(run / f"dynamo-mocker-worker{i}.log") for i in (0, 1)]
    assert min(len(s) for s in logs) > 5 and abs(len(logs[0]) - len(logs[1])) <= 1, [len(s) for s in logs]
    assert processes_with(name) == []
