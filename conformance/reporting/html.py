"""One self-contained HTML file (inline CSS and JS, no network): run info, outcome filters, the
check x case matrix, every result with its evidence, and each token divergence side by side,
decoded, the first difference highlighted. Rendered server-side: readable with JS off."""
from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import Any

from conformance.reporting.divergence import diff_rows, is_divergence
from conformance.reporting.outcome_style import rank, style
from conformance.reporting.text import DIVERGENCE_KEYS, result_label

BASE = ("FAIL", "ERROR", "INCONCLUSIVE", "SKIP", "PASS")  # always offered as filters
WINDOW = 8  # token rows shown either side of the first divergence until "show all"

CSS = """
:root{--pass:#1a7f37;--fail:#cf222e;--skip:#6e7781;--inc:#9a6700;--err:#8250df;--bg:#fff;--line:#d0d7de;--soft:#f6f8fa}
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:0 auto;padding:16px 24px;max-width:1600px;color:#1f2328;background:var(--bg)}
h1{font-size:20px;margin:0 0 8px}h2{font-size:16px;margin:24px 0 8px}
code,pre,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
pre{background:var(--soft);border:1px solid var(--line);border-radius:6px;padding:8px;overflow:auto;max-height:360px;white-space:pre-wrap;word-break:break-all}
.info{display:grid;grid-template-columns:repeat(2,max-content minmax(0,1fr));gap:2px 16px;margin:8px 0 12px}.info dt{color:#59636e}.info dd{margin:0;word-break:break-all}
.o{display:inline-block;min-width:1.6em;padding:0 6px;border-radius:10px;color:#fff;font-weight:600;text-align:center;font-size:12px}
.o.pass{background:var(--pass)}.o.fail{background:var(--fail)}.o.skip{background:var(--skip)}.o.inc{background:var(--inc)}.o.error{background:var(--err)}.o.xfail{background:#bc4c00}
.filters button{font:inherit;border:1px solid var(--line);background:#fff;border-radius:16px;padding:2px 10px;margin-right:6px;cursor:pointer;opacity:.45}
.filters button.on{opacity:1;box-shadow:inset 0 0 0 1px #1f2328}
table{border-collapse:collapse}th,td{border-bottom:1px solid var(--line);padding:4px 8px;text-align:left;vertical-align:top}
table.matrix td.c{text-align:center;font-weight:700}table.matrix a{text-decoration:none;color:inherit;display:block}
td.c.pass{color:var(--pass)}td.c.fail{color:var(--fail);background:#ffebe9}td.c.skip{color:var(--skip)}td.c.inc{color:var(--inc);background:#fff8c5}td.c.error{color:var(--err);background:#fbefff}td.c.xfail{color:#bc4c00;background:#fff1e5}td.c.na{color:#bbb}
table.results{width:100%;table-layout:fixed}col.w-outcome{width:120px}col.w-check{width:240px}col.w-case{width:150px}col.w-time{width:70px}td{overflow-wrap:anywhere}table.results>tbody>tr.r>td{cursor:pointer}table.results tr.r:hover{background:var(--soft)}
tr.detail>td{background:#fcfcfd;padding:8px 12px 16px}tr.hidden{display:none}
.diff{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:12px;margin:8px 0}
.side{border:1px solid var(--line);border-radius:6px;padding:6px 8px}.side h4{margin:0 0 4px;font-size:13px}.chips{display:flex;flex-wrap:wrap;gap:3px;margin-bottom:2px}
.chip{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px;border:1px solid var(--line);border-radius:4px;padding:0 3px;margin:0 1px;white-space:pre;background:#fff}
.chip.d{background:#ffebe9;border-color:#ff8182}.chip.first{background:#cf222e;color:#fff;border-color:#cf222e}.chip.gap{border-style:dashed;color:#cf222e;background:#fff}.chip.gap.first{background:#fff;color:#cf222e;border:2px dashed #cf222e}
table.tok{width:auto;min-width:50%}table.tok th{font-size:12px}table.tok td{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px;padding:1px 6px;white-space:pre}
table.tok tr.delete td:nth-child(-n+3),table.tok tr.insert td:nth-child(n+4),table.tok tr.replace td{background:#ffebe9}table.tok tr.delete td:nth-child(n+4),table.tok tr.insert td:nth-child(-n+3){background:repeating-linear-gradient(135deg,#f6f8fa 0 4px,#fff 4px 8px)}table.tok tr.first td{box-shadow:inset 0 2px 0 #cf222e}table.tok tr.first td:not(:empty){background:#cf222e;color:#fff;font-weight:700}table.tok td:nth-child(4){border-left:2px solid var(--line)}
table.tok tr.far{display:none}.showall table.tok tr.far{display:table-row}
.muted{color:#59636e}.why{white-space:pre-wrap}button.all{font:inherit;font-size:12px;margin:4px 0;cursor:pointer}
"""

