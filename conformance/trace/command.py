"""`tokconf trace`: the command's body (cli.py only declares the options)."""
from __future__ import annotations

import datetime as dt
import platform
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from conformance import __version__
from conformance.errors import UsageError
from conformance.outcomes import Outcome, Result
from conformance.reporting.document import STYLE, build_report, summary, write_json
from conformance.reporting.outputs import write_outputs
from conformance.trace.checks import TRACE_CHECKS
from conformance.trace.runner import RECORD_CHECK, run_traces, selected_checks

SHOW_NOTABLE = 40  # non-passing results listed on the terminal; all of them are in the reports


def print_trace_terminal(results: list[Result], console: Console, elapsed: float, title: str, traces: int) -> None:
    """Checks x outcomes (a store has too many traces for a checks x cases matrix), then what did not pass."""
    per: dict[str, Counter] = {}
    for r in results:
        per.setdefault(r.check, Counter())[r.outcome] += 1
    shown = [o for o in Outcome if any(c.get(o) for c in per.values())]
    table = Table(title=title, title_justify="left")
    table.add_column("check", style="bold", no_wrap=True)
    for o in shown:
        word, _, style = STYLE[o]
        table.add_column(Text(word, style=style), justify="right")
    for chk, counts in per.items():
        table.add_row(chk, *[str(counts.get(o, 0) or "·") for o in shown])
    console.print(table)
    notable = [r for r in results if r.outcome not in (Outcome.PASS, Outcome.SKIP)]
    for r in notable[:SHOW_NOTABLE]:
        word, _, style = STYLE[r.outcome]
        console.print(Text.assemble((f"{word:<12}", style), f" {r.check}[{r.case}]: ", (r.reason, "")), soft_wrap=True)
    if len(notable) > SHOW_NOTABLE:
        console.print(f"… and {len(notable) - SHOW_NOTABLE} more not passing (all in the JSON report)")
    counts = summary(results)
    parts = [f"{n} {k.lower()}" for k, n in counts.items() if n]
    console.print(f"[bold]{', '.join(parts)}[/bold] over {traces} traces in {elapsed:.1f}s ({len(results)} results)")


def run_trace(source: str, *, mapping_name: str, tokenizer: str, session: str | None, checks: list[str] | None,
              api_key: str | None, argv: list[str], progress=None) -> tuple[dict[str, Any], list[Result], float, int]:
    """(report document, results, elapsed, traces read). UsageError for bad input."""
    from conformance.checking.client_tokenizer import Tokenizer
    from conformance.trace.mapping import load_mapping
    from conformance.trace.sources import open_source

    started = time.monotonic()
    mapping = load_mapping(mapping_name)
    chosen = selected_checks(checks)
    if checks and not chosen:
        raise UsageError(f"--check {checks} selects no check; the checks: {', '.join(TRACE_CHECKS)}")
    kind, rows = open_source(source, session, api_key, mapping.fields.get("time"))
    tok = Tokenizer.load(tokenizer)
    read = 0

    def count(n: int) -> None:
        nonlocal read
        read = n
        if progress and n % 500 == 0:
            progress(n)

    results = list(run_traces(rows, tok, mapping, chosen, on_trace=count))
    elapsed = time.monotonic() - started
    run_info = {
        "command": "trace",
        "engine": None,
        "base_url": source if kind == "gateway-http" else None,
        "source": source,
        "source_kind": kind,
        "session": session,
        "mapping": mapping.name,
        "mapping_file": mapping.source,
        "dialect": f"trace mapping {mapping.name}",
        "tokenizer": tok.source,
        "traces": read,
        "host": platform.node(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "tokconf_argv": argv,
        "tokconf_version": __version__,
        "started_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "elapsed": round(elapsed, 3),
    }
    return build_report(results, run_info), results, elapsed, read


def write_trace_outputs(report: dict[str, Any], results: list[Result], console: Console, elapsed: float,
                        traces: int, *, json_path: Path | None, junit_xml: Path | None, markdown: Path | None,
                        html: Path | None) -> None:
    write_outputs(report, json_path=json_path, junit_xml=junit_xml, markdown=markdown, html=html)
    info = report["run_info"]
    title = f"tokconf trace: {info['source']} / mapping {info['mapping']}"
    print_trace_terminal(results, console, elapsed, title, traces)


def nothing_checked(results: list[Result]) -> bool:
    return not any(r.outcome is Outcome.PASS and r.check != RECORD_CHECK for r in results)


def stderr_console() -> Console:
    return Console(stderr=True)


def stdout_console() -> Console:
    return Console() if sys.stdout.isatty() else Console(width=160)
