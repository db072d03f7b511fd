"""Server-sent events: split a raw stream body into events, keeping what was malformed."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass
class SSEEvent:
    event: str | None
    data: str


@dataclass
class ParsedStream:
    chunks: list[dict[str, Any]] = field(default_factory=list)  # JSON `data:` payloads, in order
    named: list[SSEEvent] = field(default_factory=list)  # events with an `event:` name
    done: bool = False  # saw `data: [DONE]`
    problems: list[str] = field(default_factory=list)  # malformed lines, data after [DONE]


def iter_events(body: str):
    """Yield SSEEvents from a complete body (blank-line separated, `data:` lines joined)."""
    event, data = None, []
    for line in body.replace("\r\n", "\n").split("\n"):
        if line == "":
            if data:
                yield SSEEvent(event, "\n".join(data))
            event, data = None, []
        elif line.startswith(":"):
            continue  # comment / keep-alive
        elif line.startswith("data:"):
            data.append(line[6:] if line.startswith("data: ") else line[5:])  # one optional space, per the SSE spec
        elif line.startswith("event:"):
            event = line[6:].strip()
        else:
            yield SSEEvent("__malformed__", line)
    if data:
        yield SSEEvent(event, "\n".join(data))


def parse_stream(body: str) -> ParsedStream:
    parsed = ParsedStream()
    for ev in iter_events(body):
        if ev.event == "__malformed__":
            parsed.problems.append(f"line that is not SSE: {ev.data[:80]!r}")
            continue
        if ev.data.strip() == "[DONE]":
            if parsed.done:
                parsed.problems.append("[DONE] sent twice")
            parsed.done = True
            continue
        if parsed.done:
            parsed.problems.append(f"data after [DONE]: {ev.data[:80]!r}")
        try:
            payload = json.loads(ev.data)
        except json.JSONDecodeError:
            parsed.problems.append(f"data that is not JSON: {ev.data[:80]!r}")
            continue
        if ev.event:
            parsed.named.append(SSEEvent(ev.event, ev.data))
        elif isinstance(payload, dict):
            parsed.chunks.append(payload)
        else:
            parsed.problems.append(f"data that is not a JSON object: {ev.data[:80]!r}")
    return parsed