JS = """
const on=new Set(%s);
function apply(){document.querySelectorAll('tr.r').forEach(tr=>{const show=on.has(tr.dataset.outcome);
 tr.classList.toggle('hidden',!show);const d=document.getElementById(tr.dataset.detail);if(d&&!show)d.classList.add('hidden');});
 document.querySelectorAll('.filters button').forEach(b=>b.classList.toggle('on',on.has(b.dataset.outcome)));}
document.querySelectorAll('.filters button').forEach(b=>b.onclick=()=>{const o=b.dataset.outcome;on.has(o)?on.delete(o):on.add(o);apply();});
document.querySelectorAll('tr.r').forEach(tr=>tr.onclick=()=>document.getElementById(tr.dataset.detail).classList.toggle('hidden'));
document.querySelectorAll('button.all').forEach(b=>b.onclick=()=>{const d=b.closest('.tokdiff');d.classList.toggle('showall');
 b.textContent=d.classList.contains('showall')?'show positions near the divergence':'show all positions';});
document.querySelectorAll('table.matrix a').forEach(a=>a.onclick=()=>{const tr=document.getElementById(a.getAttribute('href').slice(1));
 if(tr){on.add(tr.dataset.outcome);apply();document.getElementById(tr.dataset.detail).classList.remove('hidden');}});
apply();
"""


def _e(value: Any) -> str:
    return escape(str(value), quote=True)


def _chip_text(text: str | None) -> str:
    if text is None:
        return "�"
    return text.replace(" ", "␣").replace("\n", "⏎").replace("\t", "⇥") or "∅"


def _chips(drows: list, side: str, focus: int) -> str:
    """One sequence as token chips, read off the diff rows: ids outside equal runs are marked, the
    first difference strongly, and where this side lacks ids the other has, a gap chip."""
    out, in_gap = [], False
    for n, r in enumerate(drows):
        index, token_id, text = getattr(r, f"{side}_index"), getattr(r, f"{side}_id"), getattr(r, f"{side}_text")
        if index is None:
            if not in_gap:
                out.append(f'<span class="chip gap{" first" if n == focus else ""}" title="ids missing here">∅</span>')
            in_gap = True
            continue
        in_gap = False
        cls = "chip" + (" first" if n == focus else " d" if r.op != "equal" else "")
        out.append(f'<span class="{cls}" title="#{index} id {_e(token_id)}">{_e(_chip_text(text))}</span>')
    return "".join(out)


