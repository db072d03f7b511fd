"""The process table, read from /proc: what tokconf started and whether any of it is left."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _cmdline(pid: str) -> str:
    return (Path("/proc") / pid / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")


def processes_with(marker: str) -> list[int]:
    """PIDs whose command line mentions `marker` (our unique served-model name)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmd = _cmdline(entry.name)
        except OSError:
            continue
        if marker in cmd and "pytest" not in cmd:
            pids.append(int(entry.name))
    return pids


def processes_in_session(sid: int) -> list[int]:
    """PIDs in session `sid`: an engine and every worker it spawned (their command lines do not
    name the model, so the marker alone would miss an orphaned worker)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) ": state ppid pgrp session
        if int(fields[3]) == sid and fields[0] != "Z":
            pids.append(int(entry.name))
    return pids


def engine_pid(name: str, timeout: float = 180) -> int:
    """The launched engine's main process (tokconf starts it as a session leader)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for pid in processes_with(f"--served-model-name {name}"):
            try:
                if os.getsid(pid) == pid:
                    return pid
            except ProcessLookupError:
                continue
        time.sleep(0.2)
    raise AssertionError(f"no engine serving {name} appeared within {timeout}s")


class Tokconf:
    """`tokconf ...` in the background, its stderr collected line by line as it comes."""

    def __init__(self, *args: str, env: dict | None = None):
        self.proc = subprocess.Popen([sys.executable, "-m", "conformance", *args], cwd=ROOT, text=True,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env={**os.environ, **(env or {})})
        self.err_lines: list[str] = []
        self.out_lines: list[str] = []
        # one reader per pipe, so neither fills up; nothing else reads them
        self._readers = [threading.Thread(target=self._read, args=(pipe, lines), daemon=True)
                         for pipe, lines in ((self.proc.stdout, self.out_lines), (self.proc.stderr, self.err_lines))]
        for t in self._readers:
            t.start()

    @staticmethod
    def _read(pipe, lines):
        for line in pipe:
            lines.append(line)

    @property
    def stderr(self) -> str:
        return "".join(self.err_lines)

    @property
    def out(self) -> str:
        return "".join(self.out_lines)

    def wait(self, timeout: float = 600) -> int:
        self.proc.wait(timeout=timeout)
        for t in self._readers:
            t.join(10)
        return self.proc.returncode


def wait_for_request_in_log(report_dir: Path, timeout: float = 300) -> Path:
    """Block until the engine log in the run's folder shows a chat request: the run is under way."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for log in report_dir.glob("*/vllm.log"):
            if "POST /v1/chat/completions" in log.read_text(errors="replace"):
                return log
        time.sleep(0.1)
    raise AssertionError(f"no chat request reached the engine within {timeout}s")
