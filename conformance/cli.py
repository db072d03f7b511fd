"""The `tokconf` command line."""
from __future__ import annotations

import datetime as dt
import json
import os
import platform
import signal
import sys
import time
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.markup import escape

from conformance import __version__
from conformance.inputs.cases import load_cases
from conformance.dialects import load_dialect
from conformance.engines import get_engine
from conformance.engines.info import engine_version
from conformance.engines.base import EngineOptions, launch_notes
from conformance.engines.overlays import Overlay, confirm_applied, resolve_overlay
from conformance.inputs.baseline import load_baseline
from conformance.errors import EngineError, UsageError
from conformance.inputs.expectations import apply_expectations, load_expectations, run_failed
from conformance.engines.launch import RunningEngine
from conformance.outcomes import Outcome
from conformance.redact import redact_argv, redact_text, secrets_in_argv
from conformance.reporting.document import build_report, print_terminal, write_json
from conformance.reporting.outputs import write_outputs
from conformance.resources import default_cases, fixture_model

app = typer.Typer(
    help="Conformance checks for token-in / token-out behaviour of LLM inference engines.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,  # locals in tracebacks could show an API key
    context_settings={"help_option_names": ["-h", "--help"]},
)
err = Console(stderr=True)


def _out() -> Console:
    """stdout console; wide when it is a file or a CI log, so tables are not truncated."""
    return Console() if sys.stdout.isatty() else Console(width=160)

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_ENGINE = 0, 1, 2, 3
DEFAULT_SERVED_NAME = "tiny-chat"


class Terminated(KeyboardInterrupt):
    """SIGTERM, unwinding like Ctrl-C (through every finally) so the engine is torn down."""


def _raise_on_sigterm() -> None:
    # SIGTERM (CI cancelling the job) unwinds like Ctrl-C, so the engine is torn down.
    def handler(signum, frame):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second TERM must not cut the teardown short
        raise Terminated(f"signal {signum}")

    signal.signal(signal.SIGTERM, handler)


def _run_dir(report_dir: Path, label: str) -> Path:
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = report_dir / f"{stamp}-{label}"
    n = 1
    while path.exists():
        n += 1
        path = report_dir / f"{stamp}-{label}-{n}"
    path.mkdir(parents=True)
    return path