def token_diff(ev: dict[str, Any]) -> str:
    """Side by side: each sequence as decoded chips (first difference and what follows marked), then
    the two aligned by a diff, so a dropped or extra id shows as a gap."""
    at = ev["first_divergence"]
    left, right = ev["left"], ev["right"]
    names = (ev.get("left_name", "left"), ev.get("right_name", "right"))
    drows = diff_rows(ev)
    focus = next((n for n, r in enumerate(drows) if r.op != "equal"), 0)
    table_rows = []
    for n, r in enumerate(drows):
        cls = " ".join(c for c in (r.op if r.op != "equal" else "", "first" if n == focus else "",
                                   "far" if abs(n - focus) > WINDOW else "") if c)
        cells = []
        for index, token_id, text in ((r.left_index, r.left_id, r.left_text), (r.right_index, r.right_id, r.right_text)):
            cells += ["", "", ""] if index is None else [str(index), str(token_id), _chip_text(text)]
        table_rows.append(f'<tr class="{cls}">' + "".join(f"<td>{_e(c)}</td>" for c in cells) + "</tr>")
    lt, rt = ev.get("left_tokens") or [], ev.get("right_tokens") or []
    sides = "".join(
        f'<div class="side"><h4>{_e(name)} <span class="muted">({len(seq)} ids)</span></h4>'
        f'<div class="chips">{_chips(drows, side, focus)}</div></div>'
        for name, seq, side in ((names[0], left, "left"), (names[1], right, "right")))
    ops = [r.op for r in drows]
    gist = f"{ops.count('delete')} only in {names[0]}, {ops.count('insert')} only in {names[1]}, {ops.count('replace')} replaced"
    more = len(table_rows) > 2 * WINDOW + 1
    return (f'<div class="tokdiff"><p><b>first divergence at index {at}</b>: '
            f'{_e(names[0])} has {_e(_at(left, lt, at))}, {_e(names[1])} has {_e(_at(right, rt, at))}</p>'
            f'<div class="diff">{sides}</div>'
            f'<p class="muted">aligned by a diff: {_e(gist)}'
            + (' <button class="all">show all positions</button>' if more else "") + '</p>'
            '<table class="tok"><thead><tr>'
            f'<th>#</th><th>{_e(names[0])}</th><th>token</th><th>#</th><th>{_e(names[1])}</th><th>token</th></tr></thead>'
            f'<tbody>{"".join(table_rows)}</tbody></table></div>')


def _at(ids: list, texts: list, at: int) -> str:
    if at >= len(ids):
        return "<end of sequence>"
    return f"{ids[at]} '{_chip_text(texts[at] if at < len(texts) else None)}'"


def _evidence(r: dict[str, Any]) -> str:
    ev = r.get("evidence") or {}
    parts = []  # the reason is on the result's row, just above
    if is_divergence(ev):
        parts.append(token_diff(ev))
    rest = {k: v for k, v in ev.items() if k not in DIVERGENCE_KEYS}
    if rest:
        parts.append(f"<h4>evidence</h4><pre>{_e(json.dumps(rest, indent=1, ensure_ascii=False))}</pre>")
    for ex in r.get("exchanges") or []:
        status = ex.get("status", "not sent")
        parts.append(f"<h4>{_e(ex['variant'])}: <code>{_e(ex['method'])} {_e(ex['path'])}</code> → {_e(status)}"
                     f"{' ' + _e(ex['error']) if ex.get('error') else ''}</h4>"
                     f"<details><summary>request</summary><pre>{_e(json.dumps(ex.get('request'), indent=1, ensure_ascii=False))}</pre></details>")
        if ex.get("response_excerpt"):
            parts.append(f"<details><summary>response (excerpt)</summary><pre>{_e(ex['response_excerpt'])}</pre></details>")
    return "".join(parts) or '<span class="muted">no evidence recorded (nothing was sent for this result)</span>'


def _anchor(r: dict[str, Any]) -> str:
    return "r-" + "".join(c if c.isalnum() else "-" for c in result_label(r))


def _matrix(results: list[dict[str, Any]]) -> str:
    checks = list(dict.fromkeys(r["check"] for r in results))
    cases = list(dict.fromkeys(r["case"] for r in results if r.get("case")))
    cell = {(r["check"], r.get("case")): r for r in results}
    head = "<tr><th>check</th>" + "".join(f"<th>{_e(c)}</th>" for c in cases) + "</tr>"
    body = []
    for chk in checks:
        tds = []
        for case in cases:
            r = cell.get((chk, case)) or cell.get((chk, None))
            if r is None:
                tds.append('<td class="c na" title="not applicable">·</td>')
            else:
                tds.append(f'<td class="c {style(r["outcome"]).css}" title="{_e(r["outcome"])}: {_e(r.get("reason", ""))}">'
                           f'<a href="#{_anchor(r)}">{style(r["outcome"]).symbol}</a></td>')
        body.append(f"<tr><td><code>{_e(chk)}</code></td>{''.join(tds)}</tr>")
    return f'<table class="matrix"><thead>{head}</thead><tbody>{"".join(body)}</tbody></table>'


