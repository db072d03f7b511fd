"""--fleet-size N with --engine sglang: N SGLang workers on ports of their own, then sglang-router in
front of them, round robin, everything on 127.0.0.1; each worker waited for before the router.
With --engine dynamo: N Dynamo workers sharing one discovery directory, then Dynamo's frontend
routing round robin, ready once its /health lists N workers. Other engines, an overlay, or
--engine-cmd with a fleet are one line, exit 2."""
import pytest

from conformance.engines import get_engine
from conformance.engines.base import EngineOptions, free_port
from conformance.engines.fleet import Fleet
from conformance.engines.sglang import SglangEngine
from conformance.errors import UsageError
from conformance.session.options import SessionOptions
from conformance.session.plan import make_plan

OPTS = EngineOptions(model="/models/tiny", served_model="tiny", python="/venv/bin/python", port=free_port())
NO_KERNEL = {"sglang": "/venv/lib/sglang/__init__.py", "sgl_kernel": None}


def fleet(size=2):
    return Fleet(SglangEngine(gpu=False, inspect=lambda python, env: NO_KERNEL), size)


def test_two_workers_then_the_router_round_robin_on_loopback():
    *workers, router = fleet().launch_specs(OPTS)
    assert [w.name for w in workers] == ["sglang-worker0", "sglang-worker1"]
    ports = [w.argv[w.argv.index("--port") + 1] for w in workers]
    assert len(set(ports)) == 2 and str(OPTS.port) not in ports  # the router takes the asked-for port
    assert all(w.ready_paths == ["/health_generate", "/v1/models"] for w in workers)
    assert router.argv[:3] == ["/venv/bin/python", "-m", "sglang_router.launch_router"]
    args = router.argv
    assert args[args.index("--worker-urls") + 1:args.index("--worker-urls") + 3] == [w.base_url for w in workers]
    for flag, value in [("--host", "127.0.0.1"), ("--port", str(OPTS.port)), ("--policy", "round_robin"),
                        ("--prometheus-host", "127.0.0.1")]:
        assert args[args.index(flag) + 1] == value, flag
    assert "--disable-retries" in args and "--disable-circuit-breaker" in args
    assert router.base_url == f"http://127.0.0.1:{OPTS.port}" and router.ready_paths == ["/v1/models", "/workers"]
    assert all(w.base_url.startswith("http://127.0.0.1:") for w in workers)
    assert "round_robin" in router.notes["fleet"]


# sglang-router 0.3.2's GET /workers while it still retries its workers' registration (recorded)
NO_WORKER_YET = {"workers": [], "total": 0, "stats": {"prefill_count": 0, "decode_count": 0, "regular_count": 0}}
# one entry of its listing once a worker is registered (recorded live, metadata trimmed)
WORKER_ENTRY = {"id": "58edbffe-4590-43c8-aa40-c660377c6109", "url": "http://127.0.0.1:39013", "model_id": "probe-w",
                "priority": 50, "cost": 1.0, "worker_type": "regular", "is_healthy": True, "load": 0,
                "connection_mode": "HTTP", "metadata": {"model_type": "qwen2", "served_model_name": "probe-w"},
                "disable_health_check": False}


def test_the_router_is_ready_once_it_routes_to_every_worker():
    """sglang-router answers /v1/models once one worker is registered and registers the next one
    seconds later (a CI run compared one worker with itself and passed): ready means /workers lists all."""
    *workers, router = fleet().launch_specs(OPTS)
    ready = router.ready_when["/workers"]
    entry = lambda w, **kw: {**WORKER_ENTRY, "url": w.base_url, **kw}
    assert not ready(NO_WORKER_YET)
    assert not ready({**NO_WORKER_YET, "workers": [entry(workers[0], is_healthy=True)], "total": 1})
    assert ready({**NO_WORKER_YET, "workers": [entry(w, is_healthy=True) for w in workers], "total": 2})
    assert not ready({**NO_WORKER_YET, "workers": [entry(workers[0], is_healthy=True),
                                                   entry(workers[1], is_healthy=False)], "total": 2})


def test_a_launched_fleet_is_verified_as_sglang_generate():
    assert fleet().default_dialect == "sglang-generate"  # sglang-router 0.3.2 loses the chat ids


@pytest.mark.parametrize("options,words", [
    (dict(engine="vllm", fleet_size=2), "--engine sglang"),
    (dict(engine="sglang", fleet_size=2, overlay="agentcore"), "--overlay and --fleet-size"),
    (dict(engine_cmd="x {port}", ready_url="http://127.0.0.1:{port}/health", fleet_size=3), "not command"),
])
def test_fleets_it_cannot_launch_are_usage_errors(options, words):
    with pytest.raises(UsageError, match=words):
        make_plan(SessionOptions(**options))


