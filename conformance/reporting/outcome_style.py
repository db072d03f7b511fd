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


def check_cell(results: list[dict]) -> tuple[Style, str, dict[str, int]] | None:
    """One check on one target, as every compare renderer shows it: the style of the worst outcome
    over the cases, "passed/ran" (or "skip"), and the counts. None when no case applies."""
    if not results:
        return None
    counts: dict[str, int] = {}
    for r in results:
        counts[r["outcome"]] = counts.get(r["outcome"], 0) + 1
    worst = min(counts, key=rank)  # the most pressing outcome over the cases
    ran = sum(n for o, n in counts.items() if o != "SKIP")
    return style(worst), (f"{counts.get('PASS', 0)}/{ran}" if ran else "skip"), counts


def agreement_state(entry: dict) -> str:
    """A per-case id agreement entry: "incomparable" (fewer than two targets have ids), "agree", "differ"."""
    if entry["agree"] is None and not entry["divergences"]:
        return "incomparable"
    return "differ" if entry["divergences"] else "agree"


def legend(outcomes, kind: str = "symbol") -> str:
    """ "✓ pass · ✗ fail ..." for the outcomes that occur (always the five base ones)."""
    shown = [o for o in ORDER if o in set(outcomes) | {"PASS", "FAIL", "INCONCLUSIVE", "SKIP", "ERROR"}]
    return " · ".join(f"{getattr(style(o), kind)} {o.lower()}" for o in shown)
