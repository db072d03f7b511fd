"""LiveStore: once the engine has exited, nothing more is sent and every read says so."""
import pytest

from conformance.wire.requests import RequestSpec
from conformance.wire.store import EngineGone, LiveStore
from conformance.wire.transport import Sender


class CountingSender(Sender):
    def __init__(self):
        super().__init__("http://127.0.0.1:9")
        self.sent = 0

    def send(self, spec):
        self.sent += 1
        return super().send(spec)


class DeadEngine:
    def exit_code(self):
        return -9

    def log_tail(self, lines=40):
        return "INFO last words of the engine"


def test_nothing_is_sent_to_an_engine_that_has_exited():
    sender = CountingSender()
    store = LiveStore(sender, liveness=lambda: DeadEngine())
    spec = RequestSpec("POST", "/v1/chat/completions", {"model": "m"})
    store.prefetch([spec])
    with pytest.raises(EngineGone) as info:
        store.get(spec)
    sender.close()
    assert sender.sent == 0
    assert str(info.value) == "engine exited (code -9); request not sent"
    assert info.value.evidence == {"engine_log_tail": "INFO last words of the engine"}


def test_a_failed_exchange_from_a_dead_engine_names_the_exit_code():
    alive = [True]
    sender = CountingSender()
    store = LiveStore(sender, liveness=lambda: None if alive[0] else DeadEngine())
    spec = RequestSpec("POST", "/v1/chat/completions", {"model": "m"})
    store.prefetch([spec])  # connection refused: nobody listens on port 9
    alive[0] = False
    with pytest.raises(EngineGone, match=r"engine exited \(code -9\): ConnectError"):
        store.get(spec)
    sender.close()
    assert sender.sent == 1