def render_html(report: dict[str, Any], title: str | None = None) -> str:
    info, results = report.get("run_info") or {}, report["results"]
    title = title or f"tokconf {info.get('command', 'verify')}"
    counts = report.get("summary") or {}
    version = (info.get("engine_version") or {}).get("version")
    target = info.get("engine") or info.get("base_url") or info.get("source") or "?"  # source: tokconf trace
    heading = f"{title}: {target}{' ' + version if version else ''} / dialect {info.get('dialect', '?')}"
    fields = ["engine", "base_url", "model", "served_model", "tokenizer", "dialect", "cases", "host",
              "started_at", "finished_at", "requests_sent", "tokconf_version"]
    dl = "".join(f"<dt>{_e(k)}</dt><dd><code>{_e(info[k])}</code></dd>" for k in fields if info.get(k) is not None)
    if version:
        dl += f"<dt>engine_version</dt><dd><code>{_e(version)}</code> <span class=muted>({_e(info['engine_version'].get('source', ''))})</span></dd>"
    for argv in info.get("launch_argv") or []:
        dl += f"<dt>launch argv</dt><dd><code>{_e(' '.join(argv))}</code></dd>"
    for key, note in (info.get("engine_setup") or {}).items():
        dl += f"<dt>{_e(key)}</dt><dd>{_e(note)}</dd>"
    outcomes = sorted(set(BASE) | {r["outcome"] for r in results}, key=rank)
    tally = {o: sum(r["outcome"] == o for r in results) for o in outcomes}
    buttons = "".join(f'<button data-outcome="{_e(o)}"><span class="o {style(o).css}">{style(o).symbol}</span> '
                      f'{_e(o)} {tally[o]}</button>' for o in outcomes)
    ordered = sorted(results, key=lambda r: rank(r["outcome"]))
    trs = []
    for n, r in enumerate(ordered):
        trs.append(f'<tr class="r" id="{_anchor(r)}" data-outcome="{r["outcome"]}" data-detail="d{n}">'
                   f'<td><span class="o {style(r["outcome"]).css}">{_e(r["outcome"])}</span></td><td><code>{_e(r["check"])}</code></td>'
                   f'<td>{_e(r.get("case") or "(all cases)")}</td><td>{_e(r.get("reason") or "")}</td>'
                   f'<td class="mono">{float(r.get("duration") or 0):.3f}s</td></tr>'
                   f'<tr class="detail{"" if style(r["outcome"]).failing else " hidden"}" id="d{n}">'
                   f'<td colspan="5">{_evidence(r)}</td></tr>')
    shown_first = [o for o in outcomes if o != "PASS"] if any(r["outcome"] != "PASS" for r in results) else outcomes
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{_e(heading)}</title><style>{CSS}</style></head><body>
<h1>{_e(heading)}</h1>
<dl class="info">{dl}</dl>
<div class="filters">{buttons}</div>
<h2>checks × cases</h2>{_matrix(results)}
<h2>results</h2><p class="muted">Click a row for its evidence; click an outcome above to show or hide it.</p>
<table class="results"><colgroup><col class="w-outcome"><col class="w-check"><col class="w-case"><col><col class="w-time"></colgroup><thead><tr><th>outcome</th><th>check</th><th>case</th><th>reason</th><th>time</th></tr></thead>
<tbody>{"".join(trs)}</tbody></table>
<script>{JS % json.dumps(shown_first)}</script></body></html>
"""


def write_html(report: dict[str, Any], path: Path) -> None:
    from conformance.reporting.sink import write_text

    write_text(path, render_html(report))
