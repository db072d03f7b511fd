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
from typing import Any, Iterable, Iterator

from conformance.errors import UsageError
from conformance.inputs.schema import build, key, read_document
from conformance.outcomes import Outcome, Result

EXPECTED = {"fail", "pass", "intermittent"}


@dataclass(frozen=True)
class Expectation:
    """One entry of an expectation file; each field names its key (the schema)."""

    check: str = key("check")
    case: str | None = key("case", optional=True)
    expected: str = key("expected", choices=EXPECTED)
    reason: str = key("reason", "")
    link: str = key("link", "")

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


@dataclass
class ExpectationsFile:
    expectations: list[Any] = key("expectations")


def load_expectations(path: str | Path, known_checks: set[str] | None = None) -> list[Expectation]:
    """The file's expectations; with `known_checks`, one naming a check that does not exist is an
    error (a mistyped id would otherwise never match and hide nothing)."""
    path = Path(path)
    doc = build(ExpectationsFile, read_document(path, "expectations file"), f"expectations file {path}")
    out, seen = [], set()
    for n, raw in enumerate(doc.expectations, 1):
        where = f"expectations file {path}: expectation #{n}"
        if isinstance(raw, dict):
            if isinstance(raw.get("case"), int) and not isinstance(raw.get("case"), bool):
                raw = {**raw, "case": str(raw["case"])}
            if isinstance(raw.get("expected"), str):
                raw = {**raw, "expected": raw["expected"].lower()}
        exp = build(Expectation, raw, where)
        if exp.expected != "pass" and not exp.reason:
            raise UsageError(f"{where}: an expected {exp.expected} needs a 'reason' (and preferably a 'link')")
        if known_checks is not None and exp.check not in known_checks:
            import difflib

            near = difflib.get_close_matches(exp.check, sorted(known_checks), n=1)
            raise UsageError(f"{where}: no check {exp.check!r}" + (f" (did you mean {near[0]!r}?)" if near else "")
                             + "; `tokconf list` prints the ids")
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
    used: set[str] = set()
    out = list(apply_each(results, expectations, used))
    return out, [e for e in expectations if e.label not in used]


def apply_each(results: Iterable[Result], expectations: list[Expectation], used: set[str]) -> Iterator[Result]:
    """Each result with its expected outcome applied, as the results come (a streamed run);
    the label of every expectation that matched is added to `used`."""
    for r in results:
        exp = _pick(expectations, r)
        if exp is None:
            yield r
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
        yield replace(r, outcome=outcome, reason=reason)


def run_failed(results: list[Result], strict: bool = True) -> bool:
    """Whether the run fails: a FAIL or ERROR, or (strict) an unexpected pass."""
    return any(r.outcome.failed or (strict and r.outcome is Outcome.XPASS) for r in results)
