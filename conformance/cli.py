"""The `tokconf` command line: a thin layer. Every command that launches or attaches runs through
conformance.session (shared options, launch or attach, preflight, secrets, exit codes)."""
from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape

from conformance import __version__
from conformance.errors import UsageError
from conformance.reporting.document import build_report, write_json
from conformance.reporting.sink import check_outputs
from conformance.resources import default_cases
from conformance.session import options as o
from conformance.session.console import err, out
from conformance.session.exits import EXIT_FAILED, EXIT_OK, CommandGroup, guard, raise_on_sigterm, run_command
from conformance.session.launch import attach_preflight, engine_session, run_dir as new_run_dir
from conformance.session.options import SessionOptions
from conformance.session.plan import make_plan
from conformance.pipeline.inputs import load_inputs, load_selection, start_tokenizer
from conformance.pipeline.outputs import output_flags, report_outputs
from conformance.reporting.formats import formats as report_formats


def _version_callback(value: bool) -> None:
    if value:
        print(__version__)
        raise typer.Exit()


app = typer.Typer(
    cls=CommandGroup,  # SIGINT / SIGTERM: 130 / 143 from any command, at any point (session.exits)
    help="Conformance checks for token-in / token-out behaviour of LLM inference engines.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,  # locals in tracebacks could show an API key
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def _main(version: Annotated[bool, typer.Option("--version", callback=_version_callback, is_eager=True,
                                                help="Print tokconf's version and exit.")] = False):
    """Conformance checks for token-in / token-out behaviour of LLM inference engines."""


def main() -> None:
    """The `tokconf` command: this process launches engines only as subprocesses, so it loads
    transformers without torch (conformance.checking.client_tokenizer.WITHOUT_TORCH), and it keeps
    what transformers answered about a model directory (conformance.checking.client_cache)."""
    from conformance.checking import client_cache, client_tokenizer

    client_tokenizer.WITHOUT_TORCH = True
    client_cache.ROOT = client_cache.default_root()
    run_command(app)


@app.command()
@o.session_options(*o.LAUNCH, "select")
@report_outputs
def verify(
    session: SessionOptions,
    outputs: dict,
    replay: Annotated[Optional[Path], typer.Option(help="Run the catalogue on a recording (a --record file, or a shipped one) instead of a server: nothing is launched or sent.")] = None,
    run_timeout: Annotated[float, typer.Option(help="Seconds one pass of the checks may take once the engine is ready; past it nothing more is sent and what is in flight is cut (ERROR).")] = 900.0,
    repeat: Annotated[int, typer.Option(help="Run every check this many times, each pass with fresh requests; a result that differs between passes is reported as intermittent.")] = 1,
    record: Annotated[Optional[Path], typer.Option(help="Also save every exchange (request and raw response) to this JSONL file (replay it with --replay).")] = None,
    baseline: Annotated[Optional[str], typer.Option(help="Key paths recorded from the unpatched engine (tokconf baseline record): a file, or a shipped baseline's name (vllm-0.32.0-cpu); vanilla.baseline compares against them.")] = None,
    expectations: Annotated[Optional[str], typer.Option(help="Expectation file (YAML), or a shipped one's name (vllm-0.32.0-cpu): checks this engine is known to fail or to fail intermittently.")] = None,
    strict: Annotated[bool, typer.Option("--strict/--no-strict", help="With --expectations: an unexpected pass (XPASS) fails the run.")] = True,
):
    """Launch an engine (or attach to one, or replay a recording), run the checks over the cases, and report."""
    from conformance.pipeline.verify import VerifyOptions, run_verify

    raise_on_sigterm()
    code = run_verify(session, VerifyOptions(replay=replay, outputs=outputs, run_timeout=run_timeout, repeat=repeat,
                                             record=record, baseline=baseline, expectations=expectations, strict=strict))
    if code:
        raise typer.Exit(code)


@app.command()
@o.session_options(*o.LAUNCH, "select")
def selftest(
    session: SessionOptions,
    faults: Annotated[Optional[str], typer.Option(help="Only these faults (comma-separated names). Default: every shipped fault.")] = None,
    json_path: Annotated[Optional[Path], typer.Option("--json", help="Write the self-test report (JSON) here ('-': stdout).")] = None,
    baseline: Annotated[Optional[str], typer.Option(help="Key-path baseline of the unpatched engine (a file or a shipped name): without it, faults only the baseline check sees go undetected.")] = None,
    expectations: Annotated[Optional[str], typer.Option(help="Expectation file or shipped name: a clean-round FAIL it declares (a known engine finding) is not a false alarm.")] = None,
):
    """Prove the checks bite on a real target: a fault-injecting proxy mutates its token-id
    responses one fault at a time; report each fault's detection (the mutation score) and a
    clean round through the proxy (no false alarm). Exit 0 only if every applicable fault is
    caught and the clean round passes."""
    from conformance.inputs.expectations import apply_expectations
    from conformance.pipeline.prepare import named_inputs, prepare_live
    from conformance.running.target import Target
    from conformance.selftest import run_selftest
    from conformance.selftest.faults import FAULTS
    from conformance.selftest.summary import print_selftest
    from conformance.session.console import status_progress
    from conformance.wire.transport import Sender

    raise_on_sigterm()
    opts = session
    base_url, report_dir, request_timeout, concurrency, api_key = session.base_url, session.report_dir, session.request_timeout, session.concurrency, session.api_key
    names = [f.strip() for f in faults.split(",")] if faults else list(FAULTS)

    def vet(dial) -> None:
        if dial.side_fetch:  # its faults mutate responses: a side channel's ids never pass through them
            raise UsageError(f"selftest injects faults into the server's responses; dialect {dial.name} reads its ids "
                             f"from a side channel (GET {dial.side_fetch}), not from them")

    with guard() as g:
        check_outputs(report_dir, **{"--json": json_path})
        unknown = [n for n in names if n not in FAULTS]
        if unknown:
            raise UsageError(f"unknown fault(s) {', '.join(unknown)}; shipped: {', '.join(FAULTS)}")
        baseline_path, expectations_path = named_inputs(baseline, expectations)
        ready = prepare_live(opts, g, baseline=baseline_path, expectations=expectations_path, vet=vet)
        plan, dial, case_list, baseline_doc = ready.plan, ready.dialect, ready.cases, ready.baseline
        expected, selection, tok = ready.expected, ready.selection, ready.tokenizer
        run_folder = new_run_dir(report_dir, f"selftest-{plan.label}")
        chosen = [FAULTS[n] for n in names]
        with engine_session(plan, run_folder, {}) as endpoint:
            upstream = Sender(endpoint.base_url, api_key=api_key, timeout=request_timeout, concurrency=concurrency)
            try:
                with err.status("self-test…") as status:
                    rep = run_selftest(upstream, Target(dial, tok, None, plan.served, baseline=baseline_doc,
                                                              fleet_size=opts.fleet_size), case_list,
                                       chosen, select=selection, concurrency=concurrency,
                                       progress=status_progress(status, plan.secrets.values))
            finally:
                upstream.close()
            death = endpoint.death("during the self-test")
            if death:
                raise death

    if expected:  # a clean-round FAIL the file declares is the engine's known finding, not a false alarm
        rep.clean = apply_expectations(rep.clean, expected)[0]
    target = plan.engine.name if plan.engine else base_url
    doc = {"tokconf_version": __version__, "target": target, "dialect": dial.name, **rep.to_json()}
    write_json(doc, run_folder / "selftest.json")
    if json_path:
        write_json(doc, json_path)
    print_selftest(rep, err if str(json_path) == "-" else out(), f"tokconf selftest: {target} / dialect {dial.name}")
    err.print(f"report: {run_folder / 'selftest.json'}", highlight=False)
    if not rep.ok:
        raise typer.Exit(EXIT_FAILED)


@app.command()
def probe(
    base_url: Annotated[str, typer.Option(help="The running server to probe.")],
    model: Annotated[str, typer.Option(help="The served model name (and the tokenizer path unless --tokenizer).")],
    tokenizer: Annotated[Optional[str], typer.Option(help="Tokenizer path, to render prompts for token-in dialects (/generate, Miles). Default: --model.")] = None,
    cases: Annotated[Optional[Path], typer.Option(help="Cases file; the probe sends its first case. Default: the bundled cases.")] = None,
    api_key: o.ApiKey = None,
    request_timeout: o.RequestTimeout = 60.0,
    json_path: Annotated[Optional[Path], typer.Option("--json", help="Also write the findings here as JSON ('-': stdout).")] = None,
):
    """Find which token-id dialects a running server speaks, and print the verify command to run."""
    import shlex

    from conformance.running.probe import probe as run_probe
    from conformance.inputs.cases import load_cases
    from conformance.wire.transport import Sender

    raise_on_sigterm()
    opts = SessionOptions.pick(locals())
    with guard() as g:
        plan = make_plan(opts)
        g.secrets = plan.secrets
        case_list = load_cases(cases or default_cases())
        if not case_list:
            raise UsageError("the cases file has no case to probe with")
        attach_preflight(plan)
        tok = None
        try:
            tok = start_tokenizer(tokenizer or model)
        except UsageError as exc:
            if tokenizer:
                raise
            err.print(f"[yellow]no tokenizer at --model ({escape(str(exc))}); token-in dialects are not tried[/yellow]")
        with engine_session(plan, Path("."), {}) as endpoint:
            sender = Sender(endpoint.base_url, api_key=api_key, timeout=request_timeout, concurrency=4)
            try:
                result = run_probe(sender, model, case_list[0], tok)
            finally:
                sender.close()
    console = err if str(json_path) == "-" else out()
    console.print(f"probing {base_url} (model {model}, case {case_list[0].id}): one request per dialect", highlight=False, markup=False)
    for f in sorted(result.findings, key=lambda f: (not f.speaks, f.dialect)):
        mark = "[green]speaks[/green]" if f.speaks else "[dim]no[/dim]    "
        console.print(f"  {mark}  [bold]{f.dialect:<22}[/bold] {escape(f.detail)}", highlight=False)
    if result.vanilla:
        console.print("without an opt-in the server sends:", highlight=False)
        for note in result.vanilla:
            console.print(f"  {note}", highlight=False, markup=False)
    spoken = result.spoken
    quoted = [shlex.quote(a) for a in (base_url, model)]
    extra = f" --tokenizer {shlex.quote(tokenizer)}" if tokenizer else ""
    if spoken:
        console.print("run:", highlight=False)
        for f in spoken:
            console.print(f"  tokconf verify --base-url {quoted[0]} --model {quoted[1]}{extra} --dialect {f.dialect}",
                          highlight=False, markup=False)
    else:
        console.print("[yellow]no shipped dialect's ids came back: the server may not expose token ids, or speaks a "
                      "dialect tokconf does not ship (write a profile: see `tokconf dialects`)[/yellow]")
    if json_path:
        write_json({
            "base_url": base_url, "model": model, "case": case_list[0].id,
            "spoken": [f.dialect for f in spoken], "vanilla": result.vanilla,
            "findings": [{"dialect": f.dialect, "speaks": f.speaks, "detail": f.detail, **(f.request or {})}
                         for f in result.findings]}, json_path)
    raise typer.Exit(EXIT_OK if spoken else EXIT_FAILED)


@app.command()
def version():
    """Print tokconf's version."""
    print(__version__)


@app.command("trace")
@report_outputs
def trace_cmd(
    source: Annotated[str, typer.Argument(help="Stored rollouts: an rllm-model-gateway SQLite store, its URL (http://HOST:PORT: every session, or --session), or a JSONL file.", show_default=False)],
    tokenizer: Annotated[str, typer.Option(help="The policy's tokenizer (a local path): decodes the ids and renders the client template.")],
    mapping: Annotated[str, typer.Option(help="Where each field sits in a record: rllm-gateway (default), generic, or your YAML file.")] = "rllm-gateway",
    session: Annotated[Optional[str], typer.Option(help="Only this session (a gateway store or URL).")] = None,
    check: Annotated[Optional[list[str]], typer.Option("--check", help="Only this check id or prefix (repeatable), e.g. --check session.prefix.")] = None,
    select: o.Select = None,
    expectations: Annotated[Optional[Path], typer.Option(help="Expectation file (YAML): checks known to fail, per check id and case (session/turn).")] = None,
    strict: Annotated[bool, typer.Option("--strict/--no-strict", help="With --expectations: an unexpected pass (XPASS) fails the run.")] = True,
    api_key: Annotated[Optional[str], typer.Option(envvar="TOKCONF_GATEWAY_KEY", show_default=False, help="Bearer token for the gateway URL (never printed or saved).")] = None,
    outputs: dict = None,
):
    """Verify recorded rollouts, the ids training reads: completion ids decode to the stored reply,
    prompt ids are the client template of the stored messages, counts and logprobs line up, the
    finish reason agrees with the ids, and each turn of a session extends the last (TITO).
    Exit 0 when all pass, 1 on a FAIL or ERROR (or nothing checked), 2 on bad input."""
    from conformance.inputs.expectations import apply_each, load_expectations
    from conformance.redact import redact_argv, redact_text
    from conformance.trace.command import prepare_trace, print_trace_terminal, stream_trace, terminal_console, trace_results

    try:
        check_outputs(**output_flags(outputs))
        expected = load_expectations(expectations) if expectations else []
        with err.status("reading traces…") as status:
            plan = prepare_trace(source, mapping_name=mapping, tokenizer=tokenizer, session=session, checks=check,
                                 api_key=api_key, select=select)
            used: set[str] = set()
            results = trace_results(plan, progress=lambda n: status.update(f"reading traces… {n}"))
            tally, elapsed = stream_trace(
                plan, apply_each(results, expected, used) if expected else results,
                argv=redact_argv(["tokconf", *sys.argv[1:]], [api_key]),
                extra_info={"expectations": str(expectations)} if expected else {},
                outputs=outputs)
    except UsageError as exc:
        from conformance.session.exits import usage_exit

        raise usage_exit(redact_text(str(exc), [api_key])) from None
    for exp in expected:
        if exp.label not in used:
            err.print(f"[yellow]expectation {escape(exp.label)} matched no result (stale, or a mistyped id)[/yellow]")
    print_trace_terminal(tally, terminal_console(outputs.get("json")), elapsed,
                         f"tokconf trace: {source} / mapping {plan.mapping.name}", plan.read)
    if tally.failed(strict):
        raise typer.Exit(EXIT_FAILED)
    if tally.nothing_checked():
        err.print("[yellow]nothing passed: no trace could be checked[/yellow]")
        raise typer.Exit(EXIT_FAILED)


JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON (for scripts) instead of text.")]


def _print_json(data) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


@app.command("list")
def list_checks(as_json: JsonFlag = False):
    """Every check with its id, what it needs, and its description: `verify`'s catalogue, then
    the checks `tokconf trace` runs on stored rollouts."""
    from conformance.checking.catalog import load_catalog
    from conformance.trace.checks import TRACE_CHECKS

    with guard():
        infos = load_catalog()
    if as_json:
        _print_json([{"id": i.id, "command": "verify", "requires": list(i.requires), "reads": list(i.needs),
                      "case_tags": list(i.case_tags), "model_output": i.model_output,
                      "description": " ".join(i.description.split()),
                      "caught_by": [proof.to_json() for proof in i.caught_by]} for i in infos]
                    + [{"id": t.id, "command": "trace", "reads": _trace_reads(t),
                        "description": " ".join(t.description.split())} for t in TRACE_CHECKS.values()])
        return
    console = out()
    for info in infos:
        needs = ", ".join(info.requires) or "-"
        console.print(f"[bold]{info.id}[/bold]  [dim]requires: {needs}; reads: {', '.join(info.needs)}[/dim]")
        console.print(f"    {' '.join(info.description.split())}", highlight=False)
    console.print("\n[bold]tokconf trace[/bold] (checks on stored rollouts; `tokconf trace -k ID` selects them)")
    for chk in TRACE_CHECKS.values():
        console.print(f"[bold]{chk.id}[/bold]  [dim]reads: {_trace_reads(chk)}[/dim]")
        console.print(f"    {' '.join(chk.description.split())}", highlight=False)


def _trace_reads(chk) -> str:
    return "two turns of a session" if chk.pair else "one trace and every earlier one" if chk.store else "one trace"


@app.command("cases")
def list_cases(cases: o.Cases = None, as_json: JsonFlag = False):
    """The cases (bundled, or --cases FILE): id, tags, sampling params, and the checks that apply."""
    from conformance.checking.catalog import load_catalog
    from conformance.inputs.cases import load_cases

    with guard():
        case_list = load_cases(cases or default_cases())
        infos = load_catalog()
    rows = [{"id": c.id, "tags": sorted(c.tags), "params": c.params, "tools": [t.get("function", {}).get("name")
             for t in c.tools or []], "turns": 1 + bool(c.followup),
             "checks": [i.id for i in infos if i.applies_to(c)]} for c in case_list]
    if as_json:
        _print_json(rows)
        return
    console = out()
    for row in rows:
        params = ", ".join(f"{k}={v}" for k, v in row["params"].items())
        console.print(f"[bold]{row['id']}[/bold]  [dim]{params}[/dim]", highlight=False)
        extra = (f"tags: {', '.join(row['tags'])}    " if row["tags"] else "") + \
                (f"tools: {', '.join(filter(None, row['tools']))}    " if row["tools"] else "")
        console.print(f"    {extra}checks: {len(row['checks'])}", highlight=False, markup=False)


@app.command()
def dialects(
    as_json: JsonFlag = False,
    validate: Annotated[Optional[Path], typer.Option(help="Check your own profile file against the schema and the feature registry: one line and exit 2 if it is wrong.")] = None,
):
    """The shipped dialect profiles and the features each declares."""
    from conformance.dialects import builtin_names, describe_request, load_dialect

    if validate is not None:
        with guard():
            d = load_dialect(str(validate))
        err.print(f"{validate}: valid dialect {d.name!r} (features: {', '.join(sorted(d.features)) or 'none'})",
                  highlight=False, markup=False)
        return
    with guard():
        loaded = [load_dialect(name) for name in builtin_names()]
    if as_json:
        _print_json([{"name": d.name, "title": d.title, "endpoint": d.endpoint, "request": describe_request(d)[1],
                      "stream_mode": d.stream_mode, "token_in": d.token_in, "unrequested": d.unrequested,
                      "n": d.n, "features": sorted(d.features), "variants": list(d.raw.get("variants") or {})}
                     for d in loaded])
        return
    console = out()
    console.print("[dim]token-id dialects: pass a name (NAME:VARIANT for a server-flag variant) or your own "
                  "profile file to --dialect[/dim]")
    for d in loaded:
        where, asks = describe_request(d)
        variants = ", ".join(f"{d.name}:{v}" for v in (d.raw.get("variants") or {}))
        console.print(f"[bold]{d.name}[/bold]  {d.title}", highlight=False)
        console.print(f"    request:  {where}; " + (f"ids with {asks}" if asks != "always on" else "ids always on"), highlight=False, markup=False)
        console.print(f"    stream:   {d.stream_mode}    token-in: {d.token_in or '-'}    unrequested ids: "
                      f"{'null' if d.unrequested is None else d.unrequested}" + (f"    variants: {variants}" if variants else ""), highlight=False, markup=False)
        console.print(f"    features: {', '.join(sorted(d.features))}", highlight=False, markup=False)


def _format_choices() -> list[str]:
    return ["terminal", *report_formats()]


@app.command("report")
def report_cmd(
    run: Annotated[Path, typer.Argument(help="A stored JSON report (reports/<run>/results.json or --json output).")],
    fmt: Annotated[str, typer.Option("--format", "-f", help=f"One of: {', '.join(_format_choices())}.")] = "terminal",
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write here instead of stdout.")] = None,
):
    """Re-render a stored report to the terminal or another format (Markdown, HTML, JUnit XML, ...)."""
    from conformance.reporting.document import load_report, print_report
    from conformance.reporting.formats import get_format
    from conformance.reporting.sink import is_stdout, write_text

    with guard():
        if fmt not in _format_choices():
            raise UsageError(f"unknown --format {fmt!r}; one of {', '.join(_format_choices())}")
        check_outputs(**{"--output": output})
        doc = load_report(run)
    if fmt == "terminal":
        if output and not is_stdout(output):
            from rich.console import Console

            from conformance.redact import RedactingStream

            with RedactingStream(open(output, "w", encoding="utf-8")) as fh:
                print_report(doc, Console(file=fh, width=160, soft_wrap=True))
        else:
            print_report(doc, out())
        return
    write_text(output or "-", get_format(fmt).render(doc))
    if output and not is_stdout(output):
        err.print(f"wrote {output}", highlight=False)


@app.command()
@o.session_options("cases", "select", "report_dir", "engine_arg", "engine_env", "engine_python", "startup_timeout", "request_timeout", "concurrency", "api_key")
def compare(
    session: SessionOptions,
    reports: Annotated[Optional[list[Path]], typer.Argument(help="Two stored JSON reports: OLD NEW (e.g. last night's, tonight's).", show_default=False)] = None,
    target: Annotated[Optional[list[str]], typer.Option(help="A target as key=value pairs (repeatable): name=...,base_url=...|engine=...|recording=...,dialect=...,model=...,tokenizer=...")] = None,
    targets: Annotated[Optional[Path], typer.Option(help="YAML/JSON file listing targets (same keys as --target).")] = None,
    json_path: Annotated[Optional[Path], typer.Option("--json", help="Write the comparison as JSON here ('-': stdout).")] = None,
    markdown: Annotated[Optional[Path], typer.Option(help="Write the comparison as Markdown here (also appended to $GITHUB_STEP_SUMMARY when set; '-': stdout).")] = None,
    html: Annotated[Optional[Path], typer.Option(help="Several targets: write a self-contained HTML page here (id divergences side by side; '-': stdout).")] = None,
):
    """Compare two stored reports (exit 1 on a regression), or run the same cases against several
    targets and show a checks x targets matrix with per-case id agreement (exit 1 if ids disagree
    or a check fails on a target). --engine-arg/--engine-env go to every launched target; --api-key
    to every target without its own api_key_env."""
    from conformance.session.secrets import Secrets

    raise_on_sigterm()
    shared = session
    cases, select, report_dir, api_key = session.cases, session.select, session.report_dir, session.api_key
    with guard(Secrets.collect(api_key, argv=shared.engine_arg)) as g:
        check_outputs(report_dir, **{"--json": json_path, "--markdown": markdown, "--html": html})
        if reports and (target or targets):
            raise UsageError("give either two reports or --target/--targets, not both")
        if reports:
            if len(reports) != 2:
                raise UsageError("compare takes exactly two reports: OLD NEW")
            _compare_reports(reports[0], reports[1], json_path, markdown)
            return
        from conformance.comparing.target_specs import check_unique, load_targets, parse_target
        from conformance.comparing.targets import plan_target
        from conformance.inputs.cases import load_cases

        specs = check_unique([parse_target(t) for t in target or []] + (load_targets(targets) if targets else []))
        case_list = load_cases(cases or default_cases())
        selection = load_selection(select, case_list)
        plans = [plan_target(spec, shared) for spec in specs]  # every target checked before any starts
        for plan in plans:
            if plan is not None:
                g.secrets.add(*plan.secrets.values)
        from conformance.comparing.targets import agreement, compare_document, disagreements, run_target
        from conformance.progress import run_progress
        from conformance.reporting.compare_view import print_targets

        run_folder = new_run_dir(report_dir, "compare")
        runs = []
        for spec, plan in zip(specs, plans):
            err.print(f"[bold]{escape(spec.name)}[/bold] ({spec.kind})")
            with run_progress(err) as progress:
                run = run_target(spec, plan, case_list, selection, run_dir=run_folder, progress=progress.note,
                                 run_progress=progress)
            write_json(build_report(run.results, run.run_info), run_folder / spec.name / "results.json")
            runs.append(run)
    doc = compare_document(runs, agreement(runs, case_list))
    write_json(doc, run_folder / "compare.json")
    if json_path:
        write_json(doc, json_path)
    if markdown:
        from conformance.reporting.compare_markdown import targets_markdown
        from conformance.reporting.markdown import publish

        publish(targets_markdown(doc), markdown)
    if html:
        from conformance.reporting.compare_html import render_compare_html
        from conformance.reporting.sink import write_text

        write_text(html, render_compare_html(doc))
    print_targets(doc, err if "-" in {str(json_path), str(markdown), str(html)} else out())
    err.print(f"reports: {run_folder}", highlight=False)
    failing = [f"{r.spec.name}: {x.check}[{x.case}] {x.outcome.value}" for r in runs for x in r.results if x.outcome.failed]
    differ = disagreements(doc["agreement"])
    for line in differ + failing:
        err.print(f"[red]{escape(line)}[/red]", highlight=False)
    if differ or failing:
        raise typer.Exit(EXIT_FAILED)


def _compare_reports(old_path: Path, new_path: Path, json_path: Optional[Path], markdown: Optional[Path]) -> None:
    from conformance.reporting.comparison import compare_reports
    from conformance.reporting.compare_view import print_comparison
    from conformance.reporting.document import load_report

    cmp = compare_reports(load_report(old_path), load_report(new_path))
    print_comparison(cmp, err if "-" in {str(json_path), str(markdown)} else out(), str(old_path), str(new_path))
    if json_path:
        write_json({"format": "tokconf-report-diff", "old": str(old_path), "new": str(new_path), **cmp.to_json()}, json_path)
    if markdown:
        from conformance.reporting.compare_markdown import comparison_markdown
        from conformance.reporting.markdown import publish

        publish(comparison_markdown(cmp, str(old_path), str(new_path)), markdown)
    for c in cmp.regressions:
        err.print(f"[bold red]regression:[/bold red] {escape(f'{c.label}: {c.before} → {c.after}: {c.reason}')}", highlight=False)
    if cmp.regressions:
        raise typer.Exit(EXIT_FAILED)


baseline_app = typer.Typer(help="Key-path baselines of an unpatched engine's vanilla responses.", no_args_is_help=True)
app.add_typer(baseline_app, name="baseline")


@baseline_app.command("record")
@o.session_options(*o.LAUNCH)
def baseline_record(
    session: SessionOptions,
    name: Annotated[str, typer.Argument(help="Baseline name: writes OUT_DIR/NAME.json.")],
    out_dir: Annotated[Path, typer.Option(help="Where the baseline is written (default: the current folder; never the shipped fixtures/baselines unless you say so).")] = Path("."),
):
    """Send every case as a vanilla client would (no id opt-in) to an unpatched engine and write
    the key paths of its responses and stream chunks, for `verify --baseline`."""
    from conformance.running.baseline import build_baseline
    from conformance.wire.store import LiveStore
    from conformance.wire.transport import Sender

    raise_on_sigterm()
    opts = session
    base_url, report_dir, request_timeout, concurrency, api_key = session.base_url, session.report_dir, session.request_timeout, session.concurrency, session.api_key
    with guard() as g:
        from conformance.inputs.baseline import baseline_file

        path = baseline_file(out_dir, name)  # before the run: a bad name or --out-dir costs no engine start
        check_outputs(report_dir, **{"--out-dir": out_dir})
        plan = make_plan(opts)
        g.secrets = plan.secrets
        # only vanilla bodies are built: no opt-in, so the engine's own dialect is all it needs
        dial, case_list, _, _ = load_inputs(opts, plan.default_dialect)
        info = {"engine": plan.engine.name if plan.engine else None, "base_url": base_url, "model": plan.model_path,
                "recorded_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                "tokconf_version": __version__}
        with engine_session(plan, new_run_dir(report_dir, f"baseline-{plan.label}"), info) as endpoint:
            sender = Sender(endpoint.base_url, api_key=api_key, timeout=request_timeout, concurrency=concurrency)
            try:
                doc = build_baseline(LiveStore(sender), case_list, dial, plan.served, name, info)
            except Exception as exc:  # an exchange that failed: no baseline rather than a partial one
                err.print(f"[red]could not record the baseline:[/red] {escape(plan.secrets.text(str(exc)))}")
                raise typer.Exit(EXIT_FAILED)
            finally:
                sender.close()
    from conformance.reporting.sink import write_text

    write_text(path, json.dumps(doc, indent=1, ensure_ascii=False) + "\n")
    paths = sum(len(v) for c in doc["cases"].values() for v in c.values())
    err.print(f"baseline {name}: {len(doc['cases'])} cases, {paths} key paths -> {path}", highlight=False)
