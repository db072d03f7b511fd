"""Markdown for `tokconf compare`: the changes between two reports (a nightly job's summary), or
the checks x targets matrix and per-case id agreement."""
from __future__ import annotations

from typing import Any

from conformance.reporting.comparison import KINDS, Comparison
from conformance.reporting.markdown import _cell
from conformance.reporting.outcome_style import agreement_state, check_cell

KIND_EMOJI = {"regression": "❌", "fix": "✅", "new": "🆕", "vanished": "👻", "changed": "🔀", "intermittent": "〰️"}


def comparison_markdown(cmp: Comparison, old: str, new: str) -> str:
    regressions = cmp.regressions
    out = [f"## tokconf compare: `{_cell(old)}` → `{_cell(new)}`", "",
           f"**{'❌ ' + str(len(regressions)) + ' regression(s)' if regressions else '✅ no regression'}**; "
           + ", ".join(f"{len(cmp.of(k))} {k}" for k in KINDS if cmp.of(k) and k != "regression")
           + f"{', ' if any(cmp.of(k) for k in KINDS if k != 'regression') else ''}{cmp.unchanged} unchanged", ""]
    if cmp.changes:
        out += ["| change | check | case | before | after | reason (now) |", "|---|---|---|---|---|---|"]
        for kind in KINDS:
            for c in cmp.of(kind):
                out.append(f"| {KIND_EMOJI[kind]} {kind} | `{c.check}` | {_cell(c.case or '')} | {c.before or '—'} | "
                           f"{c.after or '—'} | {_cell(c.reason[:200])} |")
    return "\n".join(out) + "\n"


def _matrix_cell(results: list[dict[str, Any]]) -> str:
    shown = check_cell(results)
    return "·" if shown is None else f"{shown[0].emoji} {shown[1]}"


def _agreement(entry: dict[str, Any]) -> str:
    state = agreement_state(entry)
    if state == "incomparable":
        return "❔ not comparable"
    if state == "agree":
        return "✅ agree"
    parts = []
    for d in entry["divergences"]:
        at = d["first_divergence"]
        def at_token(ctx):
            return next((f"`{tid} {t!r}`" for i, tid, t in ctx if i == at), "end")
        parts.append(f"❌ {d['target']} ≠ {entry['reference']} at {at}: {at_token(d['reference_context'])} vs "
                     f"{at_token(d['target_context'])}")
    return _cell("<br>".join(parts))


def targets_markdown(doc: dict[str, Any]) -> str:
    targets = doc["targets"]
    out = ["## tokconf compare: " + " vs ".join(t["name"] for t in targets), "",
           "| check | " + " | ".join(f"{t['name']} ({t['run_info'].get('dialect')})" for t in targets) + " |",
           "|---|" + "---|" * len(targets)]
    for chk in dict.fromkeys(r["check"] for t in targets for r in t["results"]):
        out.append(f"| `{chk}` | " + " | ".join(_matrix_cell([r for r in t["results"] if r["check"] == chk])
                                               for t in targets) + " |")
    out += ["", "Greedy ids across targets (reference: the first target with ids):", "",
            "| case | prompt ids | completion ids |", "|---|---|---|"]
    for row in doc["agreement"]:
        out.append(f"| {_cell(row['case'])} | {_agreement(row['prompt'])} | {_agreement(row['completion'])} |")
    return "\n".join(out) + "\n"
