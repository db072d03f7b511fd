"""RunningEngine without a real engine: a process that never becomes ready fails at the startup
timeout with its log tail, and nothing it started is left behind."""
import os
import sys
import time

import pytest

from conformance.engines.base import LaunchSpec, free_port
from conformance.errors import EngineError
from conformance.engines.launch import RunningEngine

# prints, forks a child in its group (like an engine's worker), then never serves anything
NEVER_READY = ("import os, sys, time; print('loading weights', flush=True); "
               "pid = os.fork()\nif pid == 0: time.sleep(600)\nelse: time.sleep(600)")


def test_never_ready_fails_at_the_startup_timeout_with_its_log_tail(tmp_path):
    port = free_port()
    spec = LaunchSpec("fake", [sys.executable, "-c", NEVER_READY], dict(os.environ), f"http://127.0.0.1:{port}",
                      ["/health"])
    engine = RunningEngine([spec], tmp_path, startup_timeout=2.0)
    start = time.monotonic()
    with pytest.raises(EngineError) as info:
        engine.__enter__()
    assert time.monotonic() - start < 15
    assert "not ready after 2s (waiting for /health)" in str(info.value)
    assert "loading weights" in info.value.log_tail
    pgid = engine.processes[0].pid
    with pytest.raises(ProcessLookupError):
        os.killpg(pgid, 0)  # the whole group, forked child included, is gone


def test_secrets_never_reach_the_engine_log(tmp_path):
    # an engine that prints its key (as vLLM prints its arguments), split across writes and lines
    secret = "sk-tokconf-" + "z" * 40
    script = ("import sys, time, os\n"
              f"k = {secret!r}\n"
              "sys.stdout.write('args: {api_key: ' + k[:7]); sys.stdout.flush(); time.sleep(0.2)\n"
              "sys.stdout.write(k[7:] + '}\\n'); sys.stdout.write('x' * 70000 + k + '\\n'); sys.stdout.flush()\n"
              "print('header Authorization: Bearer ' + k, flush=True); time.sleep(600)\n")
    spec = LaunchSpec("fake", [sys.executable, "-c", script], dict(os.environ), f"http://127.0.0.1:{free_port()}",
                      ["/health"])
    engine = RunningEngine([spec], tmp_path, startup_timeout=2.0, secrets=[secret, None])
    with pytest.raises(EngineError) as info:
        engine.__enter__()
    log = (tmp_path / "fake.log").read_text()
    assert "args: {api_key: ***}" in log and "Authorization: Bearer ***" in log and "x" * 70000 + "***" in log
    assert secret not in log and secret[:12] not in log
    assert secret not in info.value.log_tail and "Bearer ***" in info.value.log_tail


def test_vllm_gets_the_api_key_in_its_environment_not_its_argv():
    from conformance.engines.base import EngineOptions
    from conformance.engines.vllm import VllmEngine

    (spec,) = VllmEngine().launch_specs(EngineOptions(model="m", served_model="m", python=sys.executable,
                                                      api_key="sk-secret"))
    assert spec.env["VLLM_API_KEY"] == "sk-secret" and "sk-secret" not in " ".join(spec.argv)


# serves /count: {"n": 1} for its first second, then {"n": 2}; prints argv[2] to its log first
COUNTING = ("import http.server, json, sys, time\n"
            "print(sys.argv[2], flush=True); t0 = time.monotonic()\n"
            "class H(http.server.BaseHTTPRequestHandler):\n"
            "    def do_GET(self):\n"
            "        body = json.dumps({'n': 1 if time.monotonic() - t0 < 1 else 2}).encode()\n"
            "        self.send_response(200); self.send_header('Content-Length', str(len(body))); self.end_headers()\n"
            "        self.wfile.write(body)\n"
            "    def log_message(self, *a): pass\n"
            "http.server.HTTPServer(('127.0.0.1', int(sys.argv[1])), H).serve_forever()\n")


def counting_spec(port, line, **kw):
    return LaunchSpec("counter", [sys.executable, "-c", COUNTING, str(port), line], dict(os.environ),
                      f"http://127.0.0.1:{port}", ["/count"], **kw)


def test_a_ready_path_with_a_condition_waits_until_its_body_meets_it(tmp_path):
    port = free_port()
    spec = counting_spec(port, "starting", ready_when={"/count": lambda body: body["n"] >= 2})
    start = time.monotonic()
    with RunningEngine([spec], tmp_path, startup_timeout=30) as engine:
        assert time.monotonic() - start >= 1.0  # 200 with n=1 was not ready
        assert engine.base_url == f"http://127.0.0.1:{port}"


def test_a_fatal_log_line_fails_the_launch_with_its_reason(tmp_path):
    spec = counting_spec(free_port(), "ERROR Rejected incompatible workers; model=m",
                         fatal_log={"Rejected incompatible workers": "a worker was turned away"})
    engine = RunningEngine([spec], tmp_path, startup_timeout=30)
    with pytest.raises(EngineError) as info:
        engine.__enter__()
    assert "counter: a worker was turned away" in str(info.value) and "model=m" in str(info.value)
    with pytest.raises(ProcessLookupError):
        os.killpg(engine.processes[0].pid, 0)


# a server up and running that wants a key tokconf does not have (an engine started with --api-key)
WANTS_A_KEY = ("import http.server, sys\n"
               "class H(http.server.BaseHTTPRequestHandler):\n"
               "    def do_GET(self):\n"
               "        self.send_response(401); self.end_headers(); self.wfile.write(b'{\"error\": \"Unauthorized\"}')\n"
               "    def log_message(self, *a): pass\n"
               "http.server.HTTPServer(('127.0.0.1', int(sys.argv[1])), H).serve_forever()")


@pytest.mark.parametrize("api_key, words", [(None, "it wants an API key tokconf was not given"),
                                            ("sk-wrong", "it refuses the key given with --api-key")])
def test_a_server_refusing_the_key_fails_the_launch_at_once(tmp_path, api_key, words):
    """It answered 401 on every probe until the 300 s startup timeout, then printed 40 lines of 401s."""
    port = free_port()
    spec = LaunchSpec("keyed", [sys.executable, "-c", WANTS_A_KEY, str(port)], dict(os.environ),
                      f"http://127.0.0.1:{port}", ["/v1/models"], "m")
    engine = RunningEngine([spec], tmp_path, startup_timeout=60, api_key=api_key)
    start = time.monotonic()
    with pytest.raises(EngineError) as info:
        engine.__enter__()
    assert time.monotonic() - start < 30
    message = str(info.value)
    assert "keyed answers GET /v1/models with HTTP 401" in message and words in message and "\n" not in message
    assert "sk-wrong" not in message
    with pytest.raises(ProcessLookupError):
        os.killpg(engine.processes[0].pid, 0)
