"""Run the suites against a Target and return Results (in-process pytest with our plugin)."""
from __future__ import annotations

import io
import contextlib
import gc
import os
from pathlib import Path

import pytest

from conformance.inputs.cases import Case
from conformance.outcomes import Result
from conformance.running.plugin import TokconfPlugin
from conformance.resources import suites_dir
from conformance.running.selection import Selection, parse
from conformance.running.target import Target
from conformance.checking.catalog import load_catalog

# What a check loads on first use that takes long (the openai SDK's chat models:
# vanilla.openai_schema): loaded on a thread while the first requests are in flight, not by the
# first check that needs them.
def _warm_imports() -> None:
    import threading

    from conformance.checking.openai_models import chat_models

    def run():
        try:
            chat_models()
        except ImportError:  # the check that needs it reports that
            pass

    threading.Thread(target=run, name="tokconf-imports", daemon=True).start()


def run_checks(target: Target, cases: list[Case], select: str | Selection | None = None,
               suites: Path | None = None, progress=None) -> list[Result]:
    """Run every check (or those `select` picks: conformance.running.selection) over `cases`.
    `progress` (conformance.progress) is told the requests sent and the checks run."""
    suites = suites or suites_dir()
    plugin = TokconfPlugin(target, cases)
    plugin.progress = progress
    if progress is not None and hasattr(target.store, "progress"):
        target.store.progress = progress
    args = [str(suites), "-c", str(suites / "pytest.ini"), "--rootdir", str(suites),
            "--import-mode=importlib", "-q", "--no-header", "-p", "no:randomly",
            # no output capture: the phase-1 requests finish on a thread while pytest collects,
            # and their progress line would vanish into pytest's capture of stderr
            "--capture=no",
            # these two run gc.collect() twice at exit (~0.9 s a run); checks start no threads
            "-p", "no:unraisableexception", "-p", "no:threadexception",
            # per-test log capture and warning capture cost ~1.5 ms a check; checks log nothing
            "-p", "no:logging", "-p", "no:warnings", "-p", "no:doctest", "-p", "no:junitxml",
            "-p", "no:pastebin", "-p", "no:faulthandler", "-p", "no:legacypath"]
    infos = load_catalog(suites)
    selection = parse(select, [i.id for i in infos]) if isinstance(select, str) else select
    plugin.selection = selection
    out = io.StringIO()
    # Full collections of a heap that holds a tokenizer and every exchange cost more than the
    # checks themselves (0.1-0.5 s a run, at random points); a run is short and makes few cycles.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    # from the first request on, the store is closed however the run ends: an interrupt landing
    # while its sending pool starts a thread (before the pool has registered it for the exit
    # handler) left that thread waiting forever, and the interpreter with it at exit
    try:
        if hasattr(target.store, "prefetch_in_background"):
            _start_sending(target, cases, infos, selection)
        # a tokenizer loading on a thread (Tokenizer.load_in_background) while the requests above
        # are in flight: its failure is the user's (a UsageError, exit 2), not one ERROR per check
        getattr(target.tokenizer, "ready", lambda: None)()
        _warm_imports()  # after the tokenizer's imports: two threads importing at once could deadlock
        with contextlib.redirect_stdout(out), _no_plugin_autoload():  # pytest's terminal output is not our report
            try:
                code = pytest.main(args, plugins=[plugin])
            except Exception:
                # pytest's terminal reporter can crash rendering an interrupt's traceback (a frame
                # whose tb_lineno is None: TypeError, raised out of pytest.main; seen on a loaded
                # machine): the interrupt, which our hook recorded first, is what ends the run
                if plugin.interrupted is None:
                    raise
                code = pytest.ExitCode.INTERRUPTED
    finally:
        if gc_was_enabled:
            gc.enable()
        getattr(target.store, "close", lambda: None)()  # nothing queued outlives the run
    if code == pytest.ExitCode.INTERRUPTED or plugin.interrupted is not None:
        # Ctrl-C or SIGTERM: pytest swallowed it (and its terminal reporter may have crashed
        # rendering it: exit INTERNAL_ERROR, seen on a loaded machine); we unwind
        raise plugin.interrupted or KeyboardInterrupt()
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED, pytest.ExitCode.NO_TESTS_COLLECTED):
        raise RuntimeError(f"the suites could not be run (pytest exit {int(code)}):\n{out.getvalue()[-3000:]}")
    return plugin.ordered_results()


@contextlib.contextmanager
def _no_plugin_autoload():
    """The suites run with tokconf's plugin alone: pytest's scan of every installed distribution's
    entry points for plugins (~0.2 s a run) is skipped, and no plugin a user installed for their
    own tests (random order, timeouts, output capture) reaches the checks."""
    before = os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD")
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    try:
        yield
    finally:
        if before is None:
            del os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"]
        else:
            os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = before


def _start_sending(target: Target, cases: list[Case], infos, selection: Selection | None) -> None:
    """Put the phase-1 requests of the selected checks in flight while pytest starts and collects
    (the plugin then finds them sent or in flight)."""
    from conformance.running.plugin import plan_requests

    pairs = [(i, c) for i in infos for c in cases if i.applies_to(c)
             and (selection is None or selection.matches(i.id, c.id, i.function))]
    first, _ = plan_requests(target, cases, pairs)
    target.store.prefetch_in_background(first)
