"""Exit codes and how errors end a command: one line for bad input (2) and for a server that is
not there (3), the log tail for an engine that failed (3), 130 for Ctrl-C and 143 for SIGTERM
(which unwinds like Ctrl-C, so an engine is always torn down)."""
from __future__ import annotations

import signal
from contextlib import contextmanager
from typing import Iterator

import typer
from rich.markup import escape

from conformance.errors import EngineError, PreflightError, UsageError
from conformance.session.console import err
from conformance.session.secrets import Secrets

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_ENGINE = 0, 1, 2, 3
EXIT_INTERRUPTED, EXIT_TERMINATED = 130, 143


class Terminated(KeyboardInterrupt):
    """SIGTERM, unwinding like Ctrl-C (through every finally) so the engine is torn down."""


def raise_on_sigterm() -> None:
    def handler(signum, frame):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second TERM must not cut the teardown short
        raise Terminated(f"signal {signum}")

    signal.signal(signal.SIGTERM, handler)


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
    else:
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
        term = isinstance(exc, Terminated)
        err.print(f"[yellow]{'terminated' if term else 'interrupted'}; engine stopped[/yellow]")
        raise typer.Exit(EXIT_TERMINATED if term else EXIT_INTERRUPTED) from None
