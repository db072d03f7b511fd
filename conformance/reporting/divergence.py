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


@dataclass
class DiffRow:
    """One row of the two sequences aligned by a diff: an id present on one side only is a gap on the other."""

    op: str  # equal, delete (left only), insert (right only), replace
    left_index: int | None
    left_id: Any
    left_text: str | None
    right_index: int | None
    right_id: Any
    right_text: str | None


def diff_rows(evidence: dict[str, Any]) -> list[DiffRow]:
    """Both sequences aligned by difflib: dropped or repeated ids show as gaps, not as every later
    index differing (which is what index alignment shows after one missing id)."""
    import difflib

    left, right = evidence["left"], evidence["right"]
    lt, rt = _texts(evidence, "left"), _texts(evidence, "right")
    hashable = lambda seq: [x if isinstance(x, (int, str)) else repr(x) for x in seq]  # noqa: E731
    matcher = difflib.SequenceMatcher(None, hashable(left), hashable(right), autojunk=False)
    out: list[DiffRow] = []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        for k in range(max(i2 - i1, j2 - j1)):
            i, j = i1 + k, j1 + k
            li = i if i < i2 else None
            rj = j if j < j2 else None
            kind = op if op != "replace" else ("replace" if li is not None and rj is not None else
                                               "delete" if li is not None else "insert")
            out.append(DiffRow(kind, li, left[li] if li is not None else None, lt[li] if li is not None else None,
                               rj, right[rj] if rj is not None else None, rt[rj] if rj is not None else None))
    return out
