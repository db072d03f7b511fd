"""RunningEngine without a real engine: a process that never becomes ready fails at the startup
timeout with its log tail, and nothing it started is left behind."""
import os
import sys
import time

import pytest

from conformance.engines.base import LaunchSpec, free_port
from conformance.errors import EngineError
from conformance.launch import RunningEngine

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
