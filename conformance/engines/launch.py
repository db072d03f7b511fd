"""Start an engine's processes, wait until it serves the model, and always tear it down."""
from __future__ import annotations

import re
import threading
import time
from pathlib import Path
from typing import Callable

import httpx

from conformance.engines.base import LaunchSpec
from conformance.engines.process import ManagedProcess
from conformance.errors import EngineError
from conformance.engines.model_errors import model_load_hint
from conformance.wire.transport import tls_context

Progress = Callable[[str], None]
# What makes a process ready and what its fatal log line reports may come from two watches (Dynamo's
# frontend: the workers' endpoints and their model cards): the line gets this long to appear.
FATAL_LOG_SETTLE = 1.0  # seconds
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")  # engines colour their logs even into files


class KeyRefused(Exception):
    """A readiness probe answered 401/403: the server is up and refuses the key."""

    def __init__(self, status: int):
        super().__init__(status)
        self.status = status


class RunningEngine:
    """Context manager: `with RunningEngine(specs, log_dir, timeout, progress) as eng: eng.base_url`."""

    def __init__(self, specs: list[LaunchSpec], log_dir: Path, startup_timeout: float = 300.0,
                 progress: Progress | None = None, secrets: list[str | None] = (), api_key: str | None = None):
        self.specs = specs
        self.log_dir = log_dir
        self.startup_timeout = startup_timeout
        self.progress = progress or (lambda msg: None)
        self.processes: list[ManagedProcess] = []
        self.secrets = [*secrets, api_key]  # redacted from the engines' logs
        self.api_key = api_key  # a server that requires a key requires it on its models path too

    @property
    def base_url(self) -> str:
        return self.specs[-1].base_url

    def __enter__(self) -> "RunningEngine":
        try:
            for spec in self.specs:
                proc = ManagedProcess(spec.name, spec.argv, spec.env, self.log_dir / f"{spec.name}.log",
                                      secrets=self.secrets)
                self.processes.append(proc)
                proc.start()
            start = time.monotonic()
            for spec in self.specs[:-1]:  # workers behind a router or gateway first (a fleet's each one)
                if spec.ready_paths:
                    self._wait_ready(spec, start)
            self._wait_ready(self.specs[-1], start)
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        """Every process group stopped at once: a fleet's teardown takes its slowest process's grace,
        not the sum of them."""
        stoppers = [threading.Thread(target=proc.stop, name=f"stop-{proc.name}") for proc in reversed(self.processes)]
        for t in stoppers:
            t.start()
        for t in stoppers:
            t.join()

    def dead(self) -> ManagedProcess | None:
        """The first process that has exited, if any."""
        return next((p for p in self.processes if not p.alive()), None)

    def death_error(self, proc: ManagedProcess, when: str) -> EngineError:
        code, tail = proc.exit_code(), proc.log_tail()
        hint = model_load_hint(tail)
        return EngineError(f"engine process {proc.name!r} exited (code {code}) {when}; log: {proc.log_path}"
                           + (f"\n{hint}" if hint else ""), tail, code)

    def _wait_ready(self, spec: LaunchSpec, start: float) -> None:
        pending = list(spec.ready_paths)
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        with httpx.Client(base_url=spec.base_url, timeout=5.0, headers=headers, verify=tls_context()) as client:
            while pending:
                elapsed = time.monotonic() - start
                dead = self.dead()
                if dead:
                    raise self.death_error(dead, f"after {elapsed:.0f}s, before it was ready")
                if elapsed > self.startup_timeout:
                    proc = self.processes[-1]
                    raise EngineError(f"engine not ready after {self.startup_timeout:.0f}s (waiting for "
                                      f"{pending[0]}); log: {proc.log_path}", proc.log_tail())
                self._check_fatal_log(spec)
                try:
                    answered = self._probe(client, pending[0], spec.served_model, spec.ready_when.get(pending[0]))
                except KeyRefused as refused:  # it will refuse every probe until the startup timeout
                    proc = next(p for p in self.processes if p.name == spec.name)
                    hint = ("it refuses the key given with --api-key" if self.api_key else
                            "it wants an API key tokconf was not given (an --engine-arg sets one?): "
                            "pass the same key with --api-key")
                    raise EngineError(f"{spec.name} answers GET {pending[0]} with HTTP {refused.status}: {hint}; "
                                      f"log: {proc.log_path}") from None
                if answered:
                    pending.pop(0)
                    continue
                last = self._latest_log_line()
                self.progress(f"starting {spec.name} ({elapsed:.0f}s; waiting for {pending[0]}) {last}")
                time.sleep(0.5)
        if spec.fatal_log:  # a line logged while the last probe was answered, or just after it
            time.sleep(FATAL_LOG_SETTLE)
            self._check_fatal_log(spec)
        self.progress(f"{spec.name} ready in {time.monotonic() - start:.1f}s at {spec.base_url}")

    def _check_fatal_log(self, spec: LaunchSpec) -> None:
        if not spec.fatal_log:
            return
        proc = next(p for p in self.processes if p.name == spec.name)
        tail = ANSI_ESCAPE.sub("", proc.log_tail(400))
        for marker, why in spec.fatal_log.items():
            line = next((ln for ln in tail.splitlines() if marker in ln), None)
            if line is not None:
                raise EngineError(f"{spec.name}: {why}; log: {proc.log_path}\n{line.strip()[:400]}", proc.log_tail())

    def _latest_log_line(self) -> str:
        """The newest line any of the processes logged (the worker's while it loads the model)."""
        newest = max(self.processes, key=lambda p: p.log_path.stat().st_mtime if p.log_path.exists() else 0)
        return ANSI_ESCAPE.sub("", newest.log_tail(1)).strip()[-100:]

    @staticmethod
    def _probe(client: httpx.Client, path: str, served_model: str, ready_when=None) -> bool:
        try:
            resp = client.get(path)
        except httpx.HTTPError:
            return False
        if resp.status_code in (401, 403):
            raise KeyRefused(resp.status_code)
        if resp.status_code != 200:
            return False
        if ready_when is not None:
            try:
                return bool(ready_when(resp.json()))
            except (ValueError, AttributeError, KeyError, TypeError):
                return False
        if path.endswith("/models"):  # ready means the model is listed, not just that HTTP is up
            try:
                return any(m.get("id") == served_model for m in resp.json().get("data", []))
            except (ValueError, AttributeError):
                return False
        return True
