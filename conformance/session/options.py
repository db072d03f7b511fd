"""The command-line options every launching or attaching command shares, declared once.

A command takes these aliases as parameters (same names, same flags, same defaults everywhere)
and bundles them with `SessionOptions.pick(locals())`. Adding a shared option: one alias here,
one SessionOptions field, and the parameter in each command that launches.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from conformance.engines import engine_kinds, registered
from conformance.errors import UsageError
from conformance.redact import register, secrets_in_argv, secrets_in_url


# Each option that can carry a secret registers it as soon as it is parsed (conformance.redact):
# from then on no output holds it, whichever command took the option, whatever path prints it.
def _secret(value: Optional[str]) -> Optional[str]:
    register(value)
    return value


def _url_secret(value: Optional[str]) -> Optional[str]:
    register(*secrets_in_url(value))
    return value


def _engine_cmd_secrets(value: Optional[str]) -> Optional[str]:
    import shlex

    try:
        register(*secrets_in_argv(shlex.split(value or "")))
    except ValueError:  # does not split: the plan says so (exit 2)
        pass
    return value


def _engine_arg_secrets(value: Optional[list[str]]) -> Optional[list[str]]:
    register(*secrets_in_argv(list(value or [])))
    return value


def _engine_env_secrets(value: Optional[list[str]]) -> Optional[list[str]]:
    from conformance.session.secrets import register_env_items

    register_env_items(value)
    return value


def _engine_names() -> str:
    """The registered engines, plugins' included. A plugin that fails to load is reported when a
    command looks an engine up (one line, exit 2), not as a traceback while options are declared."""
    try:
        return ", ".join(engine_kinds())
    except UsageError:
        return ", ".join(sorted(registered()))


# The options' types (Typer reads help and callbacks from them). An alias whose name is also a
# class of tokconf's (Engine, Dialect, Tokenizer, Overlay) carries the suffix Opt.
EngineOpt = Annotated[Optional[str], typer.Option(help=f"Engine to launch ({_engine_names()}). Default: vllm, unless --base-url is given.")]
EngineCmd = Annotated[Optional[str], typer.Option(callback=_engine_cmd_secrets, help="Launch any engine or fork from this command line (split into arguments, never run by a shell; placeholders {port} {model} {served_model} {python}). Needs --ready-url.")]
ReadyUrl = Annotated[Optional[str], typer.Option(callback=_url_secret, help="With --engine-cmd: the URL that answers 200 once the engine is ready, e.g. http://127.0.0.1:{port}/health.")]
Model = Annotated[Optional[str], typer.Option(help="Model directory to serve; with --base-url, the served model name. Default: the bundled fixtures/tiny-chat.")]
ServedModelName = Annotated[Optional[str], typer.Option(help="Name the launched engine serves the model under.")]
BaseUrl = Annotated[Optional[str], typer.Option(callback=_url_secret, help="Attach to a server that is already running (http://HOST:PORT) instead of launching one.")]
DialectOpt = Annotated[Optional[str], typer.Option(help="Dialect name, NAME:VARIANT, or a profile file. Default: the engine's own.")]
TokenizerOpt = Annotated[Optional[str], typer.Option(help="Tokenizer path. Default: --model.")]
Cases = Annotated[Optional[Path], typer.Option(help="Cases file (YAML or JSON). Default: the bundled cases.")]
ReportDir = Annotated[Path, typer.Option(help="Each run writes a folder here: engine log, results.")]
EngineArg = Annotated[Optional[list[str]], typer.Option(callback=_engine_arg_secrets, help="Extra flag passed to the engine (repeatable), e.g. --engine-arg=--enforce-eager.")]
EngineEnv = Annotated[Optional[list[str]], typer.Option(callback=_engine_env_secrets, help="KEY=VALUE set in the launched engine's environment (repeatable); values of secret-looking names (TOKEN, KEY, SECRET, ...) are never printed or saved.")]
EnginePython = Annotated[str, typer.Option(help="Python interpreter that has the engine installed.")]
OverlayOpt = Annotated[Optional[str], typer.Option(help="Load a fork's token-id contract into the launched engine (SGLang): a shipped overlay (agentcore, llm360, miles, agentcore-broken-*) or a .py file.")]
Patch = Annotated[Optional[str], typer.Option(help="Apply a fork's own source patch to a private copy of the launched engine (SGLang) before it starts, with the fork's own code from the engine's interpreter: agentcore-0.1.3 (agentcore-rl-toolkit==0.1.3 on SGLang 0.5.9). Every anchor must apply, or nothing starts (exit 3).")]
Worker = Annotated[Optional[str], typer.Option(help="With --engine dynamo: the worker behind the frontend (vllm, mocker, sglang).")]
StartupTimeout = Annotated[float, typer.Option(help="Seconds to wait for a launched engine to become ready.")]
RequestTimeout = Annotated[float, typer.Option(help="Seconds one response may take, first byte to last (a server that never answers, or drips a stream forever, is cut here).")]
Concurrency = Annotated[int, typer.Option(help="Requests in flight at once.")]
ApiKey = Annotated[Optional[str], typer.Option(envvar="OPENAI_API_KEY", show_default=False, callback=_secret, help="Bearer token sent to the server (never printed or saved); a launched engine is started requiring it.")]
FleetSize = Annotated[int, typer.Option(min=1, help="The server is a fleet: a round-robin router in front of N workers (with --base-url), or launch one: with --engine sglang, N SGLang workers behind sglang-router; with --engine dynamo, N Dynamo workers (--worker) behind Dynamo's frontend, round robin. fleet.workers_agree then sends every greedy request N more times, back to back, so each worker serves it, and fails when their ids differ.")]
Select = Annotated[Optional[str], typer.Option("-k", "--select", help="Only these checks: a check id or id[case] as `tokconf list` prints them, or an expression over them (and, or, not, parentheses; a word matches a part of an id).")]

# defaults, shared by every command
DEFAULT_REPORT_DIR = Path("reports")
DEFAULT_ENGINE_PYTHON = sys.executable
DEFAULT_STARTUP_TIMEOUT = 300.0
DEFAULT_REQUEST_TIMEOUT = 120.0
DEFAULT_CONCURRENCY = 4
DEFAULT_FLEET_SIZE = 1  # one engine, not a fleet


@dataclass
class SessionOptions:
    """What a command was told about the engine: launch (engine, engine_cmd) or attach (base_url)."""

    engine: str | None = None
    engine_cmd: str | None = None
    ready_url: str | None = None
    model: str | None = None
    served_model_name: str | None = None
    base_url: str | None = None
    dialect: str | None = None
    tokenizer: str | None = None
    cases: Path | None = None
    report_dir: Path = DEFAULT_REPORT_DIR
    engine_arg: list[str] = field(default_factory=list)
    engine_env: list[str] = field(default_factory=list)
    engine_python: str = DEFAULT_ENGINE_PYTHON
    worker: str | None = None
    overlay: str | None = None
    patch: str | None = None
    startup_timeout: float = DEFAULT_STARTUP_TIMEOUT
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT
    concurrency: int = DEFAULT_CONCURRENCY
    api_key: str | None = None
    fleet_size: int = DEFAULT_FLEET_SIZE
    select: str | None = None  # -k, as the command line gave it

    @classmethod
    def pick(cls, params: dict[str, Any]) -> "SessionOptions":
        """The session's options out of a command's parameters (its `locals()`)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: (list(v) if isinstance(v, (list, tuple)) else v)
                      for k, v in params.items() if k in names and v is not None})


