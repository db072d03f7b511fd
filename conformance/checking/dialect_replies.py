"""A dialect's reply, read the way checks compare it: the chat message (or deltas) through the
dialect's reasoning fields, or the text and finish reason at the dialect's own paths (generate
dialects). Checking-layer code: it builds conformance.checking.replies.Reply and can FAIL; the
dialect itself only says where things are."""
from __future__ import annotations

from typing import Any

from conformance.checking.replies import Reply, reply_from_response, reply_from_stream
from conformance.dialects import Dialect, reads_shape
from conformance.dialects.paths import MISSING, resolve


@reads_shape
def reply_of(d: Dialect, response: dict[str, Any], choice: int = 0) -> Reply:
    """The reply of a non-stream response."""
    if d.nonstream_text is None:
        return reply_from_response(response, choice, d.nonstream_reasoning)
    text = resolve(response, d.nonstream_text, choice)
    finish = resolve(response, d.nonstream_finish, choice) if d.nonstream_finish else None
    return Reply(text if isinstance(text, str) else "", [], finish or None)


@reads_shape
def stream_reply_of(d: Dialect, chunks: list[dict[str, Any]], choice: int = 0) -> Reply:
    """The reply of a stream's chunks."""
    if d.stream_text is None:
        return reply_from_stream(chunks, choice, d.stream_reasoning)
    texts = [resolve(c, d.stream_text, choice) for c in chunks]
    texts = [t for t in texts if isinstance(t, str)]
    text = (texts[-1] if texts else "") if d.stream_mode == "cumulative" else "".join(texts)
    finishes = [resolve(c, d.stream_finish, choice) for c in chunks] if d.stream_finish else []
    finish = next((f for f in reversed(finishes) if f not in (None, MISSING)), None)
    return Reply(text, [], finish)
