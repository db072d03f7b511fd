"""Send requests to a server and record each as an Exchange. The only module that does HTTP."""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import Callable, Iterable

import httpx

from conformance.wire.exchange import Exchange
from conformance.wire.requests import RequestSpec

MAX_BODY_BYTES = 32 * 1024 * 1024  # a body past this is cut and the exchange marked as an error


@lru_cache(maxsize=1)
def tls_context():
    """The TLS context every client of a run shares: httpx builds one per client otherwise, and
    loading the CA bundle costs ~60 ms each time (made as httpx makes it: the same CAs, the same
    SSL_CERT_FILE/SSL_CERT_DIR from the environment)."""
    return httpx.create_ssl_context()


class Sender:
    """One HTTP client for a run.

    `timeout` bounds one whole response, not just one read: a server that drips a stream
    forever is cut at it. `run_deadline` (a time.monotonic() value) bounds the whole run:
    past it nothing more is sent and requests in flight are cut.
    """

    def __init__(self, base_url: str, api_key: str | None = None, timeout: float = 120.0, concurrency: int = 4,
                 run_deadline: float | None = None, max_body_bytes: int = MAX_BODY_BYTES):
        # identity: bodies are bounded on the wire, so a compressed body cannot inflate past the bound
        headers = {"Accept-Encoding": "identity"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self.base_url = base_url.rstrip("/")
        self._headers = headers
        # One connection per worker; no retries: a retry would hide exactly the failures we look for.
        self.timeout = timeout
        self.client = self._client(concurrency)
        self.concurrency = concurrency
        self.run_deadline = run_deadline
        self.max_body_bytes = max_body_bytes

    def _client(self, connections: int) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, headers=self._headers, verify=tls_context(),
                            timeout=httpx.Timeout(self.timeout, connect=10.0),
                            limits=httpx.Limits(max_connections=connections))

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> "Sender":
        return self

    def __exit__(self, *exc) -> None:
        self.close()  # however the block ends

    def _deadline(self, start: float) -> tuple[float, str]:
        """When this request must be done, and what to call it if it is not."""
        own = start + self.timeout
        if self.run_deadline is not None and self.run_deadline < own:
            return self.run_deadline, "the run timeout was reached"
        return own, f"no complete response within the request timeout ({self.timeout:g}s)"

    def send(self, spec: RequestSpec, until: Callable[[str], bool] | None = None) -> Exchange:
        """Send `spec` and read the whole response. With `until` (a client that cancels), the
        body is read until `until(events)` is true of the complete SSE events received so far
        (the text up to the last blank line); the connection is then closed (the response's
        context exits with the body unread, so httpx drops the connection rather than pooling
        it) and the exchange holds those events only, `cut` set. A body that ends first is
        read whole, `cut` False."""
        start = time.monotonic()
        ex = Exchange(method=spec.method, path=spec.path, request=spec.body, status=None,
                      request_headers=dict(spec.headers))
        deadline, why = self._deadline(start)
        if deadline <= start:
            ex.error = f"not sent: {why}"
            return ex
        left = deadline - start
        if spec.side and spec.side.reset and not self._reset(spec, ex, deadline):
            ex.elapsed = time.monotonic() - start
            return ex
        # a cancel goes on a connection of its own, closed with its client: never one a pool keeps
        client = self.client if until is None else self._client(1)
        try:
            with client.stream(spec.method, spec.path, json=spec.body, headers=dict(spec.headers) or None,
                                    timeout=httpx.Timeout(left, connect=min(10.0, left))) as resp:
                ex.status = resp.status_code
                ex.headers = {"content-type": resp.headers.get("content-type", "")}
                parts, size = [], 0
                for raw in resp.iter_raw():
                    size += len(raw)
                    if size > self.max_body_bytes:
                        ex.error = f"response body larger than {self.max_body_bytes} bytes; stopped reading"
                        break
                    parts.append(raw)
                    if until is not None and _cut_here(parts, until, ex):
                        break
                    if time.monotonic() > deadline:  # a server dripping bytes never trips the read timeout
                        ex.error = f"{why}; stopped reading after {size} bytes"
                        break
                if not ex.cut:
                    ex.body = _decode(b"".join(parts), resp.headers.get("content-encoding"))
        except httpx.TimeoutException as exc:
            ex.error = f"{type(exc).__name__}: {why}" + ("" if ex.status is None else f" (HTTP {ex.status} headers received)")
        except httpx.HTTPError as exc:
            ex.error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        finally:
            if client is not self.client:
                client.close()
        if spec.side and not ex.error and not ex.cut and ex.status is not None and 200 <= ex.status < 300:
            self._fetch_side(spec, ex, deadline)
        ex.elapsed = time.monotonic() - start
        return ex

    # -- a side channel (conformance.wire.requests.SideCall) ---------------------------------
    def _reset(self, spec: RequestSpec, ex: Exchange, deadline: float) -> bool:
        """DELETE what an earlier run left in the request's session; False (ex.error set) if that fails."""
        try:
            resp = self.client.delete(spec.side.reset, timeout=max(0.1, min(10.0, deadline - time.monotonic())))
        except httpx.HTTPError as exc:
            ex.error = f"side channel: DELETE {spec.side.reset} failed before the request: {type(exc).__name__}: {exc}"
            return False
        if resp.status_code >= 400 and resp.status_code != 404:
            ex.error = f"side channel: DELETE {spec.side.reset} returned HTTP {resp.status_code} before the request"
            return False
        return True

    def _fetch_side(self, spec: RequestSpec, ex: Exchange, deadline: float) -> None:
        """GET the request's record: exactly one, once the proxy has stored it (a proxy may write it
        in the background after answering). A transport failure is ex.error (ERROR); no record, or
        more than one, is ex.side_error (the proxy broke its contract: a FAIL)."""
        url, wait = spec.side.fetch, spec.side.wait
        ex.side_source = url
        until, pause = min(time.monotonic() + wait, deadline), 0.02
        while True:
            try:
                resp = self.client.get(url, timeout=max(0.1, min(10.0, deadline - time.monotonic())))
            except httpx.HTTPError as exc:
                ex.error = f"side channel: GET {url} failed: {type(exc).__name__}: {exc}"
                return
            try:
                records = resp.json() if resp.status_code == 200 else None
            except ValueError:
                records = None
            if not isinstance(records, list):
                ex.error = f"side channel: GET {url} returned HTTP {resp.status_code}, not a JSON list: {resp.text[:200]!r}"
                return
            if len(records) > 1:
                ex.side_error = f"GET {url} lists {len(records)} records for one request"
                return
            if records:
                if isinstance(records[0], dict):
                    ex.side = records[0]
                else:
                    ex.side_error = f"GET {url} lists a {type(records[0]).__name__}, not a record"
                return
            if time.monotonic() + pause > until:
                ex.side_error = f"GET {url} lists no record {wait:g}s after the reply"
                return
            time.sleep(pause)
            pause = min(pause * 2, 0.5)

    def send_all(self, specs: Iterable[RequestSpec]) -> dict[str, Exchange]:
        """Send each distinct request once, concurrently; results keyed by RequestSpec.key."""
        unique = {s.key: s for s in specs}
        pool = ThreadPoolExecutor(max_workers=self.concurrency)
        try:
            futures = {key: pool.submit(self.send, spec) for key, spec in unique.items()}
            return {key: fut.result() for key, fut in futures.items()}
        finally:
            # No waiting on an interrupt: the requests in flight end when the engine is stopped.
            pool.shutdown(wait=False, cancel_futures=True)


def _cut_here(parts: list[bytes], until: Callable[[str], bool], ex: Exchange) -> bool:
    """Whether the client stops reading now: `until` is asked of the complete events received, one
    event more at a time (a blank line ends an event: a read may hold several, and the client
    stops after the first event that satisfies it); if it holds, those events are the body."""
    text = b"".join(parts).decode("utf-8", errors="replace").replace("\r\n", "\n")
    end = text.find("\n\n")
    while end >= 0:
        if until(text[:end + 2]):
            ex.body, ex.cut = text[:end + 2], True
            return True
        end = text.find("\n\n", end + 2)
    return False


def _decode(raw: bytes, encoding: str | None) -> str:
    # Bodies are read raw so the size bound holds on the wire bytes; engines do not compress,
    # and a compressed body is reported rather than inflated without bound.
    if encoding and encoding.lower() not in ("identity", ""):
        return f"<{len(raw)} bytes with content-encoding {encoding}; not decoded>"
    return raw.decode("utf-8", errors="replace")
