"""Progress while a run sends its requests and runs its checks: a rich progress bar in a
terminal; in a CI log, a line when a phase starts and ends, and at most one every `interval` s
in between (so a long job shows life without flooding the log).

Phases may overlap (checks run while follow-ups are still being sent): phase() returns the
phase's own handle; advance() on the progress itself moves the phase started last.
"""
from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from typing import Iterator

from rich.console import Console


_silenced = threading.Event()
# held while a progress line is checked against _silenced and printed: once silence() returns, no
# line is half-way out (a worker thread that had checked, then lost the CPU, printed its phase's end
# after "terminated" on a loaded machine)
_speaking = threading.Lock()


def silence() -> None:
    """No more progress lines: the run was interrupted, and a request finishing on a worker thread
    must not print its phase's end after the last line ("interrupted", "terminated")."""
    # a line half-way out on another thread finishes first; but never wait long: an interrupt that
    # landed just after this thread took the lock in _say (before its `with` began) left it held
    held = _speaking.acquire(timeout=2)
    try:
        _silenced.set()
    finally:
        if held:
            _speaking.release()


def unsilence() -> None:
    """A new command's progress speaks again (commands run in one process by tests)."""
    _silenced.clear()


class _LinePhase:
    def __init__(self, owner: "LineProgress", name: str, total: int):
        self.owner, self.name, self.total, self.done = owner, name, total, 0
        self.start = time.monotonic()

    def advance(self, n: int = 1) -> None:  # called from worker threads while requests complete
        owner = self.owner
        with owner._lock:
            self.done += n
            now = time.monotonic()
            line = None
            if self.done >= self.total:
                if self.done - n < self.total:  # the phase's end is said once
                    line = f"{self.name}: {self.done}/{self.total} in {now - self.start:.1f}s"
            elif now - owner._last >= owner.interval:
                line = f"{self.name}: {self.done}/{self.total} ({now - self.start:.0f}s)"
            if line:
                owner._last = now
        if line:
            owner._say(line)


class LineProgress:
    def __init__(self, console: Console, interval: float = 15.0):
        self.console, self.interval = console, interval
        self._lock = threading.Lock()
        self._last = 0.0
        self._current: _LinePhase | None = None

    def phase(self, name: str, total: int) -> _LinePhase:
        handle = _LinePhase(self, name, total)
        with self._lock:
            self._current = handle
            self._last = handle.start
        self._say(f"{name}: 0/{total}")
        if total == 0:
            self._say(f"{name}: nothing to do")
        return handle

    def advance(self, n: int = 1) -> None:
        if self._current is not None:
            self._current.advance(n)

    def note(self, message: str) -> None:
        """A status message (an engine starting): printed at most once per interval."""
        now = time.monotonic()
        if now - self._last >= self.interval or not self._last:
            self._last = now
            self._say(message)

    def _say(self, line: str) -> None:
        with _speaking:
            if not _silenced.is_set():
                self.console.print(line, markup=False, highlight=False)


class _BarPhase:
    def __init__(self, bar, task):
        self.bar, self.task = bar, task

    def advance(self, n: int = 1) -> None:
        self.bar.advance(self.task, n)


class BarProgress:
    def __init__(self, console: Console):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self.bar = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                            TimeElapsedColumn(), console=console, transient=True)
        self._task = None  # the note's task, or the phase started last
        self._noted = False

    def phase(self, name: str, total: int) -> _BarPhase:
        if self._noted:  # an engine-start note gives way to the first phase
            self.bar.remove_task(self._task)
            self._noted = False
        self._task = self.bar.add_task(name, total=total)
        return _BarPhase(self.bar, self._task)

    def advance(self, n: int = 1) -> None:
        if self._task is not None and not self._noted:
            self.bar.advance(self._task, n)

    def note(self, message: str) -> None:
        """A status message (an engine starting): shown as an indeterminate task's description."""
        if self._task is None:
            self._task = self.bar.add_task(message, total=None)
            self._noted = True
        else:
            self.bar.update(self._task, description=message)


@contextmanager
def run_progress(console: Console, interval: float = 15.0) -> Iterator[LineProgress | BarProgress]:
    if console.is_terminal:
        progress = BarProgress(console)
        with progress.bar:
            yield progress
    else:
        yield LineProgress(console, interval)
