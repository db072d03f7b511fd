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
    return (f"{left_name} ({len(left)} ids) and {right_name} ({len(right)} ids) first differ at index {at}, "
            f"after {before!r}: {left_name} has {around(left)}, {right_name} has {around(right)}")


def assert_same_ids(tok: Tokenizer, left_name: str, left: list[int], right_name: str, right: list[int]) -> None:
    if left != right:
        raise Fail(describe_divergence(tok, left_name, left, right_name, right),
                   **divergence_evidence(tok, left_name, left, right_name, right))
