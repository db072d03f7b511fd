"""Run the suites against a Target and return Results (in-process pytest with our plugin)."""
from __future__ import annotations

import io
import contextlib
from pathlib import Path

import pytest

from .cases import Case
from .outcomes import Result
from .plugin import TokconfPlugin
from .resources import suites_dir
from .target import Target


def run_checks(target: Target, cases: list[Case], select: str | None = None,
               suites: Path | None = None, progress=None) -> list[Result]:
    """Run every check (or those matching the pytest -k expression `select`) over `cases`.
    `progress` (conformance.progress) is told the requests sent and the checks run."""
    suites = suites or suites_dir()
    plugin = TokconfPlugin(target, cases)
    plugin.progress = progress
    if progress is not None and hasattr(target.store, "progress"):
        target.store.progress = progress
    args = [str(suites), "-c", str(suites / "pytest.ini"), "--rootdir", str(suites),
            "--import-mode=importlib", "-q", "--no-header", "-p", "no:randomly",
            # these two run gc.collect() twice at exit (~0.9 s a run); checks start no threads
            "-p", "no:unraisableexception", "-p", "no:threadexception"]
    if select:
        args += ["-k", select]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):  # pytest's own terminal output is not our report
        code = pytest.main(args, plugins=[plugin])
    if code == pytest.ExitCode.INTERRUPTED:  # Ctrl-C or SIGTERM: pytest swallowed it; we unwind
        raise plugin.interrupted or KeyboardInterrupt()
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED, pytest.ExitCode.NO_TESTS_COLLECTED):
        raise RuntimeError(f"the suites could not be run (pytest exit {int(code)}):\n{out.getvalue()[-3000:]}")
    return plugin.results
