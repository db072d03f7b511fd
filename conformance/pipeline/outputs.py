"""The output options of a reporting command (`--json PATH`, `--junit-xml PATH`, ...): one per
registered report format (conformance.reporting.formats), so a new format needs no CLI edit."""
from __future__ import annotations

import inspect
from pathlib import Path
from typing import Annotated, Optional

import typer

from conformance.reporting.formats import formats
from conformance.session.options import with_options


def report_outputs(fn):
    """Add one `--FLAG PATH` option per report format to a Typer command; the command receives
    them as `outputs`, format name -> path (None where not asked for)."""
    fmts = list(formats().values())
    added = [inspect.Parameter(f.param, inspect.Parameter.KEYWORD_ONLY, default=None,
                               annotation=Annotated[Optional[Path], typer.Option(f.flag, help=f.help)]) for f in fmts]
    return with_options(fn, "outputs", added, lambda values: {f.name: values.get(f.param) for f in fmts})


def output_flags(outputs: dict[str, Path | None]) -> dict[str, Path | None]:
    """flag -> path, as check_outputs names them in its messages."""
    known = formats()
    return {known[name].flag: path for name, path in outputs.items()}


def on_stdout(outputs: dict[str, Path | None]) -> bool:
    return any(str(p) == "-" for p in outputs.values() if p)
