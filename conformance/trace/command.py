"""`tokconf trace`: the command's body (cli.py only declares the options).

A store holds more traces than a run can keep results for (8 per trace), so the command streams:
each result goes to the JSON report as it comes and is then dropped; what stays is a tally
(counts per check and outcome, the first non-passing results for the terminal). Memory is then
bounded by the runner's session state, not by the store.
"""
from __future__ import annotations

import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import Any, Callable, Iterator

from rich.console import Console
from rich.table import Table
from rich.text import Text

from conformance.running.provenance import provenance
from conformance.errors import UsageError
from conformance.outcomes import Outcome, Result
from conformance.reporting.document import STYLE, build_report, load_report, summary_of
from conformance.reporting.formats import write_outputs
from conformance.reporting.sink import is_stdout
from conformance.reporting.streamed import StreamedReport
from conformance.running.selection import Selection, parse
from conformance.trace.checks import TRACE_CHECKS
from conformance.trace.runner import RECORD_CHECK, run_traces, selected_checks
from conformance.trace.sources import Row

SHOW_NOTABLE = 40  # non-passing results listed on the terminal; all of them are in the reports


@dataclass
class Tally:
    """What a streamed run keeps of its results: counts, and the first ones that did not pass."""
    per_check: dict[str, Counter] = field(default_factory=dict)
    outcomes: Counter = field(default_factory=Counter)
    notable: list[Result] = field(default_factory=list)
    notable_total: int = 0

    def add(self, r: Result) -> None:
        self.per_check.setdefault(r.check, Counter())[r.outcome] += 1
        self.outcomes[r.outcome] += 1
        if r.outcome not in (Outcome.PASS, Outcome.SKIP):
            self.notable_total += 1
            if len(self.notable) < SHOW_NOTABLE:
                self.notable.append(r)

    @property
    def results(self) -> int:
        return sum(self.outcomes.values())

    def summary(self) -> dict[str, int]:
        return summary_of(Counter({o.value: n for o, n in self.outcomes.items()}))

    def failed(self, strict: bool) -> bool:
        """As run_failed: a FAIL or ERROR, or (strict) an unexpected pass."""
        return any(n and (o.failed or (strict and o is Outcome.XPASS)) for o, n in self.outcomes.items())

    def nothing_checked(self) -> bool:
        return not any(counts.get(Outcome.PASS) for chk, counts in self.per_check.items() if chk != RECORD_CHECK)


def print_trace_terminal(tally: Tally, console: Console, elapsed: float, title: str, traces: int) -> None:
    """Checks x outcomes (a store has too many traces for a checks x cases matrix), then what did not pass."""
    per = tally.per_check
    shown = [o for o in Outcome if any(c.get(o) for c in per.values())]
    table = Table(title=title, title_justify="left")
    table.add_column("check", style="bold", no_wrap=True)
    for o in shown:
        word, _, style = STYLE[o]
        table.add_column(Text(word, style=style), justify="right")
    for chk, counts in per.items():
        table.add_row(chk, *[str(counts.get(o, 0) or "·") for o in shown])
    console.print(table)
    for r in tally.notable:
        word, _, style = STYLE[r.outcome]
        console.print(Text.assemble((f"{word:<12}", style), f" {r.check}[{r.case}]: ", (r.reason, "")), soft_wrap=True)
    if tally.notable_total > len(tally.notable):
        console.print(f"… and {tally.notable_total - len(tally.notable)} more not passing (all in the JSON report)")
    parts = [f"{n} {k.lower()}" for k, n in tally.summary().items() if n]
    console.print(f"[bold]{', '.join(parts)}[/bold] over {traces} traces in {elapsed:.1f}s ({tally.results} results)")


@dataclass
class TracePlan:
    """A trace run ready to go: every usage error is raised before one result is written."""
    source: str
    kind: str
    session: str | None
    mapping: Any
    tok: Any
    rows: Iterator[Row]
    checks: list[str]
    select: Selection | None
    started: float
    read: int = 0


def prepare_trace(source: str, *, mapping_name: str, tokenizer: str, session: str | None, checks: list[str] | None,
                  api_key: str | None, select: str | None = None) -> TracePlan:
    """UsageError for bad input, including a source whose first record cannot be fetched at all
    (a gateway URL that cannot list its sessions)."""
    from conformance.checking.client_tokenizer import Tokenizer
    from conformance.trace.mapping import load_mapping
    from conformance.redact import register, secrets_in_url
    from conformance.trace.sources import open_source

    register(api_key, *secrets_in_url(source))  # the gateway's key and a URL's password: in no output
    started = time.monotonic()
    mapping = load_mapping(mapping_name)
    chosen = selected_checks(checks)
    if checks and not chosen:
        raise UsageError(f"--check {checks} selects no check; the checks: {', '.join(TRACE_CHECKS)}")
    selection = parse(select, TRACE_CHECKS)
    if selection and "[" not in select and not any(selection.matches(c, None) for c in chosen):
        raise UsageError(f"-k {select!r} selects no trace check (`tokconf list` prints them)")
    kind, rows = open_source(source, session, api_key, mapping.fields.get("time"))
    first = next(rows, None)
    check_first_row(source, kind, session, first)
    check_mapping_fits(source, mapping, first)
    rows = chain([first], rows)
    return TracePlan(source, kind, session, mapping, Tokenizer.load(tokenizer), rows, chosen, selection, started)


