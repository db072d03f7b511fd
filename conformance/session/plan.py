"""Options checked and resolved before anything starts: launch (which engine, model, served name,
environment) or attach (a URL and the served model name). Every mistake is a UsageError (exit 2)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from conformance.engines import get_engine
from conformance.engines.base import Engine
from conformance.errors import EngineError, UsageError
from conformance.resources import fixture_model
from conformance.session.options import SessionOptions
from conformance.session.secrets import Secrets

DEFAULT_SERVED_NAME = "tiny-chat"


@dataclass
class Plan:
    opts: SessionOptions
    engine: Engine | None  # None: attach to opts.base_url
    model_path: str  # launch: the model directory; attach: the served name (and tokenizer default)
    served: str
    env: dict[str, str]  # --engine-env, on top of the engine's own environment
    secrets: Secrets
    overlay: Any = None  # engines.overlays.Overlay: a fork's contract loaded into the launched engine
    patch: Any = None  # engines.patches.SourcePatch: a fork's own patch, applied to a copy of the engine
    preflighted: bool = False  # an attached server already answered and listed the model

    @property
    def label(self) -> str:
        return self.engine.name if self.engine else "attach"

    @property
    def default_dialect(self) -> str:
        """The dialect when none is given: a patch's, else the launched engine's, else vLLM's."""
        if self.patch is not None:
            return self.patch.dialect
        return self.engine.default_dialect if self.engine else "vllm"

    @property
    def api_key(self) -> str | None:
        return self.opts.api_key


def parse_env(items: list[str]) -> dict[str, str]:
    env: dict[str, str] = {}
    for item in items:
        key, eq, value = item.partition("=")
        if not eq or not key or not key.replace("_", "a").isalnum() or key[0].isdigit():
            raise UsageError(f"--engine-env wants KEY=VALUE (a variable name, '=', a value), got {key or item!r}"
                             if eq else "--engine-env wants KEY=VALUE (a variable name, '=', a value)")
        env[key] = value
    return env


def check_positive(**values: float) -> None:
    for name, value in values.items():
        if value is not None and not value > 0:
            raise UsageError(f"--{name.replace('_', '-')} must be more than 0, got {value:g}")


def check_replay_options(opts: SessionOptions, **given: Any) -> None:
    """--replay sends nothing and launches nothing: an option that only a server or an engine
    would use is a mistake there (it would be ignored), as it is in attach mode. `given`: the
    command's own such options (verify's --record)."""
    from conformance.session import options as o

    check_positive(startup_timeout=opts.startup_timeout, request_timeout=opts.request_timeout,
                   concurrency=opts.concurrency)
    ignored = {"--engine-arg": opts.engine_arg, "--engine-env": opts.engine_env, "--worker": opts.worker,
               "--overlay": opts.overlay, "--patch": opts.patch, "--ready-url": opts.ready_url,
               "--concurrency": opts.concurrency != o.DEFAULT_CONCURRENCY,
               "--request-timeout": opts.request_timeout != o.DEFAULT_REQUEST_TIMEOUT,
               "--startup-timeout": opts.startup_timeout != o.DEFAULT_STARTUP_TIMEOUT,
               "--engine-python": opts.engine_python != o.DEFAULT_ENGINE_PYTHON,
               **{f"--{k.replace('_', '-')}": v for k, v in given.items()}}
    named = [flag for flag, value in ignored.items() if value]
    if named:
        raise UsageError(f"{', '.join(named)} {'applies' if len(named) == 1 else 'apply'} to a server or a launched "
                         f"engine, not to --replay (a recording: nothing is sent)")


def check_python(python: str) -> None:
    """--engine-python runs the engine: one that is not there is one line and exit 3 (as SGLang's
    deeper check of it), said before anything starts, not a traceback from the launch."""
    import os
    import shutil

    if shutil.which(python) is None:
        why = "not executable" if os.path.exists(python) else "no such interpreter"
        raise EngineError(f"--engine-python {python}: {why}; give the Python that has the engine installed",
                          started=False)


def launcher(engine: str | None, engine_cmd: str | None, ready_url: str | None) -> Engine:
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


def make_plan(opts: SessionOptions) -> Plan:
    check_positive(startup_timeout=opts.startup_timeout, request_timeout=opts.request_timeout,
                   concurrency=opts.concurrency)
    env = parse_env(opts.engine_env)
    secrets = Secrets.collect(opts.api_key, argv=opts.engine_arg, env=env, urls=[opts.base_url])
    if opts.base_url:
        if opts.engine or opts.engine_cmd:
            raise UsageError("give either --engine/--engine-cmd (launch) or --base-url (attach), not both")
        if opts.worker:
            raise UsageError(f"--worker {opts.worker!r} does not apply to attach mode")
        for flag, given in (("--overlay", opts.overlay), ("--patch", opts.patch)):
            if given:
                raise UsageError(f"{flag} is loaded into a launched engine: it needs --engine, not --base-url")
        for flag, given in (("--engine-env", env), ("--engine-arg", opts.engine_arg)):
            if given:
                raise UsageError(f"{flag} applies to a launched engine, not to --base-url (attach)")
        if not opts.model:
            raise UsageError("--base-url needs --model: the served model name (and the tokenizer path unless --tokenizer)")
        return Plan(opts, None, opts.model, opts.served_model_name or opts.model, env, secrets)
    eng = launcher(opts.engine, opts.engine_cmd, opts.ready_url)
    check_python(opts.engine_python)
    if opts.fleet_size > 1:
        from conformance.engines.fleet import Fleet

        for flag, given in (("--overlay", opts.overlay), ("--patch", opts.patch)):
            if given:
                raise UsageError(f"{flag} and --fleet-size together are not supported: verify it on one engine")

        eng = Fleet(eng, opts.fleet_size)  # N workers behind a router (engines/fleet.py)
    workers = getattr(eng, "workers", ())
    if opts.worker and opts.worker not in workers:
        raise UsageError(f"--worker {opts.worker!r} does not apply to engine {eng.name}"
                         + (f"; its workers: {', '.join(workers)}" if workers else ""))
    model_path = opts.model or str(fixture_model())
    overlay = None
    if opts.overlay:
        from conformance.engines.overlays import resolve_overlay

        overlay = resolve_overlay(opts.overlay, eng.name)  # a missing file or unknown name: exit 2
    patch = None
    if opts.patch:
        from conformance.engines.patches import resolve_patch

        if overlay is not None:
            raise UsageError("give either --overlay (tokconf's re-implementation) or --patch (the fork's own code), "
                             "not both")
        patch = resolve_patch(opts.patch, eng.name)  # an unknown name or another engine's patch: exit 2
    return Plan(opts, eng, model_path, opts.served_model_name or opts.model or DEFAULT_SERVED_NAME, env, secrets,
                overlay, patch)
