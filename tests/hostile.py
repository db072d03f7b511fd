"""A hostile HTTP server on 127.0.0.1 for robustness tests: it replays exchanges recorded from
real vLLM, then breaks them in one chosen way (bad framing, wrong content type, 5xx, silence,
an endless drip, an endless body). It tests tokconf's own robustness, not engine behaviour."""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from conformance.wire.requests import RequestSpec


class HostileServer:
    """`with HostileServer(records, mode) as url:`; modes are the methods named `_mode_<mode>`."""

    def __init__(self, records: list[dict], mode: str = "clean"):
        self.by_key = {RequestSpec(r["method"], r["path"], r["request"]).key: r for r in records}
        self.mode = mode
        self.stop = threading.Event()
        self.seen_headers: list[dict[str, str]] = []
        self.asked: dict[str, int] = {}
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output clean
                pass

            def do_POST(self):
                length = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                outer.seen_headers.append({k.lower(): v for k, v in self.headers.items()})
                rec = outer.by_key.get(RequestSpec("POST", self.path, body).key)
                try:
                    getattr(outer, f"_mode_{outer.mode}")(self, body, rec)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up on us: exactly what the endless modes expect

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True

    def __enter__(self) -> str:
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    # -- helpers ---------------------------------------------------------------------------
    @staticmethod
    def _send(h, status: int, ctype: str, body: bytes, close: bool = False) -> None:
        h.send_response(status)
        h.send_header("content-type", ctype)
        h.send_header("content-length", str(len(body)))
        if close:
            h.send_header("connection", "close")
        h.end_headers()
        h.wfile.write(body)

    def _replay(self, h, rec, ctype: str | None = None, body: str | None = None) -> None:
        if rec is None:
            self._send(h, 404, "application/json", b'{"error": "not recorded"}')
            return
        self._send(h, rec["status"], ctype or rec["response_headers"]["content-type"],
                   (rec["body"] if body is None else body).encode())

    # -- modes -----------------------------------------------------------------------------
    def _mode_clean(self, h, body, rec):
        self._replay(h, rec)

    def _mode_not_json(self, h, body, rec):
        self._send(h, 200, "application/json", b"<html><body>upstream error</body></html>")

    def _mode_http_500(self, h, body, rec):
        self._send(h, 500, "text/html", b"<html>Internal Server Error</html>")

    def _mode_wrong_content_type(self, h, body, rec):
        self._replay(h, rec, ctype="text/plain")

    def _mode_stream_without_done(self, h, body, rec):
        if rec and body.get("stream"):
            self._replay(h, rec, body=rec["body"].replace("data: [DONE]\n\n", ""))
        else:
            self._replay(h, rec)

    def _mode_broken_data_line(self, h, body, rec):
        if rec and body.get("stream"):
            self._replay(h, rec, body=rec["body"].replace('"delta":', '"del\ndata: ta":', 1))
        else:
            self._replay(h, rec)

    def _mode_flaky(self, h, body, rec):
        # every non-stream request fails with a 500 the second time it is asked: flaky, not broken
        key = RequestSpec("POST", h.path, body).key
        with self.lock:
            self.asked[key] = self.asked.get(key, 0) + 1
        if self.asked[key] == 2 and not body.get("stream"):
            self._send(h, 500, "application/json", b'{"error": "overloaded"}')
        else:
            self._replay(h, rec)

    def _mode_silent(self, h, body, rec):
        self.stop.wait(60)  # accept, read the request, never answer

    def _mode_drip(self, h, body, rec):
        h.send_response(200)
        h.send_header("content-type", "text/event-stream")
        h.send_header("transfer-encoding", "chunked")
        h.end_headers()
        while not self.stop.is_set():  # a keep-alive comment every 50 ms, forever
            h.wfile.write(b"3\r\n:\n\n\r\n")
            h.wfile.flush()
            time.sleep(0.05)

    def _mode_endless_body(self, h, body, rec):
        h.send_response(200)
        stream = bool(body.get("stream"))
        h.send_header("content-type", "text/event-stream" if stream else "application/json")
        h.send_header("transfer-encoding", "chunked")
        h.end_headers()
        piece = (b'data: {"id": "x", "choices": []}\n\n' * 2000) if stream else (b'{"pad": "' + b"x" * 60000)
        frame = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
        while not self.stop.is_set():
            h.wfile.write(frame)
