"""Preflight: before any check, the server answers and serves the model, or exit 3 with one line."""
import subprocess
import sys
import time

import pytest

from conformance.errors import PreflightError
from conformance.session.preflight import preflight
from support import ROOT
from replay_server import ReplayServer


def test_nothing_listening_is_named_within_seconds():
    start = time.monotonic()
    with pytest.raises(PreflightError, match=r"nothing is listening at http://127.0.0.1:1 \(connection refused\)"):
        preflight("http://127.0.0.1:1", "m")
    assert time.monotonic() - start < 3


@pytest.mark.parametrize("url", ["127.0.0.1:8000", "localhost:8000", "ftp://127.0.0.1:21", "http://"])
def test_a_url_without_scheme_or_host(url):
    with pytest.raises(PreflightError, match="is not an http\\(s\\) URL"):
        preflight(url, "m")


def test_a_model_not_served_lists_what_is():
    with ReplayServer([], models=["tiny-chat", "other"]) as server:
        with pytest.raises(PreflightError, match=r"does not serve model 'tiny'; it serves: 'tiny-chat', 'other'"):
            preflight(server.base_url, "tiny")
        assert preflight(server.base_url, "tiny-chat") is None


def test_a_server_without_a_model_list_is_a_note_not_an_error():
    from hostile import HostileServer  # answers POST only: GET is HTTP 501

    with HostileServer([], "clean") as url:
        note = preflight(url, "tiny-chat")
    assert "lists no models" in note and "501" in note


def test_a_silent_server_is_cut_at_the_timeout():
    import socket

    with socket.socket() as s:  # accepts connections (the backlog) and never answers
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        start = time.monotonic()
        with pytest.raises(PreflightError, match="did not answer GET /v1/models within 0.5s"):
            preflight(f"http://127.0.0.1:{s.getsockname()[1]}", "m", timeout=0.5)
        assert time.monotonic() - start < 3


@pytest.mark.parametrize("command", [["verify"], ["selftest"], ["baseline", "record", "x"], ["probe"]])
def test_every_attaching_command_exits_3_in_under_5_s_with_one_line(tmp_path, command):
    start = time.monotonic()
    res = subprocess.run([sys.executable, "-m", "conformance", *command, "--base-url", "http://127.0.0.1:1",
                          "--model", "tiny-chat", *(["--report-dir", str(tmp_path)] if command[0] != "probe" else [])],
                         capture_output=True, text=True, cwd=ROOT, timeout=60)
    took = time.monotonic() - start
    assert res.returncode == 3, res.stderr
    assert res.stderr.strip().splitlines() == ["server not ready: nothing is listening at http://127.0.0.1:1 (connection refused)"]
    assert res.stdout == ""
    assert took < 5, took
