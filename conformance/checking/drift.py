"""Multi-turn drift: where turn k+1's prompt ids leave turn k's prompt + completion, and why.

The classes are the ways a chat template's re-render breaks the append-only invariant RL
training relies on (see token-id-apis.md, pitfall 8):

- re-tokenization: the text is the same, the token split differs (BPE merges across the seam)
- EOS handling: the completion's EOS is dropped, doubled or replaced by the template
- dropped reasoning: the template strips the earlier turn's <think> block
- reasoning whitespace: the block is rendered again, with other whitespace in or around it
  (the reasoning parser trimmed what the model wrote; the template writes its own)
- JSON re-serialization: a tool call's JSON is re-dumped (spacing, key order, escaping)
- whitespace: only whitespace differs (trimmed content, newline changes)
- template re-render: anything else the template renders differently
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass

from conformance.checking.api import Fail
from conformance.checking.client_tokenizer import Tokenizer
from conformance.checking.id_sequences import divergence_evidence
from conformance.checking.replies import THINK_CLOSE, THINK_OPEN
_WS = re.compile(r"\s+")


@dataclass(frozen=True)
class Drift:
    kind: str
    detail: str


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def _json_reserialized(left: str, right: str, at: int) -> str | None:
    """If the texts differ inside a JSON value that parses equal on both sides, its two spellings."""
    decoder = json.JSONDecoder()
    starts = [i for i in range(min(at, len(left) - 1), -1, -1) if left[i] in "{["][:20]  # innermost first
    for start in starts:
        try:
            lval, lend = decoder.raw_decode(left, start)
            rval, rend = decoder.raw_decode(right, start)
        except json.JSONDecodeError:
            continue
        if lend > at and lval == rval and left[start:lend] != right[start:rend]:
            return f"{left[start:lend]!r} became {right[start:rend]!r}"
    return None


def _only_whitespace_differs(rest_left: str, rest_right: str, window: int = 80) -> bool:
    want = _WS.sub("", rest_left[:window])
    return bool(want) and _WS.sub("", rest_right).startswith(want)


def _turn_reasoning(left: str, c: int, reasoning: str) -> str:
    """Turn k's reasoning: the reply's reasoning field, else the think block the text parts in."""
    if reasoning.strip():
        return reasoning.strip()
    close = left.find(THINK_CLOSE, max(0, c - len(THINK_CLOSE)))
    if close < 0:
        return ""
    opened = left.rfind(THINK_OPEN, 0, close)
    return left[opened + len(THINK_OPEN):close].strip() if opened >= 0 else ""


def _in_think_block(left: str, c: int) -> bool:
    """Whether index c of the text falls in a think block, its markers, or the whitespace after it."""
    opened = left.rfind(THINK_OPEN, 0, c + len(THINK_OPEN))
    if opened < 0:
        return False
    closed = left.find(THINK_CLOSE, opened)
    if closed < 0:
        return True
    end = closed + len(THINK_CLOSE)
    while end < len(left) and left[end].isspace():
        end += 1
    return c <= end


def classify(tok: Tokenizer, expected: list[int], actual: list[int], at: int, reasoning: str = "") -> Drift:
    """Why `actual` leaves `expected` at index `at` (expected = turn k prompt + completion;
    `reasoning` = turn k's reasoning as the reply gave it, when a reasoning parser split it off).

    Reasoning is looked at first: a turn whose text went (in part or whole) to reasoning and
    whose reasoning the next prompt no longer holds is dropped reasoning, whatever token the
    template renders in its place (often the end-of-turn token: not an EOS problem)."""
    left = tok.decode(expected, skip_special_tokens=False)
    right = tok.decode(actual, skip_special_tokens=False)
    if right.startswith(left):
        return Drift("re-tokenization", "the text is the same but split into different tokens at the seam")
    c = _common_prefix(left, right)
    thought = _turn_reasoning(left, c, reasoning)
    if thought and thought in left and thought not in right:
        return Drift("dropped reasoning", f"turn k's reasoning {thought[:40]!r} is missing from turn k+1's prompt "
                                          "(the template does not render the earlier turn's think block)")
    eos = tok.eos_ids
    if (at < len(expected) and expected[at] in eos) or (at < len(actual) and actual[at] in eos):
        exp = tok.token_text(expected[at]) if at < len(expected) else "<end>"
        got = tok.token_text(actual[at]) if at < len(actual) else "<end>"
        return Drift("EOS handling", f"turn k ends with {exp!r} where turn k+1 renders {got!r}")
    rest_l, rest_r = left[c:], right[c:]
    if _in_think_block(left, c) and _only_whitespace_differs(rest_l, rest_r):
        return Drift("reasoning whitespace", f"the think block is rendered again but its whitespace differs: "
                                             f"{rest_l[:24]!r} became {rest_r[:24]!r} (the reasoning parser trimmed "
                                             "the whitespace the model wrote around its reasoning; the template "
                                             "renders its own)")
    if THINK_OPEN in left[max(0, c - len(THINK_OPEN)):c + len(THINK_OPEN)] or (
            rest_l.lstrip().startswith(THINK_OPEN) and not rest_r.lstrip().startswith(THINK_OPEN)):
        return Drift("dropped reasoning", "the earlier turn's <think> block is not rendered again")
    reserialized = _json_reserialized(left, right, c)
    if reserialized:
        return Drift("JSON re-serialization", reserialized)
    if _only_whitespace_differs(rest_l, rest_r):
        return Drift("whitespace", f"{rest_l[:24]!r} became {rest_r[:24]!r}")
    return Drift("template re-render", f"{rest_l[:40]!r} became {rest_r[:40]!r}")


def continuation(tok: Tokenizer, prompt: list[int], completion: list[int], eos_in_completion_ids: bool) -> list[int]:
    """The ids turn k+1's prompt must start with: turn k's prompt + completion ids, plus the EOS
    when the ids leave it out (the next prompt renders it)."""
    expected = prompt + completion
    if not eos_in_completion_ids and tok.eos_ids and not (completion and completion[-1] in tok.eos_ids):
        # the template renders the tokenizer's EOS (generation_config may list other stop ids)
        expected.append(tok.eos_id if tok.eos_id is not None else min(tok.eos_ids))
    return expected


def prefix_break(tok: Tokenizer, expected: list[int], following: list[int], at: int, prompt_len: int,
                 earlier: str, later: str, reasoning: str = "") -> Fail:
    """The Fail for turn `later`'s prompt ids leaving `expected` (see continuation) at index `at`:
    where (turn k's prompt or completion), the tokens on both sides, and the drift class."""
    drift = classify(tok, expected, following, at, reasoning=reasoning)
    where = (f"inside {earlier}'s prompt (index {at})" if at < prompt_len
             else f"at {earlier}'s completion id {at - prompt_len} (index {at})")
    mine = f"{expected[at]} {tok.token_text(expected[at])!r}" if at < len(expected) else "<end>"
    theirs = f"{following[at]} {tok.token_text(following[at])!r}" if at < len(following) else "<end>"
    before = tok.decode(expected[max(0, at - 6):at], skip_special_tokens=False)
    return Fail(f"{drift.kind}: {later}'s prompt leaves {earlier}'s prompt + completion {where}, after {before!r}: "
                f"{earlier} has {mine}, {later} has {theirs}; {drift.detail}",
                drift=drift.kind, drift_detail=drift.detail,
                **divergence_evidence(tok, f"{earlier} prompt + completion", expected, f"{later} prompt", following))
