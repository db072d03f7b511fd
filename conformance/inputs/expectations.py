"""Expectation files (web-platform-tests style): what a given engine is known to fail.

    # fixtures/expectations/EXAMPLE.yaml
    expectations:
      - check: multiturn.prefix        # a check id
        case: weather_tools            # optional: one case; without it, every case of the check
        expected: fail                 # fail | pass | intermittent
        reason: the template re-serializes tool-call JSON
        link: https://github.com/...   # the issue that tracks it

Applied to results after a run (`verify --expectations FILE`):
- expected fail, FAIL       -> XFAIL (shown, does not fail the run)
- expected fail, PASS       -> XPASS (the expectation is stale; fails the run unless --no-strict)
- expected intermittent, FAIL -> INTERMITTENT (shown, does not fail the run); PASS stays PASS
- anything else keeps its outcome: an ERROR is never expected away, a SKIP stays a SKIP.
The expectation's reason and link are added to the result's reason.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import yaml

from conformance.errors import UsageError
from conformance.outcomes import Outcome, Result

EXPECTED = {"fail", "pass", "intermittent"}


@dataclass(frozen=True)
class Expectation:
    check: str
    case: str | None
    expected: str
    reason: str = ""
    link: str = ""

    def matches(self, result: Result) -> bool:
        return result.check == self.check and (self.case is None or result.case == self.case)

    @property
    def label(self) -> str:
        return f"{self.check}[{self.case}]" if self.case else self.check

    def note(self) -> str:
        parts = [f"expected {self.expected}"]
        if self.reason:
            parts.append(self.reason)
        if self.link:
            parts.append(self.link)
        return "; ".join(parts)


def load_expectations(path: str | Path) -> list[Expectation]:
    path = Path(path)
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read expectations file {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise UsageError(f"expectations file {path} does not parse: {exc}") from exc
    items = (doc or {}).get("expectations") if isinstance(doc, dict) else None
    if not isinstance(items, list):
        raise UsageError(f"expectations file {path}: expected a mapping with an 'expectations' list")
    out, seen = [], set()
    for n, raw in enumerate(items, 1):
        where = f"{path}: expectation #{n}"
        if not isinstance(raw, dict) or not raw.get("check"):
            raise UsageError(f"{where}: every expectation needs a 'check' id")
        expected = str(raw.get("expected", "")).lower()
        if expected not in EXPECTED:
            raise UsageError(f"{where}: 'expected' must be one of {sorted(EXPECTED)}, got {raw.get('expected')!r}")
        if expected != "pass" and not raw.get("reason"):
            raise UsageError(f"{where}: an expected {expected} needs a 'reason' (and preferably a 'link')")
        exp = Expectation(str(raw["check"]), str(raw["case"]) if raw.get("case") is not None else None, expected,
                          str(raw.get("reason") or ""), str(raw.get("link") or ""))
        if exp.label in seen:
            raise UsageError(f"{where}: {exp.label} is declared twice")
        seen.add(exp.label)
        out.append(exp)
    return out


def _pick(expectations: list[Expectation], result: Result) -> Expectation | None:
    """The most specific expectation for a result: one naming its case beats one for the whole check."""
    found = [e for e in expectations if e.matches(result)]
    return max(found, key=lambda e: e.case is not None) if found else None


def apply_expectations(results: list[Result], expectations: list[Expectation]) -> tuple[list[Result], list[Expectation]]:
    """Results with expected outcomes applied, and the expectations no result matched (stale or mistyped)."""
    out, used = [], set()
    for r in results:
        exp = _pick(expectations, r)
        if exp is None:
            out.append(r)
            continue
        used.add(exp.label)
        outcome = r.outcome
        if exp.expected == "fail" and r.outcome is Outcome.FAIL:
            outcome = Outcome.XFAIL
        elif exp.expected == "fail" and r.outcome is Outcome.PASS:
            outcome = Outcome.XPASS
        elif exp.expected == "intermittent" and r.outcome is Outcome.FAIL:
            outcome = Outcome.INTERMITTENT
        reason = f"{r.reason} [{exp.note()}]" if r.reason else f"[{exp.note()}]"
        out.append(replace(r, outcome=outcome, reason=reason))
    return out, [e for e in expectations if e.label not in used]


def run_failed(results: list[Result], strict: bool = True) -> bool:
    """Whether the run fails: a FAIL or ERROR, or (strict) an unexpected pass."""
    return any(r.outcome.failed or (strict and r.outcome is Outcome.XPASS) for r in results)
