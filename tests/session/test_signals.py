"""SIGINT and SIGTERM stop a run at any point (engine starting, checks running, between repeat
passes, writing reports), stop a launched engine, and exit 130 / 143: an interrupted gate is never
green. tokconf runs as a subprocess (signals need a process of their own) against a replay server
of real vLLM 0.32.0 exchanges, or launches a stand-in engine through --engine-cmd.

Every test also runs tokconf with SIGINT ignored at its start, as a shell starts a background job
(`tokconf verify ... &` in a CI script): Python then installs no Ctrl-C handler of its own, which is
how `kill -INT` once went unheard and a 20-pass run ended green."""
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from support import ROOT, vllm_records

TOKENIZER = str(ROOT / "fixtures" / "tiny-chat")
SIGNALS = [pytest.param(signal.SIGINT, 130, "interrupted", id="SIGINT"),
           pytest.param(signal.SIGTERM, 143, "terminated", id="SIGTERM")]
INHERITED = [pytest.param(False, id="default"), pytest.param(True, id="sigint-ignored-at-start")]


class Run:
    """tokconf as a subprocess whose stderr is read as it comes."""

    def __init__(self, args, ignore_sigint: bool):
        pre = (lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if ignore_sigint else None
        self.proc = subprocess.Popen([sys.executable, "-X", "faulthandler", "-m", "conformance", *args], cwd=ROOT, preexec_fn=pre,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self.reader = threading.Thread(target=lambda: self.lines.extend(self.proc.stderr), daemon=True)
        self.reader.start()
        self.started = time.monotonic()

    def wait_for(self, predicate, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            assert self.proc.poll() is None, f"tokconf ended ({self.proc.returncode}) first:\n{self.stderr[-3000:]}"
            assert time.monotonic() < deadline, f"timed out waiting:\n{self.stderr[-3000:]}"
            time.sleep(0.05)

    def stop(self, sig) -> tuple[int, float]:
        sent = time.monotonic()
        self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout=25)
        except subprocess.TimeoutExpired:
            self.proc.send_signal(signal.SIGABRT)
            self.proc.wait()
            self.reader.join(timeout=10)
            raise AssertionError("HUNG:\n" + self.stderr[-8000:])
        self.reader.join(timeout=10)
        return code, time.monotonic() - sent

    @property
    def stderr(self) -> str:
        return "".join(self.lines)


@pytest.fixture(scope="module")
def server():
    from replay_server import ReplayServer
    from conformance.wire.exchange import Exchange

    with ReplayServer([Exchange.from_record(r) for r in vllm_records()]) as srv:
        yield srv


def attach(server, tmp_path, *extra):
    return ["verify", "--base-url", server.base_url, "--model", "tiny-chat", "--tokenizer", TOKENIZER,
            "--report-dir", str(tmp_path / "reports"), *extra]


def assert_stopped(run: Run, code: int, took: float, want: int, word: str) -> None:
    assert code == want, run.stderr[-3000:]
    assert took < 20, took
    assert "Traceback" not in run.stderr and "Aborted" not in run.stderr, run.stderr[-3000:]
    assert run.stderr.strip().splitlines()[-1].startswith(word), run.stderr[-3000:]


@pytest.mark.parametrize("sig,want,word", SIGNALS)
@pytest.mark.parametrize("ignored", INHERITED)
def test_checks_running_in_a_repeated_run(server, tmp_path, sig, want, word, ignored):
    run = Run(attach(server, tmp_path, "--repeat", "500", "--json", str(tmp_path / "r.json")), ignored)
    # the checks of a pass have started (whatever the catalogue's size)
    run.wait_for(lambda: "pass 2 of 500" in run.stderr
                 and re.search(r"running checks: 0/\d+$", run.stderr.rstrip()) is not None)
    code, took = run.stop(sig)
    assert_stopped(run, code, took, want, word)
    assert not (tmp_path / "r.json").exists()  # no report that could pass for a finished run


@pytest.mark.parametrize("sig,want,word", SIGNALS)
@pytest.mark.parametrize("ignored", INHERITED)
def test_between_repeat_passes(server, tmp_path, sig, want, word, ignored):
    run = Run(attach(server, tmp_path, "--repeat", "500"), ignored)
    run.wait_for(lambda: run.stderr.rstrip().endswith("of 500"))  # "pass N of 500": the next pass is starting
    code, took = run.stop(sig)
    assert_stopped(run, code, took, want, word)


@pytest.mark.parametrize("sig,want,word", SIGNALS)
@pytest.mark.parametrize("ignored", INHERITED)
def test_writing_reports(server, tmp_path, sig, want, word, ignored):
    """--json is a FIFO nobody reads: tokconf blocks writing it, after the checks, outside the
    session (where an interrupt once became Click's "Aborted!" and exit 1)."""
    fifo = tmp_path / "r.json"
    os.mkfifo(fifo)
    run = Run(attach(server, tmp_path, "--json", str(fifo)), ignored)
    run.wait_for(lambda: any((tmp_path / "reports").glob("*/results.json")))
    time.sleep(0.5)  # the run's own results.json is written; the FIFO's open() blocks next
    code, took = run.stop(sig)
    assert_stopped(run, code, took, want, word)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "zombie" not in Path(f"/proc/{pid}/status").read_text().lower()


@pytest.mark.parametrize("sig,want,word", SIGNALS)
@pytest.mark.parametrize("command", ["verify", "selftest", "baseline"])
def test_engine_starting_is_stopped(tmp_path, sig, want, word, command):
    """A launched engine that never gets ready: the signal stops tokconf and the engine with it."""
    pid_file = tmp_path / "engine.pid"
    engine = f"{{python}} -c \"import os, time; open('{pid_file}', 'w').write(str(os.getpid())); time.sleep(600)\""
    args = {"verify": ["verify"], "selftest": ["selftest"], "baseline": ["baseline", "record", "b", "--out-dir",
                                                                          str(tmp_path / "b")]}[command]
    run = Run([*args, "--engine-cmd", engine, "--ready-url", "http://127.0.0.1:{port}/health",
               "--report-dir", str(tmp_path / "reports")], ignore_sigint=sig == signal.SIGINT)
    run.wait_for(lambda: pid_file.exists() and pid_file.read_text())
    pid = int(pid_file.read_text())
    assert pid_alive(pid)
    code, took = run.stop(sig)
    assert_stopped(run, code, took, want, word)
    deadline = time.monotonic() + 15
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not pid_alive(pid), "the engine outlived tokconf"
