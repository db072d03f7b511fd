"""A managed engine process: argv list, its own process group, log to a file, sure teardown."""
from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from pathlib import Path
from contextlib import contextmanager
from typing import Iterable, Iterator


@contextmanager
def signals_deferred() -> Iterator[None]:
    """SIGINT and SIGTERM held while a child is forked and recorded, then delivered: one landing
    inside Popen (the child forked, Popen not yet returned) left an engine nobody knew of, still
    running after tokconf exited 130 (seen on a loaded machine). Main thread only, as signals are."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[int] = []
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    for sig in before:
        signal.signal(sig, lambda signum, frame: held.append(signum))
    try:
        yield
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
        if held:  # as if it arrived now: the handler runs, or the default action is taken
            handler = before[held[0]]
            if callable(handler):
                handler(held[0], None)
            elif handler == signal.SIG_DFL:
                os.kill(os.getpid(), held[0])


class ManagedProcess:
    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_path: Path, cwd: Path | None = None,
                 secrets: Iterable[str | None] = ()):
        if not isinstance(argv, list) or not all(isinstance(a, str) for a in argv):
            raise TypeError("argv must be a list of strings (engines are never run through a shell)")
        self.name, self.argv, self.env, self.log_path, self.cwd = name, argv, env, log_path, cwd
        from conformance.redact import registered

        self.secrets = [s.encode() for s in dict.fromkeys([*secrets, *registered()]) if s]
        self.proc: subprocess.Popen | None = None
        self._pump: threading.Thread | None = None

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        try:
            # start_new_session: the engine and every worker it forks share one process group
            # that we can signal as a whole, and a Ctrl-C in our terminal is ours to handle.
            # With secrets, output goes through a pipe and is redacted before it reaches the disk
            # (engines log their arguments, an API key among them).
            with signals_deferred():
                self.proc = subprocess.Popen(self.argv, env=self.env, stdout=subprocess.PIPE if self.secrets else log,
                                             stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=self.cwd,
                                             start_new_session=True)
        except OSError as exc:  # no such program (an --engine-cmd typo), not executable
            log.close()
            from conformance.errors import EngineError

            raise EngineError(f"cannot start engine process {self.name!r}: {self.argv[0]}: {exc.strerror or exc}",
                              started=False) from None
        except BaseException:
            log.close()
            raise
        if self.secrets:
            self._pump = threading.Thread(target=self._redacting_pump, args=(self.proc.stdout, log),
                                          name=f"{self.name}-log", daemon=True)
            self._pump.start()
        else:
            log.close()

    def _redacting_pump(self, src, log) -> None:
        keep = max(len(s) for s in self.secrets) - 1  # a secret's prefix may end one read
        buf = b""
        try:
            while True:
                data = os.read(src.fileno(), 65536)
                if not data:
                    break
                buf = self._redact(buf + data)
                # a secret holds no line break: whole lines can be written without splitting one
                cut = max(buf.rfind(b"\n"), buf.rfind(b"\r")) + 1
                if cut == 0 and len(buf) > 65536:
                    cut = len(buf) - keep
                if cut:
                    log.write(buf[:cut])
                    log.flush()
                    buf = buf[cut:]
            log.write(self._redact(buf))
        finally:
            log.close()
            src.close()

    def _redact(self, data: bytes) -> bytes:
        for secret in self.secrets:
            data = data.replace(secret, b"***")
        return data

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def exit_code(self) -> int | None:
        return self.proc.poll() if self.proc else None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM to the process group, then SIGKILL to whatever is left after `grace` seconds."""
        if self.proc is None:
            return
        pgid = self.proc.pid
        if self.proc.poll() is not None:
            # the leader crashed: its workers have nobody to shut down for, so do not wait long
            grace = min(grace, 2.0)
        self._signal_group(pgid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and self._group_alive(pgid):
            self.proc.poll()  # reap our child so it does not linger as a zombie in the group
            time.sleep(0.1)
        if self._group_alive(pgid):
            self._signal_group(pgid, signal.SIGKILL)
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        if self._pump:
            self._pump.join(timeout=5)  # the log is complete once every writer in the group is gone

    @staticmethod
    def _signal_group(pgid: int, sig: int) -> None:
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            pass

    @staticmethod
    def _group_alive(pgid: int) -> bool:
        try:
            os.killpg(pgid, 0)
            return True
        except ProcessLookupError:
            return False
        except PermissionError:
            return True

    def log_tail(self, lines: int = 40) -> str:
        try:
            data = self.log_path.read_bytes()[-64 * 1024:]
        except OSError:
            return ""
        return "\n".join(data.decode("utf-8", errors="replace").splitlines()[-lines:])
