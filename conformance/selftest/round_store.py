"""A fault round's store: the proxy's answers taken in-process, no HTTP.

The clean round goes through the proxy over HTTP, as a client would, and fills its copy of every
response. A fault round then needs no new request except the follow-ups built from a mutated
reply, so it asks the proxy directly: the same answer (the kept upstream copy, mutated by the
active fault), without re-sending over a socket. A request the proxy has no copy of still goes
to the target once, through the proxy.
"""
from __future__ import annotations

from typing import Iterable

from conformance.selftest.proxy import FaultProxy
from conformance.wire.exchange import Exchange
from conformance.wire.requests import RequestSpec
from conformance.wire.store import AnsweredRequests


class ProxyStore(AnsweredRequests):
    """LiveStore's interface over FaultProxy.answer(): each distinct request asked once per round."""

    def __init__(self, proxy: FaultProxy):
        super().__init__()
        self.proxy = proxy

    def prefetch(self, specs: Iterable[RequestSpec]) -> None:
        """Ask each, as a round over HTTP does: the fault then meets every planned exchange (what
        it applied to is part of its verdict), not only those a check read before it stopped."""
        for spec in specs:
            self.get(spec)

    def peek(self, spec: RequestSpec) -> Exchange | None:
        return self._cache.get(spec.key)

    def get(self, spec: RequestSpec) -> Exchange:
        ex = self._cache.get(spec.key)
        if ex is None:
            self._labels.setdefault(spec.key, spec.label)
            # what the proxy's HTTP handler sees: the method is POST, the body is the request
            status, ctype, payload = self.proxy.answer(RequestSpec("POST", spec.path, spec.body))
            ex = self._cache[spec.key] = Exchange(
                method=spec.method, path=spec.path, request=spec.body, status=status,
                headers={"content-type": ctype}, body=payload.decode("utf-8", errors="replace"),
                request_headers=dict(spec.headers))
        return ex
