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


class GatedSender(Sender):
    """Answers each request only once its gate opens; records the order requests went out."""

    def __init__(self, gated: set[str]):
        super().__init__("http://127.0.0.1:9", concurrency=2)
        self.gated, self.order = gated, []
        import threading

        self.gate = threading.Event()

    def send(self, spec):
        from conformance.wire.exchange import Exchange

        self.order.append(spec.label)
        if spec.label in self.gated:
            self.gate.wait(30)
        return Exchange(spec.method, spec.path, spec.body, 200, body='{"n": %d}' % len(self.order))


def _spec(label, **body):
    return RequestSpec("POST", "/v1/chat/completions", {"label": label, **body}, label)


def test_get_waits_for_its_own_request_only():
    sender = GatedSender({"slow"})
    store = LiveStore(sender)
    slow, fast = _spec("slow"), _spec("fast")
    store.submit([slow, fast])
    assert store.get(fast).status == 200  # answered while `slow` is still in flight, held at its gate
    assert sender.order[0] == "slow" and not sender.gate.is_set()
    sender.gate.set()
    assert store.get(slow).status == 200 and store.requests_sent == 2
    store.close()


def test_a_follow_up_goes_out_as_soon_as_its_base_reply_is_in():
    sender = GatedSender({"slow"})
    store = LiveStore(sender)
    slow, base = _spec("slow"), _spec("base")
    store.submit([slow, base])
    built = []

    def follow():
        built.append(store.get(base).json["n"])  # built from the base reply, read from the store
        return _spec("follow-up", after=built[-1])

    store.submit_all_after([(base, [follow, lambda: (_ for _ in ()).throw(ValueError("cannot build"))])])
    follow_up = _spec("follow-up", after=built[0]) if built else None
    for _ in range(100):  # the follow-up is sent while `slow` still waits at its gate
        if "follow-up" in sender.order:
            break
        __import__("time").sleep(0.02)
    assert "follow-up" in sender.order and not sender.gate.is_set()
    assert store.get(follow_up).status == 200
    sender.gate.set()
    store.close()
