"""Send requests to a server and record each as an Exchange. The only module that does HTTP."""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Iterable

import httpx

from .exchange import Exchange
from .requests import RequestSpec

MAX_BODY_BYTES = 32 * 1024 * 1024  # a body past this is cut and the exchange marked as an error


class Sender:
    def __init__(self, base_url: str, api_key: str | None = None, timeout: float = 120.0, concurrency: int = 4):
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.base_url = base_url.rstrip("/")
        # One connection per worker; no retries: a retry would hide exactly the failures we look for.
        self.client = httpx.Client(
            base_url=self.base_url,
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=10.0),
            limits=httpx.Limits(max_connections=concurrency),
        )
        self.concurrency = concurrency

    def close(self) -> None:
        self.client.close()

    def send(self, spec: RequestSpec) -> Exchange:
        start = time.monotonic()
        ex = Exchange(method=spec.method, path=spec.path, request=spec.body, status=None)
        try:
            with self.client.stream(spec.method, spec.path, json=spec.body) as resp:
                ex.status = resp.status_code
                ex.headers = {"content-type": resp.headers.get("content-type", "")}
                parts, size = [], 0
                for raw in resp.iter_bytes():
                    size += len(raw)
                    if size > MAX_BODY_BYTES:
                        ex.error = f"response body larger than {MAX_BODY_BYTES} bytes; stopped reading"
                        break
                    parts.append(raw)
                ex.body = b"".join(parts).decode("utf-8", errors="replace")
        except httpx.HTTPError as exc:
            ex.error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        ex.elapsed = time.monotonic() - start
        return ex

    def send_all(self, specs: Iterable[RequestSpec]) -> dict[str, Exchange]:
        """Send each distinct request once, concurrently; results keyed by RequestSpec.key."""
        unique = {s.key: s for s in specs}
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            results = pool.map(self.send, unique.values())
            return dict(zip(unique.keys(), results))
