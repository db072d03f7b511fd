"""Terminal views for `tokconf compare`: the changes between two stored reports, and the
checks x targets matrix with per-case id agreement across targets."""
from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from conformance.reporting.comparison import KINDS, Comparison
from conformance.reporting.outcome_style import agreement_state, check_cell

KIND_STYLE = {"regression": "bold red", "fix": "green", "new": "cyan", "vanished": "yellow",
              "changed": "magenta", "intermittent": "yellow"}
PLURAL = {"regression": "regressions", "fix": "fixes"}  # the other kinds read the same either way
RICH = {"pass": "green", "fail": "bold red", "error": "bold magenta", "inc": "yellow", "xfail": "yellow", "skip": "dim"}


def print_comparison(cmp: Comparison, console: Console, old: str, new: str) -> None:
    console.print(f"[bold]tokconf compare[/bold]: {old} → {new}")
    if not cmp.changes:
        console.print(f"no changes ({cmp.unchanged} results identical)")
        return
    table = Table(show_lines=False, title_justify="left")
    for col in ("change", "check", "case", "before", "after", "reason (now)"):
        table.add_column(col, overflow="fold")
    for kind in KINDS:
        for c in cmp.of(kind):
            table.add_row(Text(kind, style=KIND_STYLE[kind]), c.check, c.case or "", c.before or "—", c.after or "—",
                          c.reason[:200])
    console.print(table)
    counts = ", ".join(f"{len(cmp.of(k))} {PLURAL.get(k, k) if len(cmp.of(k)) != 1 else k}" for k in KINDS if cmp.of(k))
    console.print(f"[bold]{counts}[/bold]; {cmp.unchanged} unchanged")


def cell(results: list[dict[str, Any]]) -> Text:
    """One check on one target: the worst outcome over the cases, with how many passed."""
    shown = check_cell(results)
    if shown is None:
        return Text("·", style="dim")
    worst, ratio, _ = shown
    return Text(f"{worst.symbol} {ratio}", style=RICH[worst.css])


def print_targets(doc: dict[str, Any], console: Console) -> None:
    targets = doc["targets"]
    checks = list(dict.fromkeys(r["check"] for t in targets for r in t["results"]))
    table = Table(title="checks × targets (worst outcome; passed/ran over the cases)", title_justify="left")
    table.add_column("check", style="bold", no_wrap=True)
    for t in targets:
        info = t["run_info"]
        version = (info.get("engine_version") or {}).get("version")
        table.add_column(f"{t['name']}\n{info.get('dialect')}{' ' + version if version else ''}", justify="center")
    for chk in checks:
        table.add_row(chk, *[cell([r for r in t["results"] if r["check"] == chk]) for t in targets])
    console.print(table)
    agree = Table(title="greedy ids across targets, per case (reference: the first target with ids)", title_justify="left")
    for col in ("case", "prompt ids", "completion ids"):
        agree.add_column(col, overflow="fold")
    for row in doc["agreement"]:
        agree.add_row(row["case"], _agreement_cell(row["prompt"]), _agreement_cell(row["completion"]))
    console.print(agree)


def _tokens(context: list[list], at: int) -> str:
    before = "".join(t or "" for i, _, t in context if i < at)
    here = next((f"{tid} {t!r}" for i, tid, t in context if i == at), "<end>")
    return f"…{before[-24:]!r} then {here}"


def _agreement_cell(entry: dict[str, Any]) -> Text:
    if agreement_state(entry) == "incomparable":
        why = "; ".join(f"{n}: {m}" for n, m in entry["missing"].items()) or "fewer than two targets have ids"
        return Text(f"? not comparable ({why})"[:300], style="yellow")
    parts: list[tuple[str, str]] = []
    if not entry["divergences"]:
        parts.append(("✓ agree", "green"))
    for d in entry["divergences"]:
        parts.append((f"✗ {d['target']} differs from {entry['reference']} at index {d['first_divergence']} "
                      f"({d['reference_len']} vs {d['target_len']} ids):", "bold red"))
        parts.append((f"  {entry['reference']}: {_tokens(d['reference_context'], d['first_divergence'])}", ""))
        parts.append((f"  {d['target']}: {_tokens(d['target_context'], d['first_divergence'])}", ""))
    for name, why in entry["missing"].items():
        parts.append((f"? {name}: {why}", "yellow"))
    return Text("\n").join(Text(text, style=style) for text, style in parts)
