"""A fault-injecting HTTP proxy in front of a real target.

Each distinct request is forwarded to the target once; its response (status, content type,
body: the engine's own bytes) is kept, and every later request for it is answered from that
copy, mutated by the fault that is active at the time (conformance.selftest.faults). Fetching once
keeps a round per fault cheap and makes rounds comparable: the clean round and every fault
round see the same engine output, so a difference in verdicts is the fault's doing, never
the engine's sampling. The proxy buffers whole responses: checks read whole bodies anyway.
"""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from conformance.wire.exchange import Exchange
from conformance.selftest.faults import Fault, FaultContext, apply_fault
from conformance.wire.requests import RequestSpec
from conformance.wire.transport import Sender


class FaultProxy:
    """`with FaultProxy(sender, ctx) as url:`; set `proxy.fault` between rounds."""

    def __init__(self, upstream: Sender, ctx: FaultContext):
        self.upstream = upstream
        self.ctx = ctx
        self.fault: Fault | None = None
        self.mutated: set[str] = set()  # request keys the active fault changed this round
        self._cache: dict[str, Exchange] = {}
        self._asked: dict[str, int] = {}  # this round: how often each request was asked
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("content-length") or 0)
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except json.JSONDecodeError:
                    return self._reply(400, "application/json", b'{"error": "tokconf proxy: body is not JSON"}')
                status, ctype, payload = outer.answer(RequestSpec("POST", self.path, body))
                self._reply(status, ctype, payload)

            def _reply(self, status: int, ctype: str, payload: bytes) -> None:
                try:
                    self.send_response(status)
                    self.send_header("content-type", ctype)
                    self.send_header("content-length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True

    def __enter__(self) -> str:
        threading.Thread(target=self.httpd.serve_forever, name="tokconf-proxy", daemon=True).start()
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def start_round(self, fault: Fault | None) -> None:
        with self._guard:
            self.fault, self.mutated, self._asked = fault, set(), {}

    @property
    def upstream_requests(self) -> int:
        return len(self._cache)

    def answer(self, spec: RequestSpec) -> tuple[int, str, bytes]:
        # The k-th identical request of a round maps to the k-th upstream copy: a request sent
        # twice on purpose (the determinism pre-check) still reaches the target twice.
        with self._guard:
            nth = self._asked[spec.key] = self._asked.get(spec.key, -1) + 1
        ex = self._fetch_once(spec, nth)
        if ex.error or ex.status is None:
            # the target could not be asked: say so as a gateway error, never as a made-up answer
            return 502, "application/json", json.dumps({"error": f"tokconf proxy: upstream failed: {ex.error}"}).encode()
        fault = self.fault
        if fault is not None:
            mutated = apply_fault(ex, fault, self.ctx)
            if mutated is not None:
                self.mutated.add(spec.key)
                ex = mutated
        return ex.status, ex.headers.get("content-type", "application/octet-stream"), ex.body.encode()

    def _fetch_once(self, spec: RequestSpec, nth: int) -> Exchange:
        key = f"{spec.key}#{nth}"
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:  # concurrent requests never send the same one upstream twice
            if key not in self._cache:
                self._cache[key] = self.upstream.send(spec)
            return self._cache[key]
