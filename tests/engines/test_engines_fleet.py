"""--fleet-size N with --engine sglang: N SGLang workers on ports of their own, then sglang-router in
front of them, round robin, everything on 127.0.0.1; each worker waited for before the router.
Other engines, an overlay, or --engine-cmd with a fleet are one line, exit 2."""
import pytest

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
    assert router.base_url == f"http://127.0.0.1:{OPTS.port}" and router.ready_paths == ["/v1/models"]
    assert all(w.base_url.startswith("http://127.0.0.1:") for w in workers)
    assert "round_robin" in router.notes["fleet"]


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
