"""How each outcome is shown in every format, by its JSON name. Renderers read stored reports,
so an outcome they do not know (a newer tokconf wrote the report) is shown, never dropped."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Style:
    symbol: str  # terminal and HTML matrix
    emoji: str  # Markdown
    junit: str | None  # JUnit child element: None (passed), failure, error, skipped
    css: str  # HTML colour class
    failing: bool  # makes a run fail


STYLES = {
    "FAIL": Style("✗", "❌", "failure", "fail", True),
    "ERROR": Style("!", "💥", "error", "error", True),
    "XPASS": Style("+", "⚠️", "failure", "fail", True),  # passed though expected to fail: stale expectation
    "INCONCLUSIVE": Style("?", "❔", "skipped", "inc", False),
    "INTERMITTENT": Style("~", "〰️", "skipped", "inc", False),  # failed; declared intermittent
    "XFAIL": Style("x", "🔸", "skipped", "xfail", False),  # failed as an expectation file declares
    "SKIP": Style("–", "➖", "skipped", "skip", False),
    "PASS": Style("✓", "✅", None, "pass", False),
}
ORDER = tuple(STYLES)  # most to least pressing
UNKNOWN = Style("?", "❓", "skipped", "inc", False)


def style(outcome: str) -> Style:
    return STYLES.get(outcome, UNKNOWN)


def rank(outcome: str) -> int:
    return ORDER.index(outcome) if outcome in STYLES else len(ORDER)


def legend(outcomes, kind: str = "symbol") -> str:
    """ "✓ pass · ✗ fail ..." for the outcomes that occur (always the five base ones)."""
    shown = [o for o in ORDER if o in set(outcomes) | {"PASS", "FAIL", "INCONCLUSIVE", "SKIP", "ERROR"}]
    return " · ".join(f"{getattr(style(o), kind)} {o.lower()}" for o in shown)