# name -> (option, default): what `@session_options(...)` adds to a command
SHARED: dict[str, tuple[Any, Any]] = {
    "engine": (EngineOpt, None),
    "engine_cmd": (EngineCmd, None),
    "ready_url": (ReadyUrl, None),
    "model": (Model, None),
    "served_model_name": (ServedModelName, None),
    "base_url": (BaseUrl, None),
    "dialect": (DialectOpt, None),
    "tokenizer": (TokenizerOpt, None),
    "cases": (Cases, None),
    "report_dir": (ReportDir, DEFAULT_REPORT_DIR),
    "engine_arg": (EngineArg, None),
    "engine_env": (EngineEnv, None),
    "engine_python": (EnginePython, DEFAULT_ENGINE_PYTHON),
    "worker": (Worker, None),
    "overlay": (OverlayOpt, None),
    "patch": (Patch, None),
    "startup_timeout": (StartupTimeout, DEFAULT_STARTUP_TIMEOUT),
    "request_timeout": (RequestTimeout, DEFAULT_REQUEST_TIMEOUT),
    "concurrency": (Concurrency, DEFAULT_CONCURRENCY),
    "api_key": (ApiKey, None),
    "fleet_size": (FleetSize, DEFAULT_FLEET_SIZE),
    "select": (Select, None),
}
# every command that launches an engine takes all of these
LAUNCH = ("engine", "engine_cmd", "ready_url", "model", "served_model_name", "base_url", "dialect", "tokenizer",
          "cases", "report_dir", "engine_arg", "engine_env", "engine_python", "worker", "overlay", "patch", "startup_timeout",
          "request_timeout", "concurrency", "api_key", "fleet_size")


def session_options(*names: str):
    """Add the shared options `names` to a Typer command. The command receives `session` (a
    SessionOptions of them) and, by name, any of them it declares itself (`select`, `api_key`...).
    A parameter the command declares itself keeps its own declaration (probe's required --base-url)."""
    import inspect

    added = [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, default=SHARED[n][1], annotation=SHARED[n][0])
             for n in names]
    return lambda fn: with_options(fn, "session", added, SessionOptions.pick)


def with_options(fn, bundle: str, added: list, make_bundle):
    """`fn` as a Typer command that also takes the options `added` (inspect.Parameters; one `fn`
    declares itself keeps its own declaration); `fn` receives `bundle` = make_bundle(every
    parameter's value) and, by name, the parameters it declares."""
    import functools
    import inspect
    from typing import get_type_hints

    sig = inspect.signature(fn)
    hints = get_type_hints(fn, include_extras=True)
    own = [p.replace(annotation=hints.get(p.name, p.annotation)) for p in sig.parameters.values() if p.name != bundle]
    own_names = {p.name for p in own}
    added = [p for p in added if p.name not in own_names]
    wants = set(sig.parameters) - {bundle}

    @functools.wraps(fn)
    def command(**kwargs):
        return fn(**{bundle: make_bundle(kwargs)}, **{k: v for k, v in kwargs.items() if k in wants})

    command.__signature__ = sig.replace(parameters=[*own, *added])
    command.__annotations__ = {p.name: p.annotation for p in [*own, *added]}
    return command
