"""Sender.send(until=...): a client that cancels a stream (suites/check_abort.py), on a real vLLM
stream served over HTTP by the replay server."""
from __future__ import annotations

from conformance.wire.exchange import Exchange
from conformance.wire.requests import RequestSpec
from conformance.wire.sse import parse_stream
from conformance.wire.store import LiveStore, RecordedStore
from conformance.wire.transport import Sender
from replay_server import ReplayServer
from support import vllm_records


def test_the_client_closes_after_the_cut():
    """Sender.send(until=...) stops at the first event that satisfies `until`, even when one read
    holds the whole stream, and keeps only the events up to it."""
    rec = next(r for r in vllm_records() if r.get("variant") == "stream" and r.get("case") == "haiku")
    ex = Exchange.from_record(rec)
    with ReplayServer([ex]) as server:
        sender = Sender(server.base_url, timeout=30)
        spec = RequestSpec(ex.method, ex.path, ex.request)
        seen = []
        cut = sender.send(spec, until=lambda events: seen.append(events) or len(parse_stream(events).chunks) >= 3)
        whole = sender.send(spec, until=lambda events: False)
        sender.close()
    assert cut.cut and len(cut.stream.chunks) == 3 and not cut.stream.done and not cut.error
    assert cut.body == ex.body[:len(cut.body)]
    assert not whole.cut and whole.body == ex.body and whole.stream.done


def test_a_cancel_is_sent_each_time_and_never_cached():
    rec = next(r for r in vllm_records() if r.get("variant") == "stream" and r.get("case") == "hello")
    ex = Exchange.from_record(rec)
    spec = RequestSpec(ex.method, ex.path, ex.request)
    with ReplayServer([ex]) as server:
        sender = Sender(server.base_url, timeout=30)
        store = LiveStore(sender)
        first = store.cancel(spec, lambda events: True)
        second = store.cancel(spec, lambda events: True)
        sender.close()
    assert first.cut and second.cut and len(first.stream.chunks) == 1
    assert len(server.received) == store.requests_sent == 2 and store.peek(spec) is None  # counted, not cached
    assert not hasattr(RecordedStore([ex]), "cancel")  # a replay cannot cut: the check SKIPs
