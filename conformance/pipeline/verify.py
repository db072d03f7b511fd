"""`tokconf verify`: plan (launch, attach or replay) -> exchanges -> checks -> expectations -> report
document -> outputs -> exit code. The CLI declares the options and calls `run_verify`."""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.markup import escape

from conformance.outcomes import Outcome
from conformance.pipeline.inputs import load_inputs, load_selection, replay_plan, start_tokenizer
from conformance.pipeline.outputs import on_stdout, output_flags
from conformance.pipeline.prepare import named_inputs, prepare_live
from conformance.reporting.document import build_report, print_terminal, write_json
from conformance.reporting.formats import write_outputs
from conformance.reporting.sink import check_outputs
from conformance.running.provenance import now, provenance
from conformance.resources import default_cases
from conformance.session.console import err, out
from conformance.session.exits import EXIT_ENGINE, EXIT_FAILED, EXIT_OK, guard, print_engine_error
from conformance.session.launch import engine_session, run_dir as new_run_dir
from conformance.session.options import SessionOptions
from conformance.session.plan import check_positive


@dataclass
class VerifyOptions:
    """verify's own options (the engine's are the SessionOptions)."""

    replay: Path | None = None
    outputs: dict[str, Path | None] = field(default_factory=dict)  # report format -> path
    run_timeout: float = 900.0
    repeat: int = 1
    record: Path | None = None
    baseline: str | None = None
    expectations: str | None = None
    strict: bool = True


def run_info_of(opts: SessionOptions, *, engine: str | None, recording: Path | None, model: str | None, served: str,
                tokenizer: str, dialect: str, argv: list[str] | None) -> dict[str, Any]:
    """What a report says about the run: where, what, with which tokconf (argv redacted)."""
    return {
        "engine": engine,
        "base_url": opts.base_url,
        "recording": str(recording) if recording else None,
        "model": model,
        "served_model": served,
        "tokenizer": tokenizer,
        "dialect": dialect,
        "fleet_size": opts.fleet_size,  # >1: a router in front of this many workers (fleet.workers_agree)
        "cases": str(opts.cases or default_cases()),
        **provenance(argv),
    }


def run_verify(opts: SessionOptions, v: VerifyOptions) -> int:
    """The run, its reports, and its exit code (0 / 1 / 3; bad input and interrupts leave by guard())."""
    from conformance.inputs.expectations import apply_expectations, run_failed
    from conformance.running.target import Target

    started = time.monotonic()
    with guard() as g:
        check_positive(run_timeout=v.run_timeout, repeat=v.repeat)
        check_outputs(opts.report_dir, **output_flags(v.outputs), **{"--record": v.record})
        baseline_path, expectations_path = named_inputs(v.baseline, v.expectations)
        if v.replay:
            plan, recording = None, replay_plan(opts, v.replay, v.record)
            dial, case_list, baseline_doc, expected = load_inputs(opts, recording["dialect"], baseline_path,
                                                                  expectations_path)
            selection = load_selection(opts.select, case_list)
            served, tok = recording["served"], start_tokenizer(recording["tokenizer"])
            label = "replay"
        else:
            ready = prepare_live(opts, g, baseline=baseline_path, expectations=expectations_path)
            plan, dial, case_list, baseline_doc = ready.plan, ready.dialect, ready.cases, ready.baseline
            expected, selection, tok, served, label = ready.expected, ready.selection, ready.tokenizer, plan.served, plan.label
        secrets = g.secrets
        run_folder = new_run_dir(opts.report_dir, label)
        run_info = run_info_of(opts, engine=plan.engine.name if plan and plan.engine else None, recording=v.replay,
                               model=plan.model_path if plan else served, served=served, tokenizer=tok.source,
                               dialect=dial.name, argv=secrets.argv(["tokconf", *sys.argv[1:]]))

        def make_target(store):
            return Target(dial, tok, store, served, baseline=baseline_doc, fleet_size=opts.fleet_size)

        if v.replay:
            from conformance.running.passes import run_replay

            run_info["engine_version"] = None
            run = run_replay(err, v.replay, make_target, case_list, selection)
            death = None
        else:
            from conformance.running.passes import run_live

            with engine_session(plan, run_folder, run_info) as endpoint:
                run = run_live(
                    err, endpoint.base_url, make_target, case_list, api_key=opts.api_key,
                    request_timeout=opts.request_timeout, run_timeout=v.run_timeout, concurrency=opts.concurrency,
                    select=selection, liveness=endpoint.running and endpoint.dead, record=v.record, repeat=v.repeat,
                    dialect_name=dial.name)
                death = endpoint.death("during the run")

    results, traits = run.results, run.traits
    elapsed = time.monotonic() - started
    run_info["finished_at"] = now()
    run_info["requests_sent"] = run.requests_sent
    run_info["elapsed"] = round(elapsed, 3)
    run_info["client_cache"] = tok.cache_state
    verdict = traits.get("determinism")
    if verdict is not None:
        run_info["determinism"] = {"deterministic": verdict.deterministic, "reason": verdict.reason, "case": verdict.case}
    if expectations_path:
        run_info["expectations"] = str(expectations_path)
    if expected:
        results, unmatched = apply_expectations(results, expected)
        for exp in unmatched:
            err.print(f"[yellow]expectation {escape(exp.label)} matched no result (stale, or a mistyped id)[/yellow]")
    flaky = [r for r in results if r.intermittent]
    if v.repeat > 1:
        run_info.update(repeat=v.repeat, intermittent=len(flaky))
    report = build_report(results, run_info)
    write_json(report, run_folder / "results.json")
    write_outputs(report, v.outputs)
    # a report written to stdout is all stdout holds: the terminal matrix goes to stderr then
    console = err if on_stdout(v.outputs) else out()
    print_terminal(results, console, elapsed,
                   f"tokconf verify: {run_info['engine'] or opts.base_url or v.replay} / dialect {dial.name}")
    if verdict is not None:
        err.print(f"determinism pre-check: {verdict.reason}", markup=False, highlight=False)
    err.print(f"report: {run_folder / 'results.json'}", highlight=False)
    if v.repeat > 1:
        console.print(f"[bold]{len(flaky)} intermittent result(s)[/bold] over {v.repeat} passes"
                      + "".join(f"\n  {escape(r.check)}\\[{escape(str(r.case))}]: {' '.join(r.attempts)}" for r in flaky),
                      highlight=False)
    if death:  # the results are reported (remaining checks ERROR), then the engine's death decides the exit
        print_engine_error(death, secrets)
        return EXIT_ENGINE
    if run_failed(results, v.strict):
        return EXIT_FAILED
    if not any(r.outcome is Outcome.PASS for r in results):
        err.print("[yellow]nothing passed: no check could be run[/yellow]")
        return EXIT_FAILED
    return EXIT_OK
