"""`tokconf selftest`: verify's pipeline up to the engine (options, inputs, -k, preflight, the
client tokenizer: conformance.pipeline.prepare), then the fault rounds instead of one pass, then
the self-test report and its exit code. The CLI declares the options and calls `run_selftest_command`."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from conformance import __version__
from conformance.errors import UsageError
from conformance.pipeline.prepare import named_inputs, prepare_live
from conformance.reporting.document import write_json
from conformance.reporting.sink import check_outputs
from conformance.session.console import err, out, status_progress
from conformance.session.exits import EXIT_FAILED, EXIT_OK, guard
from conformance.session.launch import engine_session, run_dir as new_run_dir
from conformance.session.options import SessionOptions


@dataclass
class SelftestOptions:
    """selftest's own options (the engine's are the SessionOptions)."""

    faults: str | None = None  # comma-separated fault names; None: every shipped fault
    json_path: Path | None = None
    baseline: str | None = None
    expectations: str | None = None


def _vet(dial) -> None:
    if dial.side_fetch:  # its faults mutate responses: a side channel's ids never pass through them
        raise UsageError(f"selftest injects faults into the server's responses; dialect {dial.name} reads its ids "
                         f"from a side channel (GET {dial.side_fetch}), not from them")


def run_selftest_command(opts: SessionOptions, s: SelftestOptions) -> int:
    """The rounds, the report, and the exit code (0 / 1; bad input, a dead engine and interrupts
    leave by guard())."""
    from conformance.inputs.expectations import apply_expectations
    from conformance.running.target import Target
    from conformance.selftest import run_selftest
    from conformance.selftest.faults import FAULTS
    from conformance.selftest.summary import print_selftest
    from conformance.wire.transport import Sender

    names = [f.strip() for f in s.faults.split(",")] if s.faults else list(FAULTS)
    with guard() as g:
        check_outputs(opts.report_dir, **{"--json": s.json_path})
        unknown = [n for n in names if n not in FAULTS]
        if unknown:
            raise UsageError(f"unknown fault(s) {', '.join(unknown)}; shipped: {', '.join(FAULTS)}")
        baseline_path, expectations_path = named_inputs(s.baseline, s.expectations)
        ready = prepare_live(opts, g, baseline=baseline_path, expectations=expectations_path, vet=_vet)
        plan, dial = ready.plan, ready.dialect
        run_folder = new_run_dir(opts.report_dir, f"selftest-{plan.label}")
        with engine_session(plan, run_folder, {}) as endpoint:
            with Sender(endpoint.base_url, api_key=opts.api_key, timeout=opts.request_timeout,
                        concurrency=opts.concurrency) as upstream, err.status("self-test…") as status:
                rep = run_selftest(upstream, Target(dial, ready.tokenizer, None, plan.served, baseline=ready.baseline,
                                                    fleet_size=opts.fleet_size), ready.cases,
                                   [FAULTS[n] for n in names], select=ready.selection, concurrency=opts.concurrency,
                                   progress=status_progress(status, plan.secrets.values))
            death = endpoint.death("during the self-test")
            if death:
                raise death

    if ready.expected:  # a clean-round FAIL the file declares is the engine's known finding, not a false alarm
        rep.clean = apply_expectations(rep.clean, ready.expected)[0]
    target = plan.engine.name if plan.engine else opts.base_url
    doc = {"tokconf_version": __version__, "target": target, "dialect": dial.name, **rep.to_json()}
    write_json(doc, run_folder / "selftest.json")
    if s.json_path:
        write_json(doc, s.json_path)
    print_selftest(rep, err if str(s.json_path) == "-" else out(), f"tokconf selftest: {target} / dialect {dial.name}")
    err.print(f"report: {run_folder / 'selftest.json'}", highlight=False)
    return EXIT_OK if rep.ok else EXIT_FAILED