@app.command()
def verify(
    engine: Annotated[Optional[str], typer.Option(help="Engine to launch (vllm, sglang). Default: vllm, unless --base-url is given.")] = None,
    engine_cmd: Annotated[Optional[str], typer.Option(help="Launch any engine or fork from this command line (split into arguments, never run by a shell; placeholders {port} {model} {served_model} {python}). Needs --ready-url.")] = None,
    ready_url: Annotated[Optional[str], typer.Option(help="With --engine-cmd: the URL that answers 200 once the engine is ready, e.g. http://127.0.0.1:{port}/health.")] = None,
    model: Annotated[Optional[str], typer.Option(help="Model directory to serve; with --base-url, the served model name. Default: the bundled fixtures/tiny-chat.")] = None,
    served_model_name: Annotated[Optional[str], typer.Option(help="Name the launched engine serves the model under.")] = None,
    base_url: Annotated[Optional[str], typer.Option(help="Check a server that is already running (attach mode) instead of launching one.")] = None,
    dialect: Annotated[Optional[str], typer.Option(help="Dialect name or profile file. Default: the engine's own.")] = None,
    tokenizer: Annotated[Optional[str], typer.Option(help="Tokenizer path. Default: --model.")] = None,
    cases: Annotated[Optional[Path], typer.Option(help="Cases file (YAML or JSON). Default: the bundled cases.")] = None,
    json_path: Annotated[Optional[Path], typer.Option("--json", help="Write the JSON report here.")] = None,
    report_dir: Annotated[Path, typer.Option(help="Each run writes a folder here: engine log, results.json.")] = Path("reports"),
    engine_arg: Annotated[Optional[list[str]], typer.Option(help="Extra flag passed to the engine (repeatable), e.g. --engine-arg=--enforce-eager.")] = None,
    engine_python: Annotated[str, typer.Option(help="Python interpreter that has the engine installed.")] = sys.executable,
    worker: Annotated[Optional[str], typer.Option(help="With --engine dynamo: the worker behind the frontend (vllm, mocker, sglang).")] = None,
    overlay: Annotated[Optional[str], typer.Option(help="Load a fork's token-id contract into the launched engine (SGLang): a shipped overlay (agentcore, llm360, miles, agentcore-broken-*) or a .py file.")] = None,
    startup_timeout: Annotated[float, typer.Option(help="Seconds to wait for the engine to become ready.")] = 300.0,
    request_timeout: Annotated[float, typer.Option(help="Seconds one response may take, first byte to last (a server that never answers, or drips a stream forever, is cut here).")] = 120.0,
    run_timeout: Annotated[float, typer.Option(help="Seconds one pass of the checks may take once the engine is ready; past it nothing more is sent and what is in flight is cut (ERROR).")] = 900.0,
    repeat: Annotated[int, typer.Option(min=1, help="Run every check this many times, each pass with fresh requests; a result that differs between passes is reported as intermittent.")] = 1,
    concurrency: Annotated[int, typer.Option(help="Requests in flight at once.")] = 4,
    api_key: Annotated[Optional[str], typer.Option(envvar="OPENAI_API_KEY", show_default=False, help="Bearer token sent to the server (never printed or saved).")] = None,
    select: Annotated[Optional[str], typer.Option("-k", "--select", help="Only checks matching this pytest -k expression.")] = None,
    record: Annotated[Optional[Path], typer.Option(help="Also save every exchange (request and raw response) to this JSONL file.")] = None,
    junit_xml: Annotated[Optional[Path], typer.Option("--junit-xml", help="Write a JUnit XML report here (one testcase per check x case).")] = None,
    markdown: Annotated[Optional[Path], typer.Option(help="Write a Markdown summary here (also appended to $GITHUB_STEP_SUMMARY when set).")] = None,
    html: Annotated[Optional[Path], typer.Option(help="Write a self-contained HTML report here (token divergences side by side).")] = None,
    baseline: Annotated[Optional[Path], typer.Option(help="Key paths recorded from the unpatched engine (tokconf baseline record); vanilla.baseline compares against them.")] = None,
    expectations: Annotated[Optional[Path], typer.Option(help="Expectation file (YAML): checks this engine is known to fail or to fail intermittently.")] = None,
    strict: Annotated[bool, typer.Option("--strict/--no-strict", help="With --expectations: an unexpected pass (XPASS) fails the run.")] = True,
):
    """Launch an engine (or attach to one), run the checks over the cases, and report."""
    _raise_on_sigterm()
    started = time.monotonic()
    try:
        if base_url and (engine or engine_cmd):
            raise UsageError("give either --engine/--engine-cmd (launch) or --base-url (attach), not both")
        eng = None if base_url else _launcher(engine, engine_cmd, ready_url)
        ov = _overlay(overlay, eng)
        if worker and worker not in getattr(eng, "workers", ()):
            raise UsageError(f"--worker {worker!r} does not apply to engine {eng.name if eng else 'attach mode'}"
                             + (f"; its workers: {', '.join(eng.workers)}" if getattr(eng, "workers", ()) else ""))
        if base_url and not model:
            raise UsageError("--base-url needs --model: the served model name (and the tokenizer path unless --tokenizer)")
        model_path = model or str(fixture_model())
        served = served_model_name or (model if base_url else (model or DEFAULT_SERVED_NAME))
        dial = load_dialect(dialect or (eng.default_dialect if eng else "vllm"))
        case_list = load_cases(cases or default_cases())
        baseline_doc = load_baseline(baseline) if baseline else None
        expected = load_expectations(expectations) if expectations else []
        from conformance.checking.client_tokenizer import Tokenizer  # transformers is slow to import: only after the cheap checks

        tok = Tokenizer.load(tokenizer or model_path)
    except UsageError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(EXIT_USAGE)

    run_dir = _run_dir(report_dir, eng.name if eng else "attach")
    run_info = {
        "engine": eng.name if eng else None,
        "base_url": base_url,
        "model": model_path,
        "served_model": served,
        "tokenizer": tok.source,
        "dialect": dial.name,
        "cases": str(cases or default_cases()),
        "host": platform.node(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "tokconf_argv": redact_argv(["tokconf", *sys.argv[1:]], [api_key]),
        "tokconf_version": __version__,
        "started_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }
    try:
        if eng:
            specs = eng.launch_specs(EngineOptions(model=model_path, served_model=served, python=engine_python,
                                                   extra_args=list(engine_arg or []), worker=worker,
                                                   work_dir=run_dir, api_key=api_key, overlay=ov))
            run_info["launch_argv"] = [redact_argv(s.argv, [api_key]) for s in specs]
            if notes := launch_notes(specs):
                run_info["engine_setup"] = notes
            with err.status(f"starting {eng.name}…") as status:
                running = RunningEngine(specs, run_dir, startup_timeout,
                                        progress=_progress(status, [api_key]), api_key=api_key,
                                        secrets=[s for spec in specs for s in secrets_in_argv(spec.argv)])
                running.__enter__()
            err.print(f"{eng.name} ready at {running.base_url} (log: {run_dir / (specs[-1].name + '.log')})")
            if ov is not None:
                try:
                    run_info["overlay"] = confirm_applied(ov, run_dir / f"{specs[-1].name}.log")
                except EngineError:
                    running.stop()
                    raise
            run_info["engine_version"] = engine_version(running.base_url, api_key, eng.name, engine_python)
            try:
                results, requests_sent, traits = _run(running.base_url, dial, tok, served, case_list, api_key,
                                                      request_timeout, run_timeout, concurrency, select, running,
                                                      record, baseline_doc, repeat)
                dead = running.dead()
                death = running.death_error(dead, "during the run") if dead else None
            finally:
                running.stop()
        else:
            run_info["engine_version"] = engine_version(base_url, api_key)
            results, requests_sent, traits = _run(base_url, dial, tok, served, case_list, api_key, request_timeout,
                                                  run_timeout, concurrency, select, None, record, baseline_doc, repeat)
            death = None
    except EngineError as exc:
        _print_engine_error(exc, api_key)
        raise typer.Exit(EXIT_ENGINE)
    except KeyboardInterrupt as exc:
        err.print(f"[yellow]{'terminated' if isinstance(exc, Terminated) else 'interrupted'}; engine stopped[/yellow]")
        raise typer.Exit(143 if isinstance(exc, Terminated) else 130)

    elapsed = time.monotonic() - started
    run_info["finished_at"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    run_info["requests_sent"] = requests_sent
    run_info["elapsed"] = round(elapsed, 3)
    verdict = traits.get("determinism")
    if verdict is not None:
        run_info["determinism"] = {"deterministic": verdict.deterministic, "reason": verdict.reason, "case": verdict.case}
    if expected:
        results, unmatched = apply_expectations(results, expected)
        run_info["expectations"] = str(expectations)
        for exp in unmatched:
            err.print(f"[yellow]expectation {escape(exp.label)} matched no result (stale, or a mistyped id)[/yellow]")
    flaky = [r for r in results if r.intermittent]
    if repeat > 1:
        run_info.update(repeat=repeat, intermittent=len(flaky))
    report = build_report(results, run_info)
    write_json(report, run_dir / "results.json")
    write_outputs(report, json_path=json_path, junit_xml=junit_xml, markdown=markdown, html=html)
    print_terminal(results, _out(), elapsed, f"tokconf verify: {run_info['engine'] or base_url} / dialect {dial.name}")
    if verdict is not None:
        err.print(f"determinism pre-check: {verdict.reason}", markup=False, highlight=False)
    err.print(f"report: {run_dir / 'results.json'}")
    if repeat > 1:
        _out().print(f"[bold]{len(flaky)} intermittent result(s)[/bold] over {repeat} passes"
                     + "".join(f"\n  {escape(r.check)}\\[{escape(str(r.case))}]: {' '.join(r.attempts)}" for r in flaky),
                     highlight=False)
    if death:  # the results are reported (remaining checks ERROR), then the engine's death decides the exit
        _print_engine_error(death, api_key)
        raise typer.Exit(EXIT_ENGINE)
    if run_failed(results, strict):
        raise typer.Exit(EXIT_FAILED)
    if not any(r.outcome is Outcome.PASS for r in results):
        err.print("[yellow]nothing passed: no check could be run[/yellow]")
        raise typer.Exit(EXIT_FAILED)


def _print_engine_error(exc: EngineError, api_key: str | None) -> None:
    err.print(f"[red]engine error:[/red] {redact_text(str(exc), [api_key])}")
    if exc.log_tail.strip():
        err.rule("engine log (tail)")
        err.print(redact_text(exc.log_tail, [api_key]), markup=False, highlight=False)
        err.rule()
    else:
        err.print("(the engine log is empty: it wrote nothing before this)")


def _overlay(value: str | None, eng) -> "Overlay | None":
    """--overlay, resolved before anything starts (a missing file or unknown name: exit 2)."""
    if value is None:
        return None
    if eng is None:
        raise UsageError("--overlay is loaded into a launched engine: it needs --engine, not --base-url")
    return resolve_overlay(value, eng.name)


def _launcher(engine: str | None, engine_cmd: str | None, ready_url: str | None):
    """The engine to launch: a known kind (--engine) or the user's command line (--engine-cmd)."""
    if engine_cmd is None:
        if ready_url is not None:
            raise UsageError("--ready-url goes with --engine-cmd")
        return get_engine(engine or "vllm")
    if engine is not None:
        raise UsageError("give either --engine or --engine-cmd, not both")
    if not ready_url:
        raise UsageError("--engine-cmd needs --ready-url: the URL that answers 200 once the engine is ready")
    from conformance.engines.command import CommandEngine

    return CommandEngine(engine_cmd, ready_url)


def _progress(status, secrets):
    """Spinner text in a terminal; in a CI log, one line every 15 s so the job shows life."""
    last = [0.0]

    def update(message: str) -> None:
        message = redact_text(message, secrets)
        if err.is_terminal:
            status.update(message)
        elif time.monotonic() - last[0] >= 15:
            last[0] = time.monotonic()
            err.print(message, markup=False, highlight=False)

    return update


def _run(base_url, dial, tok, served, case_list, api_key, request_timeout, run_timeout, concurrency, select,
         running, record, baseline_doc=None, repeat=1):
    from conformance.progress import run_progress
    from conformance.running.runner import run_checks
    from conformance.wire.store import LiveStore
    from conformance.running.target import Target
    from conformance.wire.transport import Sender

    passes, sent = [], 0
    for n in range(repeat):
        if n:
            err.print(f"pass {n + 1} of {repeat}", highlight=False)
        sender = Sender(base_url, api_key=api_key, timeout=request_timeout, concurrency=concurrency,
                        run_deadline=time.monotonic() + run_timeout)
        # a fresh store per pass: every request is sent again, so comparisons see fresh answers
        store = LiveStore(sender, liveness=running.dead if running else None)
        target = Target(dial, tok, store, served, baseline=baseline_doc)
        try:
            with run_progress(err) as progress:  # a bar in a terminal, a few lines in a CI log
                passes.append(run_checks(target, case_list, select=select, progress=progress))
        finally:
            sender.close()
        if n == 0:
            traits = target.traits  # what the first pass learned about the engine (determinism)
        sent += store.requests_sent
        if record and n == 0:
            store.write_jsonl(record, dialect=dial.name)
        if running and running.dead():
            break  # the remaining passes would only repeat "engine exited"
    if repeat == 1:
        return passes[0], sent, traits
    from conformance.running.repeat import fold

    return fold(passes + [[]] * (repeat - len(passes))), sent, traits


@app.command()
def selftest(
    engine: Annotated[Optional[str], typer.Option(help="Engine to launch (vllm). Default: vllm, unless --base-url is given.")] = None,
    model: Annotated[Optional[str], typer.Option(help="Model directory to serve; with --base-url, the served model name. Default: the bundled fixtures/tiny-chat.")] = None,
    served_model_name: Annotated[Optional[str], typer.Option(help="Name the launched engine serves the model under.")] = None,
    base_url: Annotated[Optional[str], typer.Option(help="Self-test in front of a server that is already running.")] = None,
    dialect: Annotated[Optional[str], typer.Option(help="Dialect name or profile file. Default: the engine's own.")] = None,
    tokenizer: Annotated[Optional[str], typer.Option(help="Tokenizer path. Default: --model.")] = None,
    cases: Annotated[Optional[Path], typer.Option(help="Cases file (YAML or JSON). Default: the bundled cases.")] = None,
    faults: Annotated[Optional[str], typer.Option(help="Only these faults (comma-separated names). Default: every shipped fault.")] = None,
    json_path: Annotated[Optional[Path], typer.Option("--json", help="Write the self-test report (JSON) here.")] = None,
    report_dir: Annotated[Path, typer.Option(help="Each run writes a folder here: engine log, selftest.json.")] = Path("reports"),
    engine_arg: Annotated[Optional[list[str]], typer.Option(help="Extra flag passed to the engine (repeatable).")] = None,
    engine_python: Annotated[str, typer.Option(help="Python interpreter that has the engine installed.")] = sys.executable,
    startup_timeout: Annotated[float, typer.Option(help="Seconds to wait for the engine to become ready.")] = 300.0,
    request_timeout: Annotated[float, typer.Option(help="Seconds one response from the target may take.")] = 120.0,
    concurrency: Annotated[int, typer.Option(help="Requests in flight at once.")] = 4,
    api_key: Annotated[Optional[str], typer.Option(envvar="OPENAI_API_KEY", show_default=False, help="Bearer token sent to the target (never printed or saved).")] = None,
    select: Annotated[Optional[str], typer.Option("-k", "--select", help="Only checks matching this pytest -k expression.")] = None,
    baseline: Annotated[Optional[Path], typer.Option(help="Key-path baseline of the unpatched engine (tokconf baseline record): without it, faults only the baseline check sees go undetected.")] = None,
    expectations: Annotated[Optional[Path], typer.Option(help="Expectation file: a clean-round FAIL it declares (a known engine finding) is not a false alarm.")] = None,
    worker: Annotated[Optional[str], typer.Option(help="With --engine dynamo: the worker behind the frontend (vllm, mocker, sglang).")] = None,
):
    """Prove the checks bite on a real target: a fault-injecting proxy mutates its token-id
    responses one fault at a time; report each fault's detection (the mutation score) and a
    clean round through the proxy (no false alarm). Exit 0 only if every applicable fault is
    caught and the clean round passes."""
    import json as _json

    from conformance.selftest.faults import FAULTS

    _raise_on_sigterm()
    try:
        if base_url and engine:
            raise UsageError("give either --engine (launch) or --base-url (attach), not both")
        eng = None if base_url else get_engine(engine or "vllm")
        if base_url and not model:
            raise UsageError("--base-url needs --model: the served model name (and the tokenizer path unless --tokenizer)")
        model_path = model or str(fixture_model())
        served = served_model_name or (model if base_url else (model or DEFAULT_SERVED_NAME))
        dial = load_dialect(dialect or (eng.default_dialect if eng else "vllm"))
        case_list = load_cases(cases or default_cases())
        names = [f.strip() for f in faults.split(",")] if faults else list(FAULTS)
        unknown = [n for n in names if n not in FAULTS]
        if unknown:
            raise UsageError(f"unknown fault(s) {', '.join(unknown)}; shipped: {', '.join(FAULTS)}")
        from conformance.checking.client_tokenizer import Tokenizer

        tok = Tokenizer.load(tokenizer or model_path)
        baseline_doc = load_baseline(baseline) if baseline else None
        expected = load_expectations(expectations) if expectations else []
        if worker and worker not in getattr(eng, "workers", ()):
            raise UsageError(f"--worker {worker!r} does not apply to engine {eng.name if eng else 'attach mode'}")
    except UsageError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(EXIT_USAGE)

    from conformance.selftest import run_selftest
    from conformance.selftest.summary import print_selftest
    from conformance.running.target import Target
    from conformance.wire.transport import Sender

    run_dir = _run_dir(report_dir, f"selftest-{eng.name if eng else 'attach'}")
    chosen = [FAULTS[n] for n in names]

    def against(url: str):
        upstream = Sender(url, api_key=api_key, timeout=request_timeout, concurrency=concurrency)
        try:
            with err.status("self-test…") as status:
                return run_selftest(upstream, Target(dial, tok, None, served, baseline=baseline_doc), case_list,
                                    chosen, select=select,
                                    concurrency=concurrency, progress=_progress(status, [api_key]))
        finally:
            upstream.close()

    try:
        if eng:
            specs = eng.launch_specs(EngineOptions(model=model_path, served_model=served, python=engine_python,
                                                   extra_args=list(engine_arg or []), api_key=api_key,
                                                   worker=worker, work_dir=run_dir))
            with err.status(f"starting {eng.name}…") as status:
                running = RunningEngine(specs, run_dir, startup_timeout, progress=_progress(status, [api_key]),
                                        api_key=api_key,
                                        secrets=[s for spec in specs for s in secrets_in_argv(spec.argv)])
                running.__enter__()
            try:
                rep = against(running.base_url)
                dead = running.dead()
                if dead:
                    raise running.death_error(dead, "during the self-test")
            finally:
                running.stop()
        else:
            rep = against(base_url)
    except EngineError as exc:
        _print_engine_error(exc, api_key)
        raise typer.Exit(EXIT_ENGINE)
    except KeyboardInterrupt as exc:
        err.print(f"[yellow]{'terminated' if isinstance(exc, Terminated) else 'interrupted'}; engine stopped[/yellow]")
        raise typer.Exit(143 if isinstance(exc, Terminated) else 130)

    if expected:  # a clean-round FAIL the file declares is the engine's known finding, not a false alarm
        rep.clean = apply_expectations(rep.clean, expected)[0]
    doc = {"tokconf_version": __version__, "target": eng.name if eng else base_url, "dialect": dial.name,
           **rep.to_json()}
    for path in filter(None, [run_dir / "selftest.json", json_path]):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print_selftest(rep, _out(), f"tokconf selftest: {eng.name if eng else base_url} / dialect {dial.name}")
    err.print(f"report: {run_dir / 'selftest.json'}")
    if not rep.ok:
        raise typer.Exit(EXIT_FAILED)


@app.command("trace")
def trace_cmd(
    source: Annotated[str, typer.Argument(help="Stored rollouts: an rllm-model-gateway SQLite store, its URL (http://HOST:PORT: every session, or --session), or a JSONL file.", show_default=False)],
    tokenizer: Annotated[str, typer.Option(help="The policy's tokenizer (a local path): decodes the ids and renders the client template.")],
    mapping: Annotated[str, typer.Option(help="Where each field sits in a record: rllm-gateway (default), generic, or your YAML file.")] = "rllm-gateway",
    session: Annotated[Optional[str], typer.Option(help="Only this session (a gateway store or URL).")] = None,
    check: Annotated[Optional[list[str]], typer.Option("--check", help="Only this check id or prefix (repeatable), e.g. --check session.prefix.")] = None,
    json_path: Annotated[Optional[Path], typer.Option("--json", help="Write the JSON report here.")] = None,
    junit_xml: Annotated[Optional[Path], typer.Option("--junit-xml", help="Write a JUnit XML report here.")] = None,
    markdown: Annotated[Optional[Path], typer.Option(help="Write a Markdown summary here.")] = None,
    html: Annotated[Optional[Path], typer.Option(help="Write a self-contained HTML report here.")] = None,
    expectations: Annotated[Optional[Path], typer.Option(help="Expectation file (YAML): checks known to fail, per check id and case (session/turn).")] = None,
    strict: Annotated[bool, typer.Option("--strict/--no-strict", help="With --expectations: an unexpected pass (XPASS) fails the run.")] = True,
    api_key: Annotated[Optional[str], typer.Option(envvar="TOKCONF_GATEWAY_KEY", show_default=False, help="Bearer token for the gateway URL (never printed or saved).")] = None,
):
    """Verify recorded rollouts, the ids training reads: completion ids decode to the stored reply,
    prompt ids are the client template of the stored messages, counts and logprobs line up, the
    finish reason agrees with the ids, and each turn of a session extends the last (TITO).
    Exit 0 when all pass, 1 on a FAIL or ERROR (or nothing checked), 2 on bad input."""
    from conformance.trace.command import (nothing_checked, run_trace, stdout_console, write_trace_outputs)

    try:
        expected = load_expectations(expectations) if expectations else []
        with err.status("reading traces…") as status:
            report, results, elapsed, traces = run_trace(
                source, mapping_name=mapping, tokenizer=tokenizer, session=session, checks=check, api_key=api_key,
                argv=redact_argv(["tokconf", *sys.argv[1:]], [api_key]),
                progress=lambda n: status.update(f"reading traces… {n}"))
    except UsageError as exc:
        err.print(f"[red]error:[/red] {redact_text(str(exc), [api_key])}")
        raise typer.Exit(EXIT_USAGE)
    if expected:
        results, unmatched = apply_expectations(results, expected)
        report = build_report(results, {**report["run_info"], "expectations": str(expectations)})
        for exp in unmatched:
            err.print(f"[yellow]expectation {escape(exp.label)} matched no result (stale, or a mistyped id)[/yellow]")
    write_trace_outputs(report, results, _out(), elapsed, traces, json_path=json_path, junit_xml=junit_xml,
                        markdown=markdown, html=html)
    if run_failed(results, strict):
        raise typer.Exit(EXIT_FAILED)
    if nothing_checked(results):
        err.print("[yellow]nothing passed: no trace could be checked[/yellow]")
        raise typer.Exit(EXIT_FAILED)


@app.command("list")
def list_checks():
    """Every check with its id, what it needs, and its description."""
    from conformance.checking.catalog import load_catalog

    console = _out()
    for info in load_catalog():
        needs = ", ".join(info.requires) or "-"
        console.print(f"[bold]{info.id}[/bold]  [dim]requires: {needs}; reads: {', '.join(info.needs)}[/dim]")
        console.print(f"    {' '.join(info.description.split())}")


@app.command()
def dialects():
    """The shipped dialect profiles and the features each declares."""
    from conformance.dialects import builtin_names, describe_request, load_dialect

    console = _out()
    console.print("[dim]token-id dialects: pass a name (NAME:VARIANT for a server-flag variant) or your own "
                  "profile file to --dialect[/dim]")
    for name in builtin_names():
        d = load_dialect(name)
        where, asks = describe_request(d)
        variants = ", ".join(f"{name}:{v}" for v in (d.raw.get("variants") or {}))
        console.print(f"[bold]{d.name}[/bold]  {d.title}", highlight=False)
        console.print(f"    request:  {where}; " + (f"ids with {asks}" if asks != "always on" else "ids always on"), highlight=False, markup=False)
        console.print(f"    stream:   {d.stream_mode}    token-in: {d.token_in or '-'}    unrequested ids: "
                      f"{'null' if d.unrequested is None else d.unrequested}" + (f"    variants: {variants}" if variants else ""), highlight=False, markup=False)
        console.print(f"    features: {', '.join(sorted(d.features))}", highlight=False, markup=False)


@app.command()
def probe(
    base_url: Annotated[str, typer.Option(help="The running server to probe.")],
    model: Annotated[str, typer.Option(help="The served model name (and the tokenizer path unless --tokenizer).")],
    tokenizer: Annotated[Optional[str], typer.Option(help="Tokenizer path, to render prompts for token-in dialects (/generate, Miles). Default: --model.")] = None,
    cases: Annotated[Optional[Path], typer.Option(help="Cases file; the probe sends its first case. Default: the bundled cases.")] = None,
    api_key: Annotated[Optional[str], typer.Option(envvar="OPENAI_API_KEY", show_default=False, help="Bearer token sent to the server (never printed).")] = None,
    request_timeout: Annotated[float, typer.Option(help="Seconds to wait for one response.")] = 60.0,
    json_path: Annotated[Optional[Path], typer.Option("--json", help="Also write the findings here as JSON.")] = None,
):
    """Find which token-id dialects a running server speaks, and print the verify command to run."""
    import json
    import shlex

    from rich.markup import escape

    from conformance.dialects.probe import probe as run_probe
    from conformance.wire.transport import Sender

    try:
        case_list = load_cases(cases or default_cases())
        if not case_list:
            raise UsageError("the cases file has no case to probe with")
        tok = None
        try:
            from conformance.checking.client_tokenizer import Tokenizer

            tok = Tokenizer.load(tokenizer or model)
        except UsageError as exc:
            if tokenizer:
                raise
            err.print(f"[yellow]no tokenizer at --model ({exc}); token-in dialects are not tried[/yellow]")
    except UsageError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(EXIT_USAGE)
    sender = Sender(base_url, api_key=api_key, timeout=request_timeout, concurrency=4)
    try:
        result = run_probe(sender, model, case_list[0], tok)
    finally:
        sender.close()
    out = _out()
    out.print(f"probing {base_url} (model {model}, case {case_list[0].id}): one request per dialect", highlight=False)
    for f in sorted(result.findings, key=lambda f: (not f.speaks, f.dialect)):
        mark = "[green]speaks[/green]" if f.speaks else "[dim]no[/dim]    "
        out.print(f"  {mark}  [bold]{f.dialect:<22}[/bold] {escape(f.detail)}", highlight=False)
    if result.vanilla:
        out.print("without an opt-in the server sends:", highlight=False)
        for note in result.vanilla:
            out.print(f"  {note}", highlight=False, markup=False)
    spoken = result.spoken
    quoted = [shlex.quote(a) for a in (base_url, model)]
    extra = f" --tokenizer {shlex.quote(tokenizer)}" if tokenizer else ""
    if spoken:
        out.print("run:", highlight=False)
        for f in spoken:
            out.print(f"  tokconf verify --base-url {quoted[0]} --model {quoted[1]}{extra} --dialect {f.dialect}",
                      highlight=False, markup=False)
    else:
        out.print("[yellow]no shipped dialect's ids came back: the server may not expose token ids, or speaks a "
                  "dialect tokconf does not ship (write a profile: see `tokconf dialects`)[/yellow]")
    if json_path:
        json_path.write_text(json.dumps({
            "base_url": base_url, "model": model, "case": case_list[0].id,
            "spoken": [f.dialect for f in spoken], "vanilla": result.vanilla,
            "findings": [{"dialect": f.dialect, "speaks": f.speaks, "detail": f.detail, **(f.request or {})}
                         for f in result.findings]}, indent=2))
    raise typer.Exit(EXIT_OK if spoken else EXIT_FAILED)


@app.command()
def version():
    """Print tokconf's version."""
    print(__version__)


def main():  # pragma: no cover
    app()


REPORT_FORMATS = ("terminal", "markdown", "html", "junit", "json")


@app.command("report")
def report_cmd(
    run: Annotated[Path, typer.Argument(help="A stored JSON report (reports/<run>/results.json or --json output).")],
    fmt: Annotated[str, typer.Option("--format", "-f", help=f"One of: {', '.join(REPORT_FORMATS)}.")] = "terminal",
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write here instead of stdout.")] = None,
):
    """Re-render a stored report to the terminal, Markdown, HTML or JUnit XML."""
    from conformance.reporting.document import load_report, print_report

    try:
        if fmt not in REPORT_FORMATS:
            raise UsageError(f"unknown --format {fmt!r}; one of {', '.join(REPORT_FORMATS)}")
        doc = load_report(run)
    except UsageError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(EXIT_USAGE)
    if fmt == "terminal":
        if output:
            with open(output, "w", encoding="utf-8") as fh:
                print_report(doc, Console(file=fh, width=160))
        else:
            print_report(doc, _out())
        return
    from conformance.reporting.render import render

    text = render(doc, fmt)
    if output:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
        err.print(f"wrote {output}")
    else:
        sys.stdout.write(text)


@app.command()
def compare(
    reports: Annotated[Optional[list[Path]], typer.Argument(help="Two stored JSON reports: OLD NEW (e.g. last night's, tonight's).", show_default=False)] = None,
    target: Annotated[Optional[list[str]], typer.Option(help="A target as key=value pairs (repeatable): name=...,base_url=...|engine=...|recording=...,dialect=...,model=...,tokenizer=...")] = None,
    targets: Annotated[Optional[Path], typer.Option(help="YAML/JSON file listing targets (same keys as --target).")] = None,
    cases: Annotated[Optional[Path], typer.Option(help="Cases file (YAML or JSON). Default: the bundled cases.")] = None,
    select: Annotated[Optional[str], typer.Option("-k", "--select", help="Only checks matching this pytest -k expression.")] = None,
    json_path: Annotated[Optional[Path], typer.Option("--json", help="Write the comparison as JSON here.")] = None,
    markdown: Annotated[Optional[Path], typer.Option(help="Write the comparison as Markdown here (also appended to $GITHUB_STEP_SUMMARY when set).")] = None,
    html: Annotated[Optional[Path], typer.Option(help="Several targets: write a self-contained HTML page here (id divergences side by side).")] = None,
    report_dir: Annotated[Path, typer.Option(help="Multi-target runs write a folder here: each target's results.json and engine log.")] = Path("reports"),
    engine_python: Annotated[str, typer.Option(help="Python interpreter that has the engines installed.")] = sys.executable,
    startup_timeout: Annotated[float, typer.Option(help="Seconds to wait for each launched engine.")] = 300.0,
    request_timeout: Annotated[float, typer.Option(help="Seconds to wait for one response.")] = 120.0,
    concurrency: Annotated[int, typer.Option(help="Requests in flight at once.")] = 4,
):
    """Compare two stored reports (exit 1 on a regression), or run the same cases against several
    targets and show a checks x targets matrix with per-case id agreement (exit 1 if ids disagree
    or a check fails on a target)."""
    import json

    try:
        if reports and (target or targets):
            raise UsageError("give either two reports or --target/--targets, not both")
        if reports:
            if len(reports) != 2:
                raise UsageError("compare takes exactly two reports: OLD NEW")
            _compare_reports(reports[0], reports[1], json_path, markdown)
            return
        from conformance.comparing.target_specs import check_unique, load_targets, parse_target

        specs = check_unique([parse_target(t) for t in target or []] + (load_targets(targets) if targets else []))
        case_list = load_cases(cases or default_cases())
    except UsageError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(EXIT_USAGE)
    _raise_on_sigterm()
    from conformance.comparing.targets import agreement, compare_document, disagreements, run_target
    from conformance.progress import run_progress
    from conformance.reporting.compare_view import print_targets

    run_dir = _run_dir(report_dir, "compare")
    runs = []
    try:
        for spec in specs:
            err.print(f"[bold]{escape(spec.name)}[/bold] ({spec.kind})")
            with run_progress(err) as progress:
                run = run_target(spec, case_list, select, run_dir=run_dir, request_timeout=request_timeout,
                                 concurrency=concurrency, startup_timeout=startup_timeout,
                                 engine_python=engine_python, progress=progress.note, run_progress=progress)
            write_json(build_report(run.results, run.run_info), run_dir / spec.name / "results.json")
            runs.append(run)
    except UsageError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(EXIT_USAGE)
    except EngineError as exc:
        err.print(f"[red]engine error:[/red] {exc}")
        if exc.log_tail:
            err.print(exc.log_tail, markup=False, highlight=False)
        raise typer.Exit(EXIT_ENGINE)
    except KeyboardInterrupt:
        err.print("[yellow]interrupted; engine stopped[/yellow]")
        raise typer.Exit(130)
    doc = compare_document(runs, agreement(runs, case_list))
    write_json(doc, run_dir / "compare.json")
    if json_path:
        write_json(doc, json_path)
    if markdown:
        from conformance.reporting.compare_markdown import targets_markdown
        from conformance.reporting.markdown import publish

        publish(targets_markdown(doc), markdown)
    if html:
        from conformance.reporting.compare_html import render_compare_html

        html.parent.mkdir(parents=True, exist_ok=True)
        html.write_text(render_compare_html(doc), encoding="utf-8")
    print_targets(doc, _out())
    err.print(f"reports: {run_dir}")
    failing = [f"{r.spec.name}: {x.check}[{x.case}] {x.outcome.value}" for r in runs for x in r.results if x.outcome.failed]
    differ = disagreements(doc["agreement"])
    for line in differ + failing:
        err.print(f"[red]{escape(line)}[/red]", highlight=False)
    if differ or failing:
        raise typer.Exit(EXIT_FAILED)


def _compare_reports(old_path: Path, new_path: Path, json_path: Optional[Path], markdown: Optional[Path]) -> None:
    from conformance.reporting.document import load_report
    from conformance.comparing.reports import compare_reports
    from conformance.reporting.compare_view import print_comparison

    cmp = compare_reports(load_report(old_path), load_report(new_path))
    print_comparison(cmp, _out(), str(old_path), str(new_path))
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
def baseline_record(
    name: Annotated[str, typer.Argument(help="Baseline name: writes OUT_DIR/NAME.json.")],
    engine: Annotated[Optional[str], typer.Option(help="Engine to launch (vllm). Default: vllm, unless --base-url is given.")] = None,
    model: Annotated[Optional[str], typer.Option(help="Model directory to serve; with --base-url, the served model name.")] = None,
    base_url: Annotated[Optional[str], typer.Option(help="Record from a server that is already running.")] = None,
    cases: Annotated[Optional[Path], typer.Option(help="Cases file. Default: the bundled cases.")] = None,
    out_dir: Annotated[Path, typer.Option(help="Where the baseline is written.")] = Path("fixtures/baselines"),
    engine_arg: Annotated[Optional[list[str]], typer.Option(help="Extra flag passed to the engine (repeatable).")] = None,
    engine_python: Annotated[str, typer.Option(help="Python interpreter that has the engine installed.")] = sys.executable,
    startup_timeout: Annotated[float, typer.Option(help="Seconds to wait for the engine to become ready.")] = 300.0,
    request_timeout: Annotated[float, typer.Option(help="Seconds to wait for one response.")] = 120.0,
    api_key: Annotated[Optional[str], typer.Option(envvar="OPENAI_API_KEY", show_default=False, help="Bearer token sent to the server (never printed or saved).")] = None,
    report_dir: Annotated[Path, typer.Option(help="Engine logs go in a folder here.")] = Path("reports"),
):
    """Send every case as a vanilla client would (no id opt-in) to an unpatched engine and write
    the key paths of its responses and stream chunks, for `verify --baseline`."""
    from conformance.inputs.baseline import build_baseline
    from conformance.wire.store import LiveStore
    from conformance.wire.transport import Sender

    _raise_on_sigterm()
    try:
        if base_url and engine:
            raise UsageError("give either --engine (launch) or --base-url (attach), not both")
        if base_url and not model:
            raise UsageError("--base-url needs --model: the served model name")
        eng = None if base_url else get_engine(engine or "vllm")
        model_path = model or str(fixture_model())
        served = model if base_url else DEFAULT_SERVED_NAME
        case_list = load_cases(cases or default_cases())
        dial = load_dialect(eng.default_dialect if eng else "vllm")  # only builds vanilla bodies: no opt-in
    except UsageError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(EXIT_USAGE)
    info = {"engine": eng.name if eng else None, "base_url": base_url, "model": model_path,
            "recorded_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "tokconf_version": __version__}

    def record_from(url: str) -> dict:
        sender = Sender(url, api_key=api_key, timeout=request_timeout)
        try:
            return build_baseline(LiveStore(sender), case_list, dial, served, name, info)
        finally:
            sender.close()

    try:
        if eng:
            specs = eng.launch_specs(EngineOptions(model=model_path, served_model=served, python=engine_python,
                                                   extra_args=list(engine_arg or [])))
            info["launch_argv"] = [redact_argv(s.argv, [api_key]) for s in specs]
            with err.status(f"starting {eng.name}…") as status:
                running = RunningEngine(specs, _run_dir(report_dir, f"baseline-{eng.name}"), startup_timeout,
                                        progress=_progress(status, [api_key]))
                running.__enter__()
            try:
                doc = record_from(running.base_url)
            finally:
                running.stop()
        else:
            doc = record_from(base_url)
    except EngineError as exc:
        _print_engine_error(exc, api_key)
        raise typer.Exit(EXIT_ENGINE)
    except KeyboardInterrupt as exc:
        err.print(f"[yellow]{'terminated' if isinstance(exc, Terminated) else 'interrupted'}; engine stopped[/yellow]")
        raise typer.Exit(143 if isinstance(exc, Terminated) else 130)
    except Exception as exc:  # an exchange that failed: no baseline rather than a partial one
        err.print(f"[red]could not record the baseline:[/red] {escape(redact_text(str(exc), [api_key]))}")
        raise typer.Exit(EXIT_FAILED)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.json"
    path.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    paths = sum(len(v) for c in doc["cases"].values() for v in c.values())
    err.print(f"baseline {name}: {len(doc['cases'])} cases, {paths} key paths -> {path}")
