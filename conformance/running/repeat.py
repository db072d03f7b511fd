"""--repeat: fold N passes of the checks into one result per check and case.

A result whose outcome differed between passes is intermittent. Its headline outcome is the
most severe one seen (a gate must not pass what fails some of the time), and its reason says
how often each outcome came up.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import replace

from conformance.outcomes import Outcome, Result

SEVERITY = [Outcome.FAIL, Outcome.ERROR, Outcome.INCONCLUSIVE, Outcome.SKIP, Outcome.PASS]


def fold(passes: list[list[Result]]) -> list[Result]:
    by_key: dict[tuple[str, str | None], list[Result]] = {}
    for results in passes:
        for r in results:
            by_key.setdefault((r.check, r.case), []).append(r)
    folded = []
    for attempts in by_key.values():
        outcomes = [r.outcome for r in attempts]
        if len(attempts) < len(passes):  # a check that did not run in every pass (engine died, say)
            outcomes += [Outcome.ERROR] * (len(passes) - len(attempts))
        headline = min(outcomes, key=lambda o: SEVERITY.index(o) if o in SEVERITY else len(SEVERITY))
        shown = next(r for r in attempts if r.outcome is headline) if headline in [r.outcome for r in attempts] \
            else attempts[0]
        result = replace(shown, outcome=headline, attempts=[o.value for o in outcomes])
        if len(set(outcomes)) > 1:
            counts = Counter(o.value for o in outcomes)
            seen = ", ".join(f"{o} {n}x" for o, n in counts.most_common())
            missing = len(passes) - len(attempts)
            why = shown.reason if shown.outcome is headline else f"did not run in {missing} pass(es)"
            result.reason = f"intermittent over {len(outcomes)} passes ({seen})" + (f": {why}" if why else "")
        folded.append(result)
    return folded


def intermittent(results: list[Result]) -> list[Result]:
    return [r for r in results if r.intermittent]