def test_attach_mode_takes_the_fleet_size_as_a_statement():
    plan = make_plan(SessionOptions(base_url="http://127.0.0.1:30000", model="m", fleet_size=2))
    assert plan.engine is None and plan.opts.fleet_size == 2


# Dynamo 1.6.1 frontend's /health with two mocker workers registered (trimmed from a real one):
# each worker is one instance id, listed once per endpoint it serves.
HEALTH = {"status": "healthy", "endpoints": ["dyn://dynamo.backend.generate"], "instances": [
    {"component": "backend", "endpoint": "generate", "namespace": "dynamo", "instance_id": 15582238472506516755},
    {"component": "backend", "endpoint": "generate", "namespace": "dynamo", "instance_id": 17959509443347642081},
    {"component": "backend", "endpoint": "worker_kv_query_source_28b3e4cd60482", "namespace": "dynamo",
     "instance_id": 17959509443347642081}]}


def dynamo_fleet(tmp_path, worker="vllm", size=2):
    opts = EngineOptions(model="/models/tiny", served_model="tiny", python="/venv/bin/python", worker=worker,
                         work_dir=tmp_path)
    return Fleet(get_engine("dynamo"), size).launch_specs(opts)


@pytest.mark.parametrize("worker,module", [("vllm", "dynamo.vllm"), ("mocker", "dynamo.mocker")])
def test_dynamo_fleet_is_n_workers_sharing_discovery_then_the_frontend(tmp_path, worker, module):
    *workers, frontend = dynamo_fleet(tmp_path, worker)
    assert [w.name for w in workers] == [f"dynamo-{worker}-worker0", f"dynamo-{worker}-worker1"]  # a log each
    assert all(w.argv[:3] == ["/venv/bin/python", "-m", module] for w in workers)
    assert workers[0].argv == workers[1].argv and workers[0].argv is not workers[1].argv
    assert all(w.ready_paths == [] for w in workers)  # the frontend says when they are registered
    assert len({s.env["DYN_FILE_KV"] for s in [*workers, frontend]}) == 1  # one private discovery directory
    args = frontend.argv
    assert args[:3] == ["/venv/bin/python", "-m", "dynamo.frontend"]
    assert args[args.index("--router-mode") + 1] == "round-robin"
    assert args[args.index("--http-host") + 1] == "127.0.0.1" and frontend.base_url.startswith("http://127.0.0.1:")
    for spec in [*workers, frontend]:
        for var in ("DYN_TCP_RPC_HOST", "DYN_TCP_RESPONSE_STREAM_HOST", "DYN_EVENT_PLANE_HOST", "DYN_SYSTEM_HOST"):
            assert spec.env[var] == "127.0.0.1"
    assert frontend.ready_paths == ["/v1/models", "/health"] and frontend.served_model == "tiny"
    assert "round-robin" in frontend.notes["fleet"] and "2 Dynamo" in frontend.notes["fleet"]
    assert "Rejected incompatible workers" in frontend.fatal_log


def test_dynamo_fleet_is_ready_once_the_frontend_lists_every_worker(tmp_path):
    ready = dynamo_fleet(tmp_path)[-1].ready_when["/health"]
    assert ready(HEALTH)
    one = {**HEALTH, "instances": [i for i in HEALTH["instances"] if i["instance_id"] == 17959509443347642081]}
    assert not ready(one)  # one worker, listed under two endpoints, is one worker
    assert not ready({"status": "healthy", "instances": []})
    assert dynamo_fleet(tmp_path, size=3)[-1].ready_when["/health"](HEALTH) is False


def test_a_launched_dynamo_fleet_keeps_the_dynamo_dialect_and_its_workers():
    plan = make_plan(SessionOptions(engine="dynamo", worker="mocker", fleet_size=2))
    assert plan.engine.default_dialect == "dynamo" and plan.engine.name == "dynamo"
    with pytest.raises(UsageError, match="--worker 'trtllm'"):
        make_plan(SessionOptions(engine="dynamo", worker="trtllm", fleet_size=2))


def test_each_dynamo_vllm_worker_gets_a_core_of_its_own(tmp_path, monkeypatch):
    monkeypatch.delenv("VLLM_CPU_OMP_THREADS_BIND", raising=False)
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0, 1})
    *workers, frontend = dynamo_fleet(tmp_path, size=3)
    assert [w.env["VLLM_CPU_OMP_THREADS_BIND"] for w in workers] == ["0", "1", "0"]
    assert "VLLM_CPU_OMP_THREADS_BIND" not in frontend.env
    assert "VLLM_CPU_OMP_THREADS_BIND" not in dynamo_fleet(tmp_path, worker="mocker")[0].env
    monkeypatch.setenv("VLLM_CPU_OMP_THREADS_BIND", "nobind")  # the user's choice wins
    assert {w.env["VLLM_CPU_OMP_THREADS_BIND"] for w in dynamo_fleet(tmp_path)[:2]} == {"nobind"}
