"""The engine version in run info: over HTTP where the engine says it, else the installed distribution."""
import importlib.metadata
import sys

from conformance.engines.info import engine_version, installed_version
from replay_server import ReplayServer


def test_version_over_http():
    with ReplayServer([], version="0.32.0") as server:
        assert engine_version(server.base_url) == {"version": "0.32.0", "source": "GET /version"}


def test_falls_back_to_the_installed_distribution():
    with ReplayServer([]) as server:  # answers 404 on /version
        assert engine_version(server.base_url) is None
        got = engine_version(server.base_url, engine="httpx", python=sys.executable)
    assert got == {"version": importlib.metadata.version("httpx"), "source": "installed distribution httpx"}
    assert installed_version("no-such-engine-dist", sys.executable) is None
