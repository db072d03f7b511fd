"""run_checks hands Ctrl-C / SIGTERM back to the caller (pytest would swallow them), so the
CLI can tear the engine down and exit 130 / 143."""
import pytest

from conformance.dialects import load_dialect
from conformance.running.runner import run_checks
from conformance.running.target import Target
from conftest import SERVED


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
