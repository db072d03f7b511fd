"""Helpers checks share for reading and comparing id sequences."""
from __future__ import annotations

from typing import Any

from conformance.checking.api import Fail
from conformance.dialects.paths import MISSING
from conformance.checking.client_tokenizer import Tokenizer


def require_id_list(value: Any, what: str, vocab_size: int | None) -> list[int]:
    """The value as a list of in-vocabulary ints, or Fail saying precisely what is wrong.

    vocab_size None checks the shape only (non-negative ints): engines that emit synthetic ids
    (Dynamo's mocker) still expose them correctly; whether they are the model's tokens is for
    the checks that decode them."""
    if value is MISSING:
        raise Fail(f"{what} is missing")
    if value is None:
        raise Fail(f"{what} is null")
    if not isinstance(value, list):
        raise Fail(f"{what} is a {type(value).__name__}, not a list", value=repr(value)[:200])
    for pos, item in enumerate(value):
        if isinstance(item, bool) or not isinstance(item, int):
            raise Fail(f"{what}[{pos}] is {item!r} ({type(item).__name__}), not an int", ids=value[:50])
        if item < 0:
            raise Fail(f"{what}[{pos}] = {item} is negative", ids=value[:50])
        if vocab_size is not None and item >= vocab_size:
            raise Fail(f"{what}[{pos}] = {item} is outside the vocabulary [0, {vocab_size})", ids=value[:50])
    return value


def first_divergence(a: list, b: list) -> int | None:
    """Index of the first difference, len of the shorter if one is a prefix, None if equal."""
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return None if len(a) == len(b) else min(len(a), len(b))


def decoded_tokens(tok: Tokenizer, ids: list) -> list[str | None]:
    """Each id's own text; None for anything the tokenizer cannot decode (not an int, out of vocabulary)."""
    out: list[str | None] = []
    for i in ids:
        try:
            out.append(tok.token_text(i) if isinstance(i, int) and not isinstance(i, bool) else None)
        except (IndexError, OverflowError, TypeError, ValueError):
            out.append(None)
    return out


def divergence_evidence(tok: Tokenizer, left_name: str, left: list[int], right_name: str, right: list[int],
                        context: int = 4) -> dict[str, Any]:
    """Evidence for a report: both sequences, where they part, and the tokens around it, decoded."""
    at = first_divergence(left, right)
    ev: dict[str, Any] = {"left_name": left_name, "right_name": right_name, "left": left, "right": right,
                          "first_divergence": at,
                          # every id decoded now, while the tokenizer is at hand: reports render without one
                          "left_tokens": decoded_tokens(tok, left), "right_tokens": decoded_tokens(tok, right)}
    if at is not None:
        lo = max(0, at - context)
        for name, seq in (("left", left), ("right", right)):
            ev[f"{name}_context"] = [[i, seq[i], tok.token_text(seq[i])] for i in range(lo, min(len(seq), at + context + 1))]
    return ev


def describe_divergence(tok: Tokenizer, left_name: str, left: list[int], right_name: str, right: list[int]) -> str:
    at = first_divergence(left, right)
    if at is None:
        return f"{left_name} and {right_name} are equal"

    def around(seq: list[int]) -> str:
        if at >= len(seq):
            return "<end>"
        return f"{seq[at]} {tok.token_text(seq[at])!r}"

    before = tok.decode(left[max(0, at - 4):at], skip_special_tokens=False)
    shape = divergence_shape(tok, left_name, left, right_name, right)
    return (f"{left_name} ({len(left)} ids) and {right_name} ({len(right)} ids) first differ at index {at}, "
            f"after {before!r}: {left_name} has {around(left)}, {right_name} has {around(right)}"
            + (f"; {shape}" if shape else ""))


def _is_subsequence(short: list, long: list) -> bool:
    it = iter(long)
    return all(any(x == y for y in it) for x in short)


def _cumulative(whole: list, sent: list, limit: int = 20000) -> bool:
    """`sent` is growing prefixes of `whole` laid end to end, the last one `whole` itself
    (cumulative id lists sent as if they were deltas)."""
    if len(sent) > limit:
        return False
    frontier, seen = [(0, 0)], set()  # (position in sent, length of the previous prefix)
    while frontier:
        pos, last = frontier.pop()
        if pos == len(sent):
            if last == len(whole):
                return True
            continue
        for n in range(last + 1, len(whole) + 1):
            if sent[pos:pos + n] != whole[:n]:
                break  # a longer prefix differs at the same place
            if (pos + n, n) not in seen:
                seen.add((pos + n, n))
                frontier.append((pos + n, n))
    return False


def divergence_shape(tok: Tokenizer, left_name: str, left: list, right_name: str, right: list) -> str:
    """What kind of difference it is, in words, where it has a plain shape: the ids that are
    missing at the end (an EOS never sent), dropped from inside, added, repeated cumulatively."""
    def ids(seq: list) -> str:
        shown = ", ".join(f"{i} {tok.token_text(i)!r}" for i in seq[:6])
        return shown + (", ..." if len(seq) > 6 else "")

    if len(right) < len(left) and left[:len(right)] == right:
        return f"{right_name} lacks the last {len(left) - len(right)} id(s): {ids(left[len(right):])}"
    if len(left) < len(right) and right[:len(left)] == left:
        return f"{right_name} has {len(right) - len(left)} extra id(s) at the end: {ids(right[len(left):])}"
    if left and len(right) > len(left) and _cumulative(left, right):
        return f"{right_name} repeats earlier ids: cumulative lists sent as deltas"
    if len(right) < len(left) and _is_subsequence(right, left):
        return f"{right_name} lacks {len(left) - len(right)} id(s) from inside the sequence (dropped ids)"
    if len(left) < len(right) and _is_subsequence(left, right):
        return f"{right_name} has {len(right) - len(left)} id(s) inserted that {left_name} does not have"
    if sorted(left) == sorted(right):
        return "the same ids in another order"
    foreign = [i for i in right if i not in set(left)]
    if foreign:
        return (f"{right_name} holds {len(foreign)} id(s) that {left_name} does not contain at all (ids from "
                f"elsewhere): {ids(foreign)}")
    return ""


def assert_same_ids(tok: Tokenizer, left_name: str, left: list[int], right_name: str, right: list[int]) -> None:
    if left != right:
        raise Fail(describe_divergence(tok, left_name, left, right_name, right),
                   **divergence_evidence(tok, left_name, left, right_name, right))
