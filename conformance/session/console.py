"""tokconf's two consoles. Off a terminal nothing is wrapped (a CI log keeps each line whole)."""
from __future__ import annotations

import sys
import time
from typing import Callable

from rich.console import Console

from conformance.redact import redact_text


def _console(stderr: bool) -> Console:
    stream = sys.stderr if stderr else sys.stdout
    if stream.isatty():
        return Console(stderr=stderr)
    # a file or a CI log: wide tables, and no line broken at 80 columns
    return Console(stderr=stderr, width=160, soft_wrap=True)


err = _console(stderr=True)


def out() -> Console:
    """stdout console (made per call: tests capture stdout)."""
    return _console(stderr=False)


def status_progress(status, secrets: list[str | None]) -> Callable[[str], None]:
    """Spinner text in a terminal; in a CI log, one line every 15 s so the job shows life."""
    last = [0.0]

    def update(message: str) -> None:
        message = redact_text(message, secrets)
        if err.is_terminal:
            status.update(message)
        elif time.monotonic() - last[0] >= 15:
            last[0] = time.monotonic()
            err.print(message, markup=False, highlight=False)

    return update
