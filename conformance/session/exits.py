"""Exit codes and how errors end a command: one line for bad input (2) and for a server that is
not there (3), the log tail for an engine that failed (3), 130 for Ctrl-C and 143 for SIGTERM
(which unwinds like Ctrl-C, so an engine is always torn down).

Signals are handled once for every command (`CommandGroup`, tokconf's Typer group): SIGINT and
SIGTERM are installed before any command runs, and an interrupt that ends a command anywhere (engine
starting, checks running, between passes, writing reports) exits 130 / 143, never 0 or 1."""
from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Iterator

import typer
from typer.core import TyperGroup
from rich.markup import escape

from conformance.errors import EngineError, PreflightError, UsageError
from conformance.session.console import err
from conformance.session.secrets import Secrets

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_ENGINE = 0, 1, 2, 3
EXIT_INTERRUPTED, EXIT_TERMINATED = 130, 143


class Terminated(KeyboardInterrupt):
    """SIGTERM, unwinding like Ctrl-C (through every finally) so the engine is torn down."""


def install_signal_handlers() -> dict:
    """SIGINT raises KeyboardInterrupt and SIGTERM Terminated, whatever this process inherited: a
    shell starts a background job (`tokconf verify ... &` in a CI script) with SIGINT ignored, and
    Python then never installs its own Ctrl-C handler, so `kill -INT` went unheard and an
    interrupted gate ran to a green end. Once one has arrived, both are ignored: a second signal
    must not cut the engine's teardown short (it is bounded: SIGTERM, then SIGKILL after a grace)."""
    if threading.current_thread() is not threading.main_thread():
        return {}  # signal.signal works in the main thread only (an in-process test runner's thread)
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

    def handler(signum, frame):
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise (Terminated if signum == signal.SIGTERM else KeyboardInterrupt)(f"signal {signum}")

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    return before  # what to restore (a command run in-process, by a test, leaves the host's own)


raise_on_sigterm = install_signal_handlers  # the name the commands call


def interrupt_exit(exc: KeyboardInterrupt, what: str = "") -> typer.Exit:
    from conformance.progress import silence

    silence()
    term = isinstance(exc, Terminated)
    err.print(f"[yellow]{'terminated' if term else 'interrupted'}{what}[/yellow]")
    return typer.Exit(EXIT_TERMINATED if term else EXIT_INTERRUPTED)


def run_command(app) -> None:
    """Run the `tokconf` command line; an interrupted command leaves at once (see leave_now)."""
    try:
        app(prog_name="tokconf")
    except SystemExit as exc:
        if exc.code in (EXIT_INTERRUPTED, EXIT_TERMINATED):
            leave_now(exc.code)
        raise


def leave_now(code: int) -> None:
    """An interrupted command is over once its engine is stopped and its last line printed: exit
    without the interpreter's shutdown, which waits for every non-daemon thread. A sending pool's
    worker that an interrupt caught half-started is never told to stop, and tokconf hung there
    until SIGABRT (seen on a loaded machine). Streams are flushed first; nothing else is pending."""
    import os
    import sys

    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe, a closed stream: the code still stands
            pass
    os._exit(code)


class CommandGroup(TyperGroup):
    """tokconf's command group: the signal handlers are in place before any command starts, and an
    interrupt that escapes a command (one raised outside its `guard()`, writing its reports, say)
    still exits 130 / 143; Click would print "Aborted!" and exit 1."""

    def invoke(self, ctx):
        from conformance.redact import forget

        from conformance.progress import unsilence

        from conformance.plugins import failure

        if failure():  # a plugin that did not load: no command runs without it
            raise usage_exit(failure())
        before = install_signal_handlers()
        unsilence()
        forget()  # this command's options register its own secrets as they are parsed
        try:
            with redacted_std_streams():
                try:
                    return super().invoke(ctx)
                except KeyboardInterrupt as exc:
                    raise interrupt_exit(exc) from None
                except UsageError as exc:  # raised outside a guard(): writing a report, say
                    raise usage_exit(str(exc)) from None
        finally:
            for sig, handler in before.items():
                signal.signal(sig, handler if handler is not None else signal.SIG_DFL)


@contextmanager
def redacted_std_streams() -> Iterator[None]:
    """stdout and stderr redacted while a command runs (conformance.redact): whatever prints a
    secret the command was given (a console, a library's warning, a report to '-') prints ***."""
    import sys

    from conformance.redact import RedactingStream

    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = (s if isinstance(s, RedactingStream) else RedactingStream(s) for s in saved)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved


def one_line(message: str) -> str:
    """Bad input is one line: a parser's or a library's multi-line message folded into it."""
    return " ".join(message.split())


def usage_exit(message: str) -> typer.Exit:
    err.print(f"[red]error:[/red] {escape(one_line(message))}", highlight=False, soft_wrap=True)
    return typer.Exit(EXIT_USAGE)


def print_engine_error(exc: EngineError, secrets: Secrets) -> None:
    err.print(f"[red]engine error:[/red] {escape(secrets.text(str(exc)))}", highlight=False)
    if exc.log_tail.strip():
        err.rule("engine log (tail)")
        err.print(secrets.text(exc.log_tail), markup=False, highlight=False)
        err.rule()
    elif getattr(exc, "started", True):
        err.print("(the engine log is empty: it wrote nothing before this)")


class Guard:
    """Holds the secrets known so far, so an error printed at any point is redacted."""

    def __init__(self, secrets: Secrets | None = None):
        self.secrets = secrets or Secrets()


@contextmanager
def guard(secrets: Secrets | None = None) -> Iterator[Guard]:
    """Map tokconf's errors to exit codes, the same way in every command."""
    g = Guard(secrets)
    try:
        yield g
    except UsageError as exc:
        raise usage_exit(g.secrets.text(str(exc))) from None
    except PreflightError as exc:
        err.print(f"[red]server not ready:[/red] {escape(one_line(g.secrets.text(str(exc))))}", highlight=False,
                  soft_wrap=True)
        raise typer.Exit(EXIT_ENGINE) from None
    except EngineError as exc:
        print_engine_error(exc, g.secrets)
        raise typer.Exit(EXIT_ENGINE) from None
    except KeyboardInterrupt as exc:
        raise interrupt_exit(exc, "; engine stopped") from None
