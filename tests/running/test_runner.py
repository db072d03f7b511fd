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
