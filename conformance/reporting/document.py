"""Reports: the rich terminal table and the JSON document (the source every other format reads)."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from conformance import __version__
from conformance.errors import UsageError
from conformance.outcomes import Outcome, Result
from conformance.reporting.schema import FORMAT, FORMAT_VERSION

STYLE = {  # (word, symbol for the matrix, style)
    Outcome.PASS: ("PASS", "✓", "green"),
    Outcome.FAIL: ("FAIL", "✗", "bold red"),
    Outcome.SKIP: ("SKIP", "–", "dim"),
    Outcome.INCONCLUSIVE: ("INCONCLUSIVE", "?", "yellow"),
    Outcome.ERROR: ("ERROR", "!", "bold magenta"),
    Outcome.XFAIL: ("XFAIL", "x", "yellow"),
    Outcome.XPASS: ("XPASS", "+", "bold red"),
    Outcome.INTERMITTENT: ("INTERMITTENT", "~", "yellow"),
}


EXPECTATION_OUTCOMES = (Outcome.XFAIL, Outcome.XPASS, Outcome.INTERMITTENT)  # only with --expectations


def summary(results: list[Result]) -> dict[str, int]:
    """Results per outcome: every check outcome, and the expectation outcomes that occurred."""
    return summary_of(Counter(r.outcome.value for r in results))


def summary_of(counts: Counter) -> dict[str, int]:
    """The summary from counts per outcome value (a streamed run keeps only these)."""
    return {o.value: counts.get(o.value, 0) for o in Outcome
            if o not in EXPECTATION_OUTCOMES or counts.get(o.value)}


def build_report(results: list[Result], run_info: dict[str, Any]) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "tokconf_version": __version__,
        "run_info": run_info,
        "summary": summary(results),
        "results": [r.to_json() for r in results],
    }


def write_json(report: dict[str, Any], path: Path) -> None:
    from conformance.reporting.sink import write_text

    write_text(path, json.dumps(report, indent=2, ensure_ascii=False) + "\n")


def load_report(path: Path) -> dict[str, Any]:
    """A stored JSON report, or UsageError saying why it cannot be one."""
    from conformance.inputs.schema import read_input_text

    text = read_input_text(path, "report")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"report {path} is not JSON: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("results"), list):
        raise UsageError(f"{path} is not a tokconf report (no results list)")
    return data


def report_results(report: dict[str, Any]) -> list[Result]:
    return [Result.from_json(r) for r in report["results"]]


def report_title(report: dict[str, Any], command: str = "tokconf verify") -> str:
    info = report.get("run_info") or {}
    version = (info.get("engine_version") or {}).get("version")
    target = info.get("engine") or info.get("base_url") or info.get("recording") or "?"
    return f"{command}: {target}{' ' + version if version else ''} / dialect {info.get('dialect', '?')}"


def print_report(report: dict[str, Any], console: Console) -> None:
    """The terminal matrix of a report document (live or stored)."""
    info = report.get("run_info") or {}
    print_terminal(report_results(report), console, float(info.get("elapsed") or 0.0), report_title(report))


CAPTION = ("✓ pass  ✗ fail  ? inconclusive  – skip  ! error  · not applicable  x expected fail  "
           "+ unexpected pass  ~ intermittent")


def _symbol(cell: dict, chk: str, case: str) -> Text:
    r = cell.get((chk, case)) or cell.get((chk, None))  # (chk, None): skipped as a whole, no case applies
    if r is None:
        return Text("·", style="dim")  # the check does not apply to this case
    _, symbol, style = STYLE[r.outcome]
    return Text(symbol, style=style)


def _matrix(results: list[Result], console: Console, title: str) -> None:
    """The check x case matrix: cases as named columns when they fit the console, else as numbered
    one-character columns with the numbers' legend below (readable at 80 columns)."""
    checks = list(dict.fromkeys(r.check for r in results))
    cases = list(dict.fromkeys(r.case for r in results if r.case))
    cell = {(r.check, r.case): r for r in results}
    check_width = max([len(c) for c in checks] + [5])
    wide = check_width + 4 + sum(len(c) + 3 for c in cases)
    if wide <= console.width:
        table = Table(title=title, title_justify="left", caption=CAPTION, caption_justify="left")
        table.add_column("check", style="bold", no_wrap=True)
        for case in cases:
            table.add_column(case, justify="center", no_wrap=True)
        for chk in checks:
            table.add_row(chk, *(_symbol(cell, chk, case) for case in cases))
        console.print(table)
        return
    table = Table(title=title, title_justify="left", box=None, padding=(0, 0), show_edge=False)
    table.add_column("check", style="bold", no_wrap=True, min_width=check_width + 1)
    for n, _ in enumerate(cases, 1):
        table.add_column(str(n), justify="center", no_wrap=True, width=max(2, len(str(n)) + 1))
    for chk in checks:
        table.add_row(chk, *(_symbol(cell, chk, case) for case in cases))
    console.print(table)
    console.print("cases: " + "  ".join(f"{n} {case}" for n, case in enumerate(cases, 1)), markup=False,
                  highlight=False)
    console.print(CAPTION, style="dim", markup=False, highlight=False)


def notable_lines(results: list[Result]) -> list[tuple[Outcome, str, str]]:
    """(outcome, where, reason) of every result that did not pass. SKIPs that share a reason are one
    line (a dialect without a feature skips every case of every check that needs it), and so are
    ERRORs (a request the engine refused with HTTP 400 errs every check of its case: the case and
    the engine's message once)."""
    lines: list[tuple[Outcome, str, str]] = []
    grouped: dict[tuple[Outcome, str], list[Result]] = {}
    for r in results:
        if r.outcome is Outcome.PASS:
            continue
        if r.outcome in (Outcome.SKIP, Outcome.ERROR):
            grouped.setdefault((r.outcome, r.reason), []).append(r)
        else:
            lines.append((r.outcome, _where(r), r.reason))
    for (outcome, reason), rs in grouped.items():
        lines.append((outcome, _where(rs[0]) if len(rs) == 1 else _group_label(rs), reason))
    return lines


def _where(r: Result) -> str:
    return f"{r.check}[{r.case}]" if r.case else r.check


def _group_label(rs: list[Result]) -> str:
    checks = list(dict.fromkeys(r.check for r in rs))
    cases = list(dict.fromkeys(r.case for r in rs if r.case))
    named = ", ".join(checks) if len(checks) <= 3 else f"{len(checks)} checks ({', '.join(checks[:3])}, ...)"
    label = f"{len(rs)} results of {named}"
    if 0 < len(cases) <= 3:
        label += f" on {', '.join(cases)}"
    return label


def print_terminal(results: list[Result], console: Console, elapsed: float, title: str) -> None:
    _matrix(results, console, title)
    for outcome, where, reason in notable_lines(results):
        label, _, style = STYLE[outcome]
        console.print(Text.assemble((f"{label:<12}", style), f" {where}: ", (reason, "")), soft_wrap=True)
    counts = summary(results)
    parts = [f"{n} {k.lower()}" for k, n in counts.items() if n]
    console.print(f"[bold]{', '.join(parts)}[/bold] in {elapsed:.1f}s ({len(results)} results)")
