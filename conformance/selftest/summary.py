"""The self-test's terminal table and JSON document."""
from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from conformance.selftest import SelftestReport


def print_selftest(rep: SelftestReport, console: Console, title: str) -> None:
    alarms = rep.false_alarms
    clean = Text("clean round through the proxy: ")
    clean.append(f"{len(alarms)} false alarm(s): {', '.join(f'{r.check}[{r.case}]' for r in alarms)}" if alarms
                 else f"no false alarm ({len(rep.clean)} results, none failed)", style="red" if alarms else "green")
    console.print(clean)
    table = Table(title=title, title_justify="left")
    for col in ("fault", "bug class it reproduces", "applied to", "caught by"):
        table.add_column(col, overflow="fold")
    for v in rep.verdicts:
        if not v.applicable:
            verdict = Text("n/a: nothing to break in this target's responses", style="dim")
        elif v.detected:
            verdict = Text(f"✓ {len(v.caught_by)}: {', '.join(v.caught_by[:3])}{' …' if len(v.caught_by) > 3 else ''}",
                           style="green")
        else:
            verdict = Text("✗ MISSED" + (f" (only ERROR: {', '.join(v.errors[:3])})" if v.errors else ""),
                           style="bold red")
        table.add_row(v.fault, v.bug_class, f"{len(v.applied_to)} exchanges" if v.applicable else "-", verdict)
    console.print(table)
    score = "n/a" if rep.score is None else f"{rep.score:.0%}"
    n, missed = len(rep.applicable), len(rep.missed)
    console.print(f"[bold]mutation score {score}[/bold]: {n - missed} of {n} applicable faults detected"
                  f" ({len(rep.verdicts) - n} not applicable); {rep.upstream_requests} requests sent to the target, "
                  f"{len(rep.verdicts) + 1} rounds in {rep.elapsed:.1f}s")
