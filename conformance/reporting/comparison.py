"""Two stored reports compared (last night's and tonight's): what regressed, what got fixed,
which checks appeared or vanished, what changed otherwise, and what is intermittent.

A regression is a result that did not fail before (PASS, SKIP, INCONCLUSIVE, or XPASS: it
passed) and fails now (FAIL, ERROR); it is what makes `tokconf compare` exit non-zero. A known
failure (XFAIL, INTERMITTENT under an expectation file) that now fails plainly is a change,
not a regression: the expectation was dropped, the engine did not get worse.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

FAILING = {"FAIL", "ERROR"}
DID_NOT_FAIL = {"PASS", "SKIP", "INCONCLUSIVE", "XPASS"}
KINDS = ("regression", "fix", "new", "vanished", "changed", "intermittent")

Key = tuple[str, "str | None"]


@dataclass
class Change:
    check: str
    case: str | None
    kind: str
    before: str | None  # outcome in the old report (None: absent)
    after: str | None
    reason: str = ""  # the new reason (old one for vanished)

    @property
    def label(self) -> str:
        return f"{self.check}[{self.case}]" if self.case else self.check

    def to_json(self) -> dict[str, Any]:
        return {"check": self.check, "case": self.case, "kind": self.kind, "before": self.before,
                "after": self.after, "reason": self.reason}


@dataclass
class Comparison:
    changes: list[Change] = field(default_factory=list)
    unchanged: int = 0

    def of(self, kind: str) -> list[Change]:
        return [c for c in self.changes if c.kind == kind]

    @property
    def regressions(self) -> list[Change]:
        return self.of("regression")

    def to_json(self) -> dict[str, Any]:
        return {"unchanged": self.unchanged, "counts": {k: len(self.of(k)) for k in KINDS},
                "changes": [c.to_json() for c in self.changes]}


def _index(report: dict[str, Any]) -> dict[Key, dict[str, Any]]:
    return {(r["check"], r.get("case")): r for r in report["results"]}


def intermittent(result: dict[str, Any] | None) -> bool:
    """A repeated result (--repeat) whose attempts did not all agree, or one an expectation file
    declares intermittent that failed (outcome INTERMITTENT)."""
    if not result:
        return False
    return result["outcome"] == "INTERMITTENT" or len(set(result.get("attempts") or [])) > 1


def _kind(before: str | None, after: str | None) -> str | None:
    if before is None:
        return "new"
    if after is None:
        return "vanished"
    if before == after:
        return None
    if after in FAILING and before in DID_NOT_FAIL:
        return "regression"
    if before in FAILING and after == "PASS":
        return "fix"
    return "changed"


def compare_reports(old: dict[str, Any], new: dict[str, Any]) -> Comparison:
    a, b = _index(old), _index(new)
    out = Comparison()
    for key in list(a) + [k for k in b if k not in a]:
        ra, rb = a.get(key), b.get(key)
        before, after = ra and ra["outcome"], rb and rb["outcome"]
        kind = _kind(before, after)
        if kind is None and (intermittent(ra) or intermittent(rb)):
            kind = "intermittent"  # same headline outcome, but it flipped between attempts
        if kind is None:
            out.unchanged += 1
            continue
        reason = (rb or ra).get("reason") or ""
        out.changes.append(Change(key[0], key[1], kind, before, after, reason))
        if kind != "intermittent" and (intermittent(ra) or intermittent(rb)):
            out.changes.append(Change(key[0], key[1], "intermittent", before, after, reason))
    return out
