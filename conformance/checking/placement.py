"""Where a stream's ids arrive: each chunk's ids belong with that chunk's text.

A delta (or cumulative) stream promises more than the concatenation of its ids: a client that
pairs ids with text chunk by chunk (a trainer masking tool output, a router cutting at a chunk
boundary, logprobs paired per chunk) reads the ids of chunk k as the tokens of chunk k's text. So
after every chunk, the ids received so far must decode to at least the text received so far.

Text may LAG its ids, by a bounded amount: a detokenizer holds back the text of an incomplete UTF-8
sequence (an emoji's first bytes) until the rest arrives, and the text that may start a stop string
until it knows; a reasoning or tool parser holds back a marker it has begun to see. Ids must never
lag text: text that appears before its ids is a placement fault (the ids came a chunk late, or on
another chunk).

The comparison is made on what survives the parsers: the decoded ids without think markers and
hermes tool-call blocks (the parsers move those out of `content`), the streamed reasoning and
content, whitespace ignored (parsers trim at the joins). Tool-call deltas are not placed: their
arguments are re-serialized JSON, not the markup's text.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from conformance.checking.dialect_replies import stream_reply_of
from conformance.checking.replies import THINK_CLOSE, THINK_OPEN, held_back_tails, tool_family
from conformance.dialects import Dialect
from conformance.dialects.paths import MISSING

TOOL_OPEN = "<tool_call>"
HERMES_BLOCK = re.compile(r"<tool_call>.*?</tool_call>", re.S)
# what a reasoning or tool parser holds back while it sees the start of one of its markers
MARKERS = (THINK_OPEN, THINK_CLOSE, TOOL_OPEN, "</tool_call>")
_SPACE = re.compile(r"\s+")


def _squash(text: str) -> str:
    return _SPACE.sub("", text)


def parsed_view(decoded: str, call_marker: str | None = TOOL_OPEN, opens: tuple[str, ...] = ()) -> str:
    """The decoded ids as the parsers leave them for the reply: think markers dropped, hermes
    tool-call blocks dropped (an unclosed one to the end: the parser is inside it), whitespace
    dropped."""
    if call_marker == TOOL_OPEN:
        text = HERMES_BLOCK.sub("", decoded)
    else:  # another family's markup: from its first call on, nothing is placed (tool deltas are not)
        text = decoded
    # the first call, or the section marker that opens the calls (DeepSeek, Kimi): from there on
    # the ids are markup, kept only as the marker (a lag of a marker is allowed below)
    found = [(text.index(m), m) for m in (call_marker, *opens) if m and m in text]
    if found:
        at, marker = min(found)
        text = text[:at] + marker
    text = text.replace(THINK_OPEN, "").replace(THINK_CLOSE, "")
    return _squash(text)


@dataclass
class Step:
    """The stream after one chunk: the ids and text received so far."""

    pos: int
    ids: list[int]
    text: str
    chunk_ids: list  # what this chunk carried (delta mode: its own ids)
    chunk_text: str


@dataclass
class Placement:
    steps: list[Step] = field(default_factory=list)
    ahead: tuple[Step, str, str] | None = None  # the first step whose text is not in its ids (text, decoded)
    late: int | None = None  # the chunk where the ids of that text arrive, if any does
    lag: tuple[Step, str] | None = None  # the first step whose text lags its ids beyond hold-back (the lag)


def stream_steps(d: Dialect, chunks: list[dict[str, Any]], choice: int = 0, request: dict | None = None) -> list[Step]:
    """The ids and text received after each chunk of one choice index (delta: accumulated;
    cumulative: each chunk's own lists). Chunks of other choices are left out."""
    found = d.stream_ids(chunks, choice, request=request)
    ids_at = {pos: value for pos, value in found.completion}
    steps: list[Step] = []
    ids: list = []
    text = ""
    for pos, chunk in enumerate(chunks):
        choices = chunk.get("choices") or []
        mine = [c for c in choices if isinstance(c, dict) and c.get("index", 0) == choice]
        if choices and not mine:
            continue
        value = ids_at.get(pos, MISSING)
        carried = value if isinstance(value, list) else []
        piece = ""
        if mine or d.stream_text is not None:
            reply = stream_reply_of(d, [chunk], choice)
            piece = reply.reasoning + reply.content
        if pos not in ids_at and not piece:
            continue
        if d.stream_mode == "cumulative":
            if isinstance(value, list):
                ids = list(value)
            if piece or d.stream_text is not None and pos in ids_at:
                text = piece
        else:
            ids = ids + list(carried)
            text += piece
        steps.append(Step(pos, list(ids), text, list(carried), piece))
    return steps


def _allowed_lag(tok: Any, step: Step, lag: str, decoded: str, stops: list[str],
                 markers: tuple[str | None, ...] = ()) -> bool:
    """Whether text lagging its ids by `lag` (squashed) is a hold-back a detokenizer or a parser
    may make: an incomplete UTF-8 sequence at the end, the start of a marker, or at most the
    length of the longest stop string less one (what a detokenizer keeps while a stop may begin)."""
    if not lag:
        return True
    for tail in sorted(held_back_tails(tok, step.ids), key=len, reverse=True):
        if tail and decoded.endswith(tail):
            squashed = _squash(tail)
            if lag.endswith(squashed):
                lag = lag[:len(lag) - len(squashed)]
                break
    if not lag:
        return True
    if any(m.startswith(lag) for m in (*MARKERS, *(m for m in markers if m))):
        return True
    squashed_stops = [_squash(s) for s in stops if _squash(s)]
    if any(lag.startswith(s) for s in squashed_stops):
        return True  # a stop string matched: the text ends before it, the ids keep it
    return len(lag) < max((len(s) for s in squashed_stops), default=1)


def place(tok: Any, steps: list[Step], stops: list[str], bound_lag: bool = True) -> Placement:
    """Compare every step's text with its ids' decode: the first step whose text is ahead of its
    ids (and where its ids arrive), and the first whose text lags beyond hold-back."""
    out = Placement(steps)
    family = tool_family(tok)
    marker = family.call_marker if family is not None else TOOL_OPEN
    opens = family.envelope[:1] if family is not None else ()  # the section's opening marker
    view = lambda text: parsed_view(text, marker, opens)  # noqa: E731
    for i, step in enumerate(steps):
        decoded = tok.decode(step.ids)
        have, said = view(decoded), view(step.text)
        if not have.startswith(said):
            if out.ahead is None:
                out.ahead = (step, step.text, decoded)
                for later in steps[i + 1:]:
                    if view(tok.decode(later.ids)).startswith(said):
                        out.late = later.pos
                        break
            continue
        if bound_lag and out.lag is None and not _allowed_lag(tok, step, have[len(said):], decoded, stops,
                                                              (marker, *opens)):
            out.lag = (step, have[len(said):])
    return out
