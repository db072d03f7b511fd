"""An HTTP server that answers with exchanges recorded from a real engine (matched by request
body), so the whole CLI path (verify, compare --target base_url=...) runs in tests without one.
A side channel's records (a gateway's traces) are served where they were read (`side_source`),
as the one-record list the gateway answered, after `side_empty_polls` empty answers (the gateway
writes a trace after it answers)."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from conformance.wire.exchange import Exchange
from conformance.wire.requests import RequestSpec


class ReplayServer:
    def __init__(self, exchanges: list[Exchange], version: str | None = None, port: int = 0,
                 models: list[str] | None = None, side_empty_polls: int = 0):
        self.by_key = {RequestSpec(e.method, e.path, e.request or {}).key: e for e in exchanges}
        self.side = {e.side_source: e.side for e in exchanges if e.side_source and e.side is not None}
        self.side_empty_polls = side_empty_polls
        self.side_polls: dict[str, int] = {}
        self.version = version
        # the served model names the recorded requests used, listed on /v1/models as the engine did
        self.models = models if models is not None else sorted({(e.request or {}).get("model") for e in exchanges} - {None})
        self.received: list[dict] = []
        handler = self._handler()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> "ReplayServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def _send(self, status: int, body: str, content_type: str = "application/json"):
                data = body.encode("utf-8")
                self.send_response(status)
                self.send_header("content-type", content_type)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                if self.path == "/version" and server.version:
                    self._send(200, json.dumps({"version": server.version}))
                elif self.path == "/v1/models":
                    self._send(200, json.dumps({"object": "list", "data": [{"id": m, "object": "model"} for m in server.models]}))
                elif self.path == "/health":
                    self._send(200, "{}")
                elif self.path in server.side:
                    polls = server.side_polls[self.path] = server.side_polls.get(self.path, 0) + 1
                    self._send(200, json.dumps([] if polls <= server.side_empty_polls else [server.side[self.path]]))
                else:
                    self._send(404, '{"detail": "Not Found"}')

            def do_DELETE(self):  # a gateway's session reset: nothing recorded is deleted
                server.received.append({"path": self.path, "method": "DELETE", "authorization": self.headers.get("authorization")})
                self._send(200, '{"deleted": 0}')

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)) or b"{}")
                server.received.append({"path": self.path, "body": body, "authorization": self.headers.get("authorization")})
                ex = server.by_key.get(RequestSpec("POST", self.path, body).key)
                if ex is None:
                    self._send(404, json.dumps({"error": "no recorded exchange for this body"}))
                else:
                    self._send(ex.status or 500, ex.body, ex.headers.get("content-type", "application/json"))

        return Handler


if __name__ == "__main__":
    # As a launched process (`tokconf ... --engine-cmd "{python} tests/replay_server.py {port} REC..."`):
    # the recordings of a real engine, served on 127.0.0.1. Like real engines it logs its argv and
    # the environment it was given, so a test can prove tokconf redacts them from the engine log.
    import os
    import sys
    from pathlib import Path

    port, files = int(sys.argv[1]), sys.argv[2:]
    recordings = [a for a in files if not a.startswith("--")]
    print("replay_server args:", sys.argv[1:], flush=True)
    print("replay_server env:", {k: v for k, v in os.environ.items() if k.endswith(("TOKEN", "KEY", "_SETTING"))}, flush=True)
    exchanges = [Exchange.from_record(json.loads(line)) for f in recordings
                 for line in Path(f).read_text(encoding="utf-8").splitlines() if line.strip()]
    with ReplayServer(exchanges, port=port) as server:
        print(f"serving {len(exchanges)} recorded exchanges at {server.base_url}", flush=True)
        server.thread.join()
