"""Token-comparison evidence (tokens.divergence_evidence) read back from a report: recognise it
and lay the two sequences out side by side, aligned by index. No tokenizer needed: the decoded
tokens were stored at report-build time."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

KEYS = ("left", "right", "first_divergence")


def is_divergence(evidence: dict[str, Any]) -> bool:
    return all(k in evidence for k in KEYS) and evidence.get("first_divergence") is not None


@dataclass
class Row:
    index: int
    left_id: Any  # None past the end of the sequence
    left_text: str | None
    right_id: Any
    right_text: str | None
    differs: bool
    first: bool  # the first divergence


def _texts(evidence: dict[str, Any], side: str) -> list[str | None]:
    texts = evidence.get(f"{side}_tokens")
    if isinstance(texts, list) and len(texts) == len(evidence[side]):
        return texts
    known = {row[0]: row[2] for row in evidence.get(f"{side}_context") or [] if len(row) == 3}
    return [known.get(i) for i in range(len(evidence[side]))]  # old reports: only the context was decoded


def rows(evidence: dict[str, Any], window: int | None = None) -> list[Row]:
    """Aligned rows; with `window`, only indices within `window` of the first divergence."""
    left, right, at = evidence["left"], evidence["right"], evidence["first_divergence"]
    lt, rt = _texts(evidence, "left"), _texts(evidence, "right")
    n = max(len(left), len(right))
    lo, hi = (0, n) if window is None else (max(0, at - window), min(n, at + window + 1))
    out = []
    for i in range(lo, hi):
        l_id = left[i] if i < len(left) else None
        r_id = right[i] if i < len(right) else None
        out.append(Row(i, l_id, lt[i] if i < len(left) else None, r_id, rt[i] if i < len(right) else None,
                       differs=i >= len(left) or i >= len(right) or l_id != r_id, first=i == at))
    return out


def shown(text: str | None) -> str:
    """A token's text made visible: whitespace and control characters escaped, repr-style."""
    if text is None:
        return ""
    return repr(text)[1:-1]


def plain_table(evidence: dict[str, Any], window: int = 4) -> str:
    """The divergence as a fixed-width text table (JUnit bodies, terminals)."""
    left_name, right_name = evidence.get("left_name", "left"), evidence.get("right_name", "right")
    lines = [f"first divergence at index {evidence['first_divergence']} "
             f"({left_name}: {len(evidence['left'])} ids, {right_name}: {len(evidence['right'])} ids)",
             f"{'':2}{'idx':>5}  {left_name[:30]:<42}  {right_name[:30]}"]
    for r in rows(evidence, window):
        mark = ">>" if r.first else ("! " if r.differs else "  ")
        left = "<end>" if r.left_id is None else f"{r.left_id:>6} {shown(r.left_text)!s:<34}"
        right = "<end>" if r.right_id is None else f"{r.right_id:>6} {shown(r.right_text)}"
        lines.append(f"{mark}{r.index:>5}  {left:<42}  {right}")
    return "\n".join(lines)
