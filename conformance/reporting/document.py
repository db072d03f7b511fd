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
    counts = Counter(r.outcome.value for r in results)
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
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def load_report(path: Path) -> dict[str, Any]:
    """A stored JSON report, or UsageError saying why it cannot be one."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read report {path}: {exc.strerror}") from exc
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
    target = info.get("engine") or info.get("base_url") or "?"
    return f"{command}: {target}{' ' + version if version else ''} / dialect {info.get('dialect', '?')}"


def print_report(report: dict[str, Any], console: Console) -> None:
    """The terminal matrix of a report document (live or stored)."""
    info = report.get("run_info") or {}
    print_terminal(report_results(report), console, float(info.get("elapsed") or 0.0), report_title(report))


def print_terminal(results: list[Result], console: Console, elapsed: float, title: str) -> None:
    checks = list(dict.fromkeys(r.check for r in results))
    cases = list(dict.fromkeys(r.case for r in results if r.case))
    cell = {(r.check, r.case): r for r in results}
    table = Table(title=title, title_justify="left", show_lines=False,
                  caption="✓ pass  ✗ fail  ? inconclusive  – skip  ! error  · not applicable  x expected fail  + unexpected pass  ~ intermittent", caption_justify="left")
    table.add_column("check", style="bold", no_wrap=True)
    for case in cases:
        table.add_column(case, justify="center", overflow="fold")
    for chk in checks:
        row: list[Any] = [chk]
        whole = cell.get((chk, None))  # a check skipped as a whole (no case applies)
        for case in cases:
            r = cell.get((chk, case)) or whole
            if r is None:
                row.append(Text("·", style="dim"))  # the check does not apply to this case
            else:
                _, symbol, style = STYLE[r.outcome]
                row.append(Text(symbol, style=style))
        table.add_row(*row)
    console.print(table)
    notable = [r for r in results if r.outcome is not Outcome.PASS]
    for r in notable:
        label, _, style = STYLE[r.outcome]
        where = f"{r.check}[{r.case}]" if r.case else r.check
        console.print(Text.assemble((f"{label:<12}", style), f" {where}: ", (r.reason, "")), soft_wrap=True)
    counts = summary(results)
    parts = [f"{n} {k.lower()}" for k, n in counts.items() if n]
    console.print(f"[bold]{', '.join(parts)}[/bold] in {elapsed:.1f}s ({len(results)} results)")