def check_first_row(source: str, kind: str, session: str | None, first) -> None:
    """A source with no trace at all, or whose very first record is unreadable, is the wrong input
    (an empty file, a binary one, a session that is not there): one line and exit 2, not a run of
    ERRORs blamed on the data. A bad record further on stays an ERROR of its own."""
    if first is None:
        if session:
            raise UsageError(f"--session {session!r}: no such session in {source} (or it holds no trace)")
        raise UsageError(f"{source} holds no trace (an empty {'file' if kind == 'jsonl' else 'store'})")
    if first.record is None and first.error:
        if kind == "jsonl":
            raise UsageError(f"{source} is not JSONL: {first.where}: {first.error}")
        if session and kind == "gateway-http":
            raise UsageError(f"--session {session!r}: {first.where}: {first.error}")


ID_FIELDS = ("prompt_ids", "completion_ids")  # what the trace is checked for


def check_mapping_fits(source: str, mapping, first) -> None:
    """A mapping that finds neither id field in the first record does not fit the source
    (a store read with another store's mapping): one line and exit 2, not a FAIL per record that
    blames the data."""
    from conformance.dialects.paths import MISSING

    record = first.record
    if record is None:
        return
    mapped = [f for f in ID_FIELDS if f in mapping.fields]
    if not mapped or any(mapping.get(record, f) is not MISSING for f in mapped):
        return
    where = ", ".join(f"{f} at {mapping.fields[f]!r}" for f in mapped)
    keys = ", ".join(sorted(map(str, record))[:12]) if isinstance(record, dict) else type(record).__name__
    raise UsageError(f"mapping {mapping.name!r} finds no ids in the first record of {source} ({where}; "
                     f"the record has: {keys}): pass the mapping that fits it (--mapping rllm-gateway, generic, "
                     f"or your YAML)")


def trace_results(plan: TracePlan, progress: Callable[[int], None] | None = None) -> Iterator[Result]:
    def count(n: int) -> None:
        plan.read = n
        if progress and n % 500 == 0:
            progress(n)

    return run_traces(plan.rows, plan.tok, plan.mapping, plan.checks, on_trace=count, select=plan.select)


def trace_run_info(plan: TracePlan, argv: list[str], elapsed: float) -> dict[str, Any]:
    return {
        "command": "trace",
        "engine": None,
        "base_url": plan.source if plan.kind == "gateway-http" else None,
        "source": plan.source,
        "source_kind": plan.kind,
        "session": plan.session,
        "mapping": plan.mapping.name,
        "mapping_file": plan.mapping.source,
        "dialect": f"trace mapping {plan.mapping.name}",
        "tokenizer": plan.tok.source,
        "traces": plan.read,
        **provenance(argv),
        "elapsed": round(elapsed, 3),
    }


def run_trace(source: str, *, mapping_name: str, tokenizer: str, session: str | None, checks: list[str] | None,
              api_key: str | None, argv: list[str], progress=None,
              select: str | None = None) -> tuple[dict[str, Any], list[Result], float, int]:
    """In memory, for a library caller and tests: (report document, results, elapsed, traces read).
    The command streams instead (stream_trace)."""
    plan = prepare_trace(source, mapping_name=mapping_name, tokenizer=tokenizer, session=session, checks=checks,
                         api_key=api_key, select=select)
    results = list(trace_results(plan, progress))
    elapsed = time.monotonic() - plan.started
    return build_report(results, trace_run_info(plan, argv, elapsed)), results, elapsed, plan.read


def stream_trace(plan: TracePlan, results: Iterator[Result], *, argv: list[str], extra_info: dict[str, Any],
                 outputs: dict[str, Path | None]) -> tuple[Tally, float]:
    """Each result to the JSON report as it comes (to a temporary file when only the other formats
    are asked for: they are rendered from it after the run, and need the whole document), counted
    in a Tally, then dropped."""
    json_path = outputs.get("json")
    rest = {name: path for name, path in outputs.items() if name != "json" and path}
    others = bool(rest)
    scratch = None
    target: Path | str | None = json_path
    if others and (json_path is None or is_stdout(json_path)):
        scratch = Path(tempfile.mkdtemp(prefix="tokconf-trace-")) / "report.json"
        target = scratch
    report = StreamedReport(target) if target is not None else None
    tally = Tally()
    try:
        for r in results:
            tally.add(r)
            if report:
                report.add(r)
    except BaseException:
        if report:
            report.abandon()
        raise
    elapsed = time.monotonic() - plan.started
    if report:
        report.close({**trace_run_info(plan, argv, elapsed), **extra_info}, tally.summary())
    if scratch is not None:
        if json_path is not None:  # `--json -` with another format: the document goes to stdout whole
            sys.stdout.write(scratch.read_text(encoding="utf-8"))
            sys.stdout.flush()
    if others:
        write_outputs(load_report(scratch or json_path), rest)
    if scratch is not None:
        scratch.unlink()
        scratch.parent.rmdir()
    return tally, elapsed


def terminal_console(json_path: Path | None) -> Console:
    """stdout, unless the JSON report goes there (`--json -`): then stderr, as for verify."""
    from conformance.session.console import err, out

    return err if is_stdout(json_path) else out()
