"""Where two texts first differ, as one readable phrase: the text equivalent of
id_sequences.describe_divergence (two previews cut at a fixed length can be identical)."""
from __future__ import annotations


def first_text_divergence(left: str, right: str) -> int | None:
    """The first character index where the texts differ (the shorter one's length when one is a
    prefix of the other), or None when they are equal."""
    if left == right:
        return None
    return next((i for i, (a, b) in enumerate(zip(left, right)) if a != b), min(len(left), len(right)))


def describe_text_divergence(left: str, right: str, left_name: str, right_name: str, context: int = 30) -> str:
    """'at character N after '…': <left_name> has '…', <right_name> '…'' (the text before the
    divergence once, then each side from there)."""
    at = first_text_divergence(left, right)
    if at is None:
        return "the texts are equal"
    lo = max(0, at - context)
    return (f"at character {at} after {left[lo:at]!r}: {left_name} has {left[at:at + context]!r}, "
            f"{right_name} {right[at:at + context]!r}")
