"""Launch or attach, the same way for every command: start the engine (its secrets redacted from
the recorded argv, env and its log), wait until it is ready, preflight the server, hand its URL
to the command, and always tear the engine down."""
from __future__ import annotations

import datetime as dt
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

from rich.markup import escape

from conformance.engines.base import EngineOptions, launch_notes
from conformance.engines.launch import RunningEngine
from conformance.errors import EngineError, UsageError
from conformance.redact import secrets_in_argv
from conformance.session.console import err, status_progress
from conformance.session.plan import Plan
from conformance.session.preflight import preflight


@dataclass
class Endpoint:
    base_url: str
    running: RunningEngine | None = None  # None: attached

    def dead(self):
        return self.running.dead() if self.running else None

    def death(self, when: str) -> EngineError | None:
        """The launched engine's exit as an error, if it has exited."""
        proc = self.dead()
        return self.running.death_error(proc, when) if proc else None


def run_dir(report_dir: Path, label: str) -> Path:
    """A fresh folder for one run: reports/<time>-<label>."""
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = report_dir / f"{stamp}-{label}"
    n = 1
    while path.exists():
        n += 1
        path = report_dir / f"{stamp}-{label}-{n}"
    try:
        path.mkdir(parents=True)
    except (FileExistsError, NotADirectoryError):
        raise UsageError(f"--report-dir {report_dir}: a file is in the way of {path}") from None
    except OSError as exc:
        raise UsageError(f"--report-dir {report_dir}: cannot create {path}: {exc.strerror or exc}") from None
    return path


@contextmanager
def engine_session(plan: Plan, log_dir: Path, run_info: dict[str, Any],
                   say: Callable[[str], None] | None = None) -> Iterator[Endpoint]:
    """Yields the Endpoint to send to. `run_info` gets the redacted launch argv and engine env and
    the engine's version. `say`: where startup progress goes (default: a spinner on stderr)."""
    from conformance.engines.info import engine_version

    opts, secrets = plan.opts, plan.secrets
    if plan.engine is None:
        attach_preflight(plan)
        run_info["engine_version"] = engine_version(opts.base_url, opts.api_key)
        yield Endpoint(opts.base_url)
        return
    eng = plan.engine
    specs = eng.launch_specs(EngineOptions(model=plan.model_path, served_model=plan.served, python=opts.engine_python,
                                           extra_args=list(opts.engine_arg), worker=opts.worker, work_dir=log_dir,
                                           api_key=opts.api_key, env=dict(plan.env), overlay=plan.overlay,
                                           patch=plan.patch))
    for spec in specs:
        secrets.add(*secrets_in_argv(spec.argv))
        run_info.update(spec.run_info)
    run_info["launch_argv"] = [secrets.argv(s.argv) for s in specs]
    if plan.env:
        run_info["engine_env"] = secrets.env(plan.env)
    if notes := launch_notes(specs):
        run_info["engine_setup"] = notes
    if say is None:
        with err.status(f"starting {eng.name}…") as status:
            running = _start(specs, log_dir, plan, status_progress(status, secrets.values))
    else:
        running = _start(specs, log_dir, plan, lambda m: say(secrets.text(m)))
    try:
        err.print(f"{eng.name} ready at {running.base_url} (log: {escape(str(log_dir / (specs[-1].name + '.log')))})",
                  highlight=False)
        if plan.overlay is not None:  # the engine says it loaded the fork's contract, or the run stops (exit 3)
            from conformance.engines.overlays import confirm_applied

            run_info["overlay"] = confirm_applied(plan.overlay, log_dir / f"{specs[-1].name}.log")
        _preflight(running.base_url, plan)
        run_info["engine_version"] = engine_version(running.base_url, opts.api_key, eng.name, opts.engine_python)
        yield Endpoint(running.base_url, running)
    finally:
        running.stop()


def _start(specs, log_dir: Path, plan: Plan, progress) -> RunningEngine:
    running = RunningEngine(specs, log_dir, plan.opts.startup_timeout, progress=progress,
                            api_key=plan.opts.api_key, secrets=list(plan.secrets.values))
    running.__enter__()  # stops what it started if it fails or is interrupted
    return running


def attach_preflight(plan: Plan) -> None:
    """Attach mode: is the server there and serving the model? Cheap, so commands call it before
    loading a tokenizer (a server that is down costs seconds, not a model load)."""
    if plan.engine is None and not plan.preflighted:
        _preflight(plan.opts.base_url, plan)
        plan.preflighted = True


def _preflight(base_url: str, plan: Plan) -> None:
    note = preflight(base_url, plan.served, plan.opts.api_key)
    if note:
        err.print(f"[yellow]{escape(plan.secrets.text(note))}[/yellow]", highlight=False)
