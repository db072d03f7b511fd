"""One self-contained HTML page for a multi-target compare: the checks x targets matrix and, per
greedy case, the prompt and completion ids across targets, each divergence side by side."""
from __future__ import annotations

from html import escape
from typing import Any

from conformance.reporting.html import CSS, token_diff
from conformance.reporting.outcome_style import agreement_state, check_cell


def _e(v: Any) -> str:
    return escape(str(v), quote=True)


def _cell(results: list[dict[str, Any]]) -> str:
    shown = check_cell(results)
    if shown is None:
        return '<td class="c na">·</td>'
    worst, ratio, counts = shown
    tip = ", ".join(f"{n} {o}" for o, n in counts.items())
    return f'<td class="c {worst.css}" title="{_e(tip)}">{_e(f"{worst.symbol} {ratio}")}</td>'


def _agreement(case: str, kind: str, entry: dict[str, Any]) -> str:
    if agreement_state(entry) == "incomparable":
        why = "; ".join(f"{n}: {m}" for n, m in entry["missing"].items())
        return f'<span class="o inc">?</span> not comparable <span class="muted">{_e(why)}</span>'
    if not entry["divergences"]:
        return '<span class="o pass">✓</span> all targets agree'
    return "".join(f'<details open><summary><span class="o fail">✗</span> {_e(d["target"])} differs from '
                   f'{_e(entry["reference"])} at index {d["first_divergence"]}</summary>{token_diff(d)}</details>'
                   for d in entry["divergences"])


def render_compare_html(doc: dict[str, Any]) -> str:
    targets = doc["targets"]
    head = "".join(f"<th>{_e(t['name'])}<br><span class=muted>{_e(t['run_info'].get('dialect'))} "
                   f"{_e((t['run_info'].get('engine_version') or {}).get('version') or '')}</span></th>" for t in targets)
    rows = "".join(f"<tr><td><code>{_e(chk)}</code></td>"
                   + "".join(_cell([r for r in t["results"] if r["check"] == chk]) for t in targets) + "</tr>"
                   for chk in dict.fromkeys(r["check"] for t in targets for r in t["results"]))
    cases = "".join(f"<tr><td>{_e(row['case'])}</td><td>{_agreement(row['case'], 'prompt', row['prompt'])}</td>"
                    f"<td>{_agreement(row['case'], 'completion', row['completion'])}</td></tr>" for row in doc["agreement"])
    title = "tokconf compare: " + " vs ".join(t["name"] for t in targets)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title><style>{CSS}
table.agree{{width:100%;table-layout:fixed}}table.agree td{{overflow-wrap:anywhere}}</style></head><body>
<h1>{_e(title)}</h1>
<h2>checks × targets</h2><p class="muted">worst outcome over the cases; passed / ran</p>
<table class="matrix"><thead><tr><th>check</th>{head}</tr></thead><tbody>{rows}</tbody></table>
<h2>greedy ids across targets, per case</h2><p class="muted">each target compared with the first target that has the ids</p>
<table class="agree"><colgroup><col style="width:150px"><col><col></colgroup>
<thead><tr><th>case</th><th>prompt ids</th><th>completion ids</th></tr></thead><tbody>{cases}</tbody></table>
<script>document.querySelectorAll('button.all').forEach(b=>b.onclick=()=>{{const d=b.closest('.tokdiff');
d.classList.toggle('showall');}});</script>
</body></html>
"""
