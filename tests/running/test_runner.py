"""run_checks hands Ctrl-C / SIGTERM back to the caller (pytest would swallow them), so the
CLI can tear the engine down and exit 130 / 143."""
from pathlib import Path

import pytest

from conformance.dialects import load_dialect
from conformance.running.runner import run_checks
from conformance.running.target import Target
from conformance.wire.store import RecordedStore
from support import SERVED


class Stop(KeyboardInterrupt):
    pass


class InterruptingStore:
    requests_sent = 0

    def prefetch(self, specs):
        raise Stop("signal 15")

    def get(self, spec):
        raise AssertionError("not reached")


def test_an_interrupt_during_the_run_reaches_the_caller_with_its_type(tokenizer, cases):
    with pytest.raises(Stop):
        run_checks(Target(load_dialect("vllm"), tokenizer, InterruptingStore(), SERVED), cases)


def test_progress_printed_while_pytest_collects_reaches_stderr(vllm_recorded, capsys, monkeypatch):
    """The phase-1 requests are sent on a thread while pytest collects (runner._start_sending);
    a progress line printed then must reach the user's stderr, not pytest's capture of it
    (a CI run once lost 'sending requests: N/N in ...' that way)."""
    from rich.console import Console

    from conformance.progress import LineProgress
    from conformance.running.plugin import TokconfPlugin
    from conformance.wire.store import RecordedStore

    class SlowStartStore(RecordedStore):
        """Replays, and lets the background phase finish only once collection has begun."""

        def __init__(self, exchanges):
            super().__init__(exchanges)
            self.progress = None

        def prefetch_in_background(self, specs):
            import threading

            specs = list(specs)

            def run():
                started.wait(30)
                self.progress.phase("sending requests", len(specs))
                self.progress.advance(len(specs))

            self.thread = threading.Thread(target=run, daemon=True)
            self.thread.start()

    started = __import__("threading").Event()
    original = TokconfPlugin.pytest_generate_tests

    def generate_and_finish_phase_one(self, metafunc):  # the phase ends while collection runs
        if not started.is_set():
            started.set()
            store.thread.join(30)
        return original(self, metafunc)

    monkeypatch.setattr(TokconfPlugin, "pytest_generate_tests", generate_and_finish_phase_one)
    store = SlowStartStore(vllm_recorded.exchanges())
    progress = LineProgress(Console(stderr=True, width=200), interval=3600)
    run_checks(Target(vllm_recorded.dialect, vllm_recorded.tokenizer, store, SERVED), vllm_recorded.cases,
               select="exposure.nonstream", progress=progress)
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("sending requests: 0/") and lines[1].startswith("sending requests: ")
    assert " in " in lines[1], lines


SUITE = '''
from conformance.checking.api import Fail, Inconclusive, check


@check("own.fails", needs=["nonstream"], requires=["ids.nonstream"])
def check_fails(target, case):
    raise Fail("the ids are wrong", at=3)


@check("own.inconclusive", needs=["nonstream"], requires=["ids.nonstream"])
def check_inconclusive(target, case):
    raise Inconclusive("the model did not follow the script")


@check("own.buggy", needs=["nonstream"], requires=["ids.nonstream"])
def check_buggy(target, case):
    return {}["no such key"]
'''


def test_a_verdict_keeps_its_message_and_a_bug_in_a_check_its_traceback(vllm_recorded, tmp_path):
    """Verdicts skip pytest's traceback formatting (plugin.VERDICTS: its cost was most of a run's
    checking time); a check that crashes is an ERROR that still shows where."""
    (tmp_path / "check_own.py").write_text(SUITE)
    (tmp_path / "pytest.ini").write_text((Path(__file__).parents[2] / "suites" / "pytest.ini").read_text())
    store = RecordedStore(vllm_recorded.pairs())
    results = run_checks(Target(vllm_recorded.dialect, vllm_recorded.tokenizer, store, SERVED),
                         vllm_recorded.cases[:1], suites=tmp_path)
    by_check = {r.check: r for r in results}
    assert by_check["own.fails"].outcome.value == "FAIL"
    assert by_check["own.fails"].reason == "the ids are wrong" and by_check["own.fails"].evidence == {"at": 3}
    assert by_check["own.inconclusive"].outcome.value == "INCONCLUSIVE"
    assert by_check["own.inconclusive"].reason == "the model did not follow the script"
    buggy = by_check["own.buggy"]
    assert buggy.outcome.value == "ERROR" and "KeyError" in buggy.reason
    assert "check_own.py" in buggy.evidence["traceback"] and "no such key" in buggy.evidence["traceback"]


def test_an_interrupt_reaches_the_caller_when_pytests_reporter_crashes_rendering_it(tokenizer, cases, monkeypatch):
    """pytest's terminal reporter renders an interrupt's traceback in its own keyboard-interrupt
    hook; on a loaded machine it once raised TypeError there (a frame whose tb_lineno was None),
    out of pytest.main, and tokconf exited 1 with a traceback instead of 143."""
    from _pytest.terminal import TerminalReporter

    def crash(self, excinfo):
        raise TypeError("unsupported operand type(s) for -: 'NoneType' and 'int'")

    monkeypatch.setattr(TerminalReporter, "pytest_keyboard_interrupt", crash)
    with pytest.raises(Stop):
        run_checks(Target(load_dialect("vllm"), tokenizer, InterruptingStore(), SERVED), cases)


def test_a_store_interrupted_while_it_starts_sending_is_closed(tokenizer, cases):
    """An interrupt landing while the first requests are put in flight (the store's pool starting a
    thread) must still close the store: a pool thread left unregistered, never shut down, kept the
    interpreter waiting at exit (a run stopped between repeat passes hung until SIGABRT)."""

    class InterruptedWhileStarting(InterruptingStore):
        closed = False

        def prefetch_in_background(self, specs):
            raise Stop("signal 15")

        def close(self):
            self.closed = True

    store = InterruptedWhileStarting()
    with pytest.raises(Stop):
        run_checks(Target(load_dialect("vllm"), tokenizer, store, SERVED), cases)
    assert store.closed
