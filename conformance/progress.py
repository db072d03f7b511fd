"""Progress while a run sends its requests and runs its checks: a rich progress bar in a
terminal; in a CI log, a line when a phase starts and ends, and at most one every `interval` s
in between (so a long job shows life without flooding the log)."""
from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from typing import Iterator

from rich.console import Console


class LineProgress:
    def __init__(self, console: Console, interval: float = 15.0):
        self.console, self.interval = console, interval
        self._lock = threading.Lock()
        self._name, self._total, self._done, self._start, self._last = "", 0, 0, 0.0, 0.0

    def phase(self, name: str, total: int) -> None:
        with self._lock:
            self._name, self._total, self._done = name, total, 0
            self._start = self._last = time.monotonic()
        self._say(f"{name}: 0/{total}")
        if total == 0:
            self._say(f"{name}: nothing to do")

    def advance(self, n: int = 1) -> None:  # called from worker threads while requests complete
        with self._lock:
            self._done += n
            now = time.monotonic()
            line = None
            if self._done >= self._total:
                line = f"{self._name}: {self._done}/{self._total} in {now - self._start:.1f}s"
            elif now - self._last >= self.interval:
                line = f"{self._name}: {self._done}/{self._total} ({now - self._start:.0f}s)"
            if line:
                self._last = now
        if line:
            self._say(line)

    def note(self, message: str) -> None:
        """A status message (an engine starting): printed at most once per interval."""
        now = time.monotonic()
        if now - self._last >= self.interval or not self._last:
            self._last = now
            self._say(message)

    def _say(self, line: str) -> None:
        self.console.print(line, markup=False, highlight=False)


class BarProgress:
    def __init__(self, console: Console):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self.bar = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                            TimeElapsedColumn(), console=console, transient=True)
        self._task = None

    def phase(self, name: str, total: int) -> None:
        if self._task is not None:
            self.bar.remove_task(self._task)
        self._task = self.bar.add_task(name, total=total)

    def advance(self, n: int = 1) -> None:
        if self._task is not None:
            self.bar.advance(self._task, n)

    def note(self, message: str) -> None:
        """A status message (an engine starting): shown as an indeterminate task's description."""
        if self._task is None:
            self._task = self.bar.add_task(message, total=None)
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
