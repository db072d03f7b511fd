"""Dynamo's launch spec: two processes, one readiness, private file discovery, loopback only."""
import pytest

from conformance.engines import get_engine
from conformance.engines.base import EngineOptions
from conformance.errors import UsageError


def _specs(tmp_path, worker, **kw):
    opts = EngineOptions(model="/models/tiny", served_model="tiny", python="/venv/bin/python", worker=worker,
                         work_dir=tmp_path, **kw)
    return get_engine("dynamo").launch_specs(opts)


@pytest.mark.parametrize("worker,module", [("mocker", "dynamo.mocker"), ("vllm", "dynamo.vllm"),
                                           ("sglang", "dynamo.sglang")])
def test_worker_then_frontend_sharing_a_private_discovery_dir(tmp_path, worker, module):
    worker_spec, frontend = _specs(tmp_path, worker)
    assert worker_spec.argv[:3] == ["/venv/bin/python", "-m", module]
    assert frontend.argv[:3] == ["/venv/bin/python", "-m", "dynamo.frontend"]
    # readiness is the frontend listing the served model: the worker has registered
    assert frontend.ready_paths == ["/v1/models"] and frontend.served_model == "tiny"
    assert worker_spec.ready_paths == []
    kv = worker_spec.env["DYN_FILE_KV"]
    assert kv == frontend.env["DYN_FILE_KV"] and kv.startswith(str(tmp_path))
    for argv in (worker_spec.argv, frontend.argv):
        assert argv[argv.index("--discovery-backend") + 1] == "file"


def test_every_plane_on_loopback(tmp_path, monkeypatch):
    monkeypatch.delenv("DYN_TCP_RPC_HOST", raising=False)
    _, frontend = _specs(tmp_path, "mocker")
    assert frontend.argv[frontend.argv.index("--http-host") + 1] == "127.0.0.1"
    assert frontend.base_url.startswith("http://127.0.0.1:")
    for var in ("DYN_TCP_RPC_HOST", "DYN_TCP_RESPONSE_STREAM_HOST", "DYN_EVENT_PLANE_HOST", "DYN_SYSTEM_HOST"):
        assert frontend.env[var] == "127.0.0.1"


def test_two_runs_never_share_discovery(tmp_path):
    assert _specs(tmp_path, "mocker")[0].env["DYN_FILE_KV"] != _specs(tmp_path, "mocker")[0].env["DYN_FILE_KV"]


def test_vllm_worker_gets_dynamo_tool_parser_not_vllms(tmp_path):
    worker_spec, _ = _specs(tmp_path, "vllm", extra_args=["--enforce-eager"])
    assert "--dyn-tool-call-parser" in worker_spec.argv
    assert "--enable-auto-tool-choice" not in worker_spec.argv
    assert worker_spec.argv[-1] == "--enforce-eager"  # --engine-arg goes to the worker


def test_unknown_worker_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="unknown Dynamo worker"):
        _specs(tmp_path, "trtllm-on-cpu")


def test_workers_stop_without_a_drain_grace(tmp_path, monkeypatch):
    monkeypatch.delenv("DYN_GRACEFUL_SHUTDOWN_GRACE_PERIOD_SECS", raising=False)
    worker_spec, _ = _specs(tmp_path, "vllm")
    assert worker_spec.env["DYN_GRACEFUL_SHUTDOWN_GRACE_PERIOD_SECS"] == "0"  # tokconf stops it when idle
