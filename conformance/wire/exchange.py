"""An exchange: one request and the raw response, recorded once and read by every check.

Checks never do I/O; they read Exchanges. The same checks therefore run unchanged on live
traffic and on exchanges recorded from a real engine (fixtures/recordings/).

A side-channel dialect's exchange also holds the record a proxy stored for the call (`side`,
fetched by conformance.wire.transport). Its parsed views carry that record as `$side` on choice 0
(non-stream), or on choice 0 of the chunk that carries choice 0's finish_reason (streams: the
record holds the whole call's ids, as a `final`-mode dialect sends them), so the checks read
those ids through the dialect's paths as if the server had returned them; `body` stays the wire.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from conformance.dialects.paths import SIDE_KEY
from conformance.wire.sse import ParsedStream, parse_stream


class ExchangeError(Exception):
    """The exchange cannot be read the way a check needs it (transport error, HTTP error status). ERROR."""


class ProtocolViolation(ExchangeError):
    """The server answered, but not in the protocol's shape: a body that is not JSON, a stream
    cut short or with broken `data:` lines, the wrong content type. The engine broke the
    contract, so this is a FAIL, not an ERROR."""


@dataclass
class Exchange:
    method: str
    path: str
    request: dict[str, Any] | None
    status: int | None  # None: no HTTP response at all (see `error`)
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names
    body: str = ""
    elapsed: float = 0.0
    error: str | None = None  # transport-level failure: refused, timed out, reset
    request_headers: dict[str, str] = field(default_factory=dict)  # a dialect's opt-in headers (never auth)
    side: dict[str, Any] | None = None  # the record a side channel stored for this call (see above)
    side_source: str | None = None  # the URL it was read from
    side_error: str | None = None  # the side channel answered, but not with one record for the call
    cut: bool = False  # the client closed the stream after `body` (Sender.send(until=...)): a cancel

    @property
    def is_stream_request(self) -> bool:
        return bool(self.request and self.request.get("stream"))

    def _require_response(self) -> None:
        if self.error:
            raise ExchangeError(f"{self.method} {self.path} failed: {self.error}")

    @cached_property
    def json(self) -> dict[str, Any]:
        """The body as a JSON object (non-stream responses and error bodies)."""
        self._require_response()
        try:
            value = json.loads(self.body)
        except json.JSONDecodeError as exc:
            raise ProtocolViolation(f"HTTP {self.status} body is not JSON ({exc.msg} at char {exc.pos}): "
                                    f"{self.body[:120]!r}") from exc
        if not isinstance(value, dict):
            raise ProtocolViolation(f"HTTP {self.status} body is JSON but not an object: {self.body[:120]!r}")
        if self.side is not None:
            _attach(value.get("choices"), self.side)
        return value

    @cached_property
    def stream(self) -> ParsedStream:
        self._require_response()
        parsed = parse_stream(self.body)
        if self.side is not None:
            finish = [c for chunk in parsed.chunks for c in chunk.get("choices") or []
                      if isinstance(c, dict) and c.get("index", 0) == 0 and c.get("finish_reason") is not None]
            if finish:
                finish[-1][SIDE_KEY] = self.side
        return parsed

    def body_summary(self, limit: int = 300) -> str:
        """The body in an error line: one line, and an HTML page by its title (a web server's error
        page printed whole, once per check, buried the run under thousands of lines)."""
        body = self.body or ""
        ctype = (self.headers.get("content-type") or "").split(";")[0].strip().lower()
        if ctype == "text/html" or body.lstrip()[:15].lower().startswith(("<!doctype html", "<html")):
            import re

            title = re.search(r"<title[^>]*>(.*?)</title>", body, re.IGNORECASE | re.DOTALL)
            name = " ".join(title.group(1).split())[:120] if title else ""
            return f"an HTML page{f' ({name!r})' if name else ''}, {len(body)} characters: not an API's answer"
        return " ".join(body[:limit].split())

    def ok(self) -> "Exchange":
        """Raise unless this is a well-formed 2xx response; return self for chaining.

        Well-formed: the content type fits the request (JSON, or an event stream for
        `stream: true`), and a stream ends with `data: [DONE]` and has no malformed lines.
        """
        self._require_response()
        if self.status is None or not 200 <= self.status < 300:
            raise ExchangeError(f"{self.method} {self.path} returned HTTP {self.status}: {self.body_summary()}")
        ctype = self.headers.get("content-type")
        want = "text/event-stream" if self.is_stream_request else "application/json"
        if ctype is not None and not ctype.split(";")[0].strip().lower() == want:
            raise ProtocolViolation(f"HTTP {self.status} with content-type {ctype!r}; a "
                                    f"{'stream' if self.is_stream_request else 'non-stream'} response must be {want}",
                                    )
        if self.side_error:
            raise ProtocolViolation(f"the side channel holds no record of this call: {self.side_error}")
        if self.is_stream_request:
            stream = self.stream
            if stream.problems:
                raise ProtocolViolation(f"malformed stream: {'; '.join(stream.problems[:3])}"
                                        + (f" (and {len(stream.problems) - 3} more)" if len(stream.problems) > 3 else ""))
            if not stream.done:
                raise ProtocolViolation(f"the stream ended without `data: [DONE]` after {len(stream.chunks)} "
                                        f"chunks (cut short?); last bytes: {self.body[-120:]!r}")
        return self

    def to_record(self, **extra: Any) -> dict[str, Any]:
        """The recording format of fixtures/recordings (and ../shared/recordings)."""
        return {
            **extra,
            "method": self.method,
            "path": self.path,
            "request": self.request,
            "status": self.status,
            "response_headers": self.headers,
            "body": self.body,
            "elapsed": round(self.elapsed, 4),
            "error": self.error,
            **({"request_headers": self.request_headers} if self.request_headers else {}),
            **({"side_source": self.side_source} if self.side_source else {}),
            **({"side": self.side} if self.side is not None else {}),
            **({"side_error": self.side_error} if self.side_error else {}),
        }

    @classmethod
    def from_record(cls, rec: dict[str, Any]) -> "Exchange":
        return cls(
            method=rec.get("method", "POST"),
            path=rec["path"],
            request=rec.get("request"),
            status=rec.get("status"),
            headers={k.lower(): v for k, v in (rec.get("response_headers") or {}).items()},
            body=rec.get("body") or "",
            elapsed=rec.get("elapsed") or 0.0,
            error=rec.get("error"),
            request_headers={k.lower(): str(v) for k, v in (rec.get("request_headers") or {}).items()},
            side=rec.get("side"),
            side_source=rec.get("side_source"),
            side_error=rec.get("side_error"),
        )


def _attach(choices: Any, record: dict[str, Any]) -> None:
    """The side record on choice 0: the one choice a proxy that stores one list per call keeps."""
    for choice in choices if isinstance(choices, list) else []:
        if isinstance(choice, dict) and choice.get("index", 0) == 0:
            choice[SIDE_KEY] = record
            return
